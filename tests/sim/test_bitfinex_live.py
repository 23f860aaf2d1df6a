"""The simulated Bitfinex over real loopback sockets: arbcore's live client and the faults.

``BitfinexDataClient`` sends ``conf`` (SEQ_ALL | OB_CHECKSUM), subscribes to P0 ``book``
channels, syncs from the pushed snapshots with every checksum verified and ends with the
engine's top 25; it recovers from a dropped connection (reconnect, new channel ids, new
snapshots), from a hole in the connection's sequence (every book of the connection resubscribes)
and from the server's restart notice (info 20051).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import httpx
import pytest
import websockets
from test_bitfinex_feed import same_book

from arbcore.exchanges.bitfinex import constants
from arbcore.exchanges.bitfinex.data import BitfinexDataClient
from arbcore.exchanges.bitfinex.providers import parse_instruments
from arbcore.net.ws import Backoff
from arbcore.sim import Fault, SimConfig, Simulator
from arbcore.sim.venues.bitfinex import BitfinexServer
from arbcore.testing.simwire import run, running_client, until


@pytest.fixture
def bitfinex(config: SimConfig) -> SimConfig:
    return attrs.evolve(config, venues=("bitfinex",),
                        market=attrs.evolve(config.market, levels=30))  # fmt: skip


@asynccontextmanager
async def client_of(sim: Simulator) -> AsyncIterator[BitfinexDataClient]:
    async with httpx.AsyncClient(base_url=sim.endpoints["bitfinex"].rest_url) as http:
        body = (await http.get("/v2/conf/" + constants.INSTRUMENTS_PATH)).json()
    client = BitfinexDataClient(parse_instruments(body).instruments,
                                ws_url=sim.endpoints["bitfinex"].ws_url,
                                backoff=Backoff(initial_s=0.01, maximum_s=0.05))  # fmt: skip
    async with running_client(client, sim.config.symbols) as running:
        yield running


def caught_up(sim: Simulator, client: BitfinexDataClient) -> bool:
    """Every book in sync and equal to the engine's top 25 (Bitfinex's books have no ids)."""
    return all(sync.in_sync and same_book(sim, symbol, sync.book)
               for symbol, sync in client.syncs.items())  # fmt: skip


def test_bitfinex_client_syncs_to_the_simulator_over_loopback(bitfinex: SimConfig) -> None:
    async def scenario() -> None:
        async with Simulator(bitfinex, autostep=False) as sim, client_of(sim) as client:
            await until(lambda: all(s.in_sync for s in client.syncs.values()), sim.step)
            for _ in range(20):
                sim.step()
                await asyncio.sleep(0.005)
            await until(lambda: caught_up(sim, client))
            for sync in client.syncs.values():
                assert (sync.counters.gaps, sync.counters.checksum_failed) == (0, 0)
                assert sync.counters.checksum_ok > 10
                assert sync.counters.resyncs == 0
            assert client.connection.counters.connects == 1

    run(scenario)


def test_bitfinex_client_recovers_from_a_drop_a_gap_and_a_restart(bitfinex: SimConfig) -> None:
    async def scenario() -> None:
        async with Simulator(bitfinex, autostep=False) as sim, client_of(sim) as client:
            syncs = client.syncs.values()
            await until(lambda: all(s.in_sync for s in syncs), sim.step)
            sim.faults.arm(Fault.DROP, "bitfinex")
            await until(lambda: client.connection.counters.connects == 2, sim.step)
            await until(lambda: min(s.counters.resyncs for s in syncs) >= 1
                        and caught_up(sim, client), sim.step)  # fmt: skip

            sim.faults.arm(Fault.GAP, "bitfinex")  # a hole in the connection's SEQ_ALL numbers
            await until(lambda: sum(s.counters.gaps for s in syncs) >= 1, sim.step)
            await until(lambda: caught_up(sim, client), sim.step)
            assert client.counters.resubscribes >= 1  # unsubscribe + subscribe: new snapshots
            assert client.connection.counters.connects == 2

            server = sim.servers["bitfinex"]
            assert isinstance(server, BitfinexServer)
            server.announce(constants.INFO_RECONNECT)  # the server stops: reconnect
            await until(lambda: client.connection.counters.connects == 3, sim.step)
            await until(lambda: caught_up(sim, client), sim.step)
            assert client.info.restarts == 1
            for sync in syncs:
                assert sync.counters.checksum_failed == 0
            assert sim.faults.injected == {("bitfinex", Fault.DROP): 1,
                                           ("bitfinex", Fault.GAP): 1}  # fmt: skip

    run(scenario)


def test_bitfinex_greets_configures_and_answers_ping(bitfinex: SimConfig) -> None:
    async def scenario() -> None:
        async with (
            Simulator(bitfinex, autostep=False) as sim,
            websockets.connect(sim.endpoints["bitfinex"].ws_url) as ws,
        ):
            info = json.loads(await ws.recv())
            assert (info["event"], info["version"]) == ("info", 2)
            assert info["platform"] == {"status": 1}
            await ws.send('{"event":"ping","cid":1234}')
            pong = json.loads(await ws.recv())
            assert (pong["event"], pong["cid"]) == ("pong", 1234)
            await ws.send('{"event":"conf","flags":65536}')
            assert json.loads(await ws.recv()) == {"event": "conf", "status": "OK",
                                                   "flags": 65536}  # fmt: skip
            await ws.send('{"event":"subscribe","channel":"book","symbol":"tETHBTC","len":"1"}')
            subscribed = json.loads(await ws.recv())
            snapshot = json.loads(await ws.recv())
            assert snapshot[0] == subscribed["chanId"]
            assert (len(snapshot[1]), snapshot[2]) == (2, 1)  # one level a side, seq 1
            sim.step()
            update = json.loads(await ws.recv())
            assert (update[0], update[-1]) == (subscribed["chanId"], 2)

    run(scenario)
