"""Building the venues the router trades on: the live opt-in, credentials, balances, registry."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx
import pytest

from arbcore.config import load_config
from arbcore.config.schema import AppConfig, SimConfig, VenueConfig
from arbcore.errors import AuthenticationError, ConfigError
from arbcore.exchanges.credentials import Credentials
from arbcore.exchanges.registry import VENUE_NAMES, fetch_instruments, get_venue
from arbcore.execution.shadow import ShadowVenue
from arbcore.execution.venues import TradingVenues, build_venues, live_credentials
from arbcore.model import Balance, Instrument
from arbcore.net.http import HttpClient
from arbcore.sim import DEFAULT_ACCOUNT
from arbcore.sim import SimConfig as SimulatorConfig
from arbcore.sim.config import credential_accounts
from arbcore.testing.instruments import load_rest_body
from arbcore.testing.recordings import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
FULL = {"BINANCE_API_KEY": "bk", "BINANCE_SECRET_KEY": "bs", "OKX_API_KEY": "ok",
        "OKX_SECRET_KEY": "os", "OKX_PASSPHRASE": "op", "KRAKEN_API_KEY": "kk",
        "KRAKEN_SECRET_KEY": "a3Jha2VuLXNlY3JldA=="}  # fmt: skip


def _config(mode: Literal["shadow", "live"] = "live", **system: Any) -> AppConfig:
    base = load_config(ROOT / "config" / "system.toml", {})  # binance, okx, kraken
    return attrs.evolve(base, system=attrs.evolve(base.system, mode=mode, **system))


# -- the opt-in and the credentials ---------------------------------------------------------------


def test_shadow_needs_no_credentials_and_refuses_the_live_flag() -> None:
    assert live_credentials(_config("shadow").system, live=False, environ={}) == {}
    with pytest.raises(ConfigError, match='mode = "shadow"'):
        live_credentials(_config("shadow").system, live=True, environ=FULL)


def test_live_mode_without_the_flag_is_refused() -> None:
    with pytest.raises(ConfigError, match="--live"):
        live_credentials(_config().system, live=False, environ=FULL)


def test_every_missing_variable_is_named_and_no_value_is_shown() -> None:
    partial = {k: v for k, v in FULL.items() if not k.startswith("OKX")} | {"OKX_API_KEY": "ok"}
    with pytest.raises(ConfigError) as caught:
        live_credentials(_config().system, live=True, environ=partial)
    message = str(caught.value)
    assert "OKX_SECRET_KEY, OKX_PASSPHRASE" in message
    assert "BINANCE" not in message
    assert "KRAKEN" not in message
    assert not any(f"'{value}'" in message or f" {value}" in message for value in partial.values())


def test_credentials_are_read_for_the_traded_venues_only() -> None:
    venues = {"binance": VenueConfig(), "okx": VenueConfig(), "kraken": VenueConfig(enabled=False)}
    found = live_credentials(_config(venues=venues).system, live=True, environ=FULL)
    assert found == {"binance": Credentials("bk", "bs"), "okx": Credentials("ok", "os", "op")}
    simulated = _config(sim=SimConfig(venues=("binance",)))  # okx and kraken are not simulated
    assert set(live_credentials(simulated.system, live=True, environ=FULL)) == {"binance"}


# -- balances and positions ------------------------------------------------------------------------


@attrs.define
class FakeVenue:
    """A live venue whose balance reads answer in turn, each after its own delay."""

    reads: list[list[Balance] | Exception]
    delays: list[float]
    venue: str = "fake"
    synced: int = 0
    calls: int = 0

    async def sync_time(self) -> int:
        self.synced += 1
        return 0

    async def fetch_balances(self) -> list[Balance]:
        n, self.calls = self.calls, self.calls + 1
        await asyncio.sleep(self.delays[n])
        read = self.reads[n]
        if isinstance(read, Exception):
            raise read
        return read


def _held(**amounts: tuple[float, float]) -> list[Balance]:
    return [Balance(venue="fake", asset=asset, free=free, locked=locked)
            for asset, (free, locked) in amounts.items()]  # fmt: skip


def test_live_balances_are_the_venues_and_a_later_read_is_never_overwritten_by_an_older() -> None:
    venue = FakeVenue(
        reads=[_held(USDT=(90.0, 10.0), BTC=(1.0, 0.0)),
               _held(USDT=(70.0, 0.0), BTC=(1.2, 0.0)),  # read first, answered last
               _held(USDT=(50.0, 0.0), BTC=(1.5, 0.0), ETH=(0.1, 0.0))],
        delays=[0.0, 0.05, 0.0],
    )  # fmt: skip
    venues = TradingVenues({"fake": venue}, live=True)  # type: ignore[dict-item]

    async def main() -> None:
        assert await venues.start() == []
        assert venue.synced == 1
        assert venues.balance("fake", "USDT") == 90.0  # free: what may be spent
        assert venues.balances("fake") == {"USDT": 100.0, "BTC": 1.0}
        await asyncio.gather(venues.refresh(["fake"]), venues.refresh({"fake", "other"}))

    asyncio.run(main())
    assert venues.balances("fake") == {"USDT": 50.0, "BTC": 1.5, "ETH": 0.1}
    assert venues.positions("fake") == pytest.approx({"USDT": -50.0, "BTC": 0.5, "ETH": 0.1})


def test_a_venue_that_cannot_answer_is_reported_and_a_failed_refresh_keeps_the_last_read() -> None:
    refused = AuthenticationError("invalid api key", venue="fake")
    venues = TradingVenues({"fake": FakeVenue([refused], [0.0])}, live=True)  # type: ignore[dict-item]
    assert asyncio.run(venues.start()) == ["fake: fake: invalid api key"]
    flaky = FakeVenue([_held(USDT=(5.0, 0.0)), httpx.ConnectError("down")], [0.0, 0.0])
    venues = TradingVenues({"fake": flaky}, live=True)  # type: ignore[dict-item]
    asyncio.run(venues.start())
    asyncio.run(venues.refresh(["fake"]))
    assert venues.refresh_failures == 1
    assert venues.balance("fake", "USDT") == 5.0


def test_shadow_venues_are_built_from_the_paper_balances_and_read_as_they_move() -> None:
    config = _config("shadow")
    listed: dict[str, dict[str, Instrument]] = {"binance": {}}  # only balances are looked at
    venues = build_venues(config, listed, credentials={}, endpoints={}, clock_ns=lambda: 0,
                          book_of=lambda venue: lambda symbol: None)  # fmt: skip
    paper = venues.clients["binance"]
    assert isinstance(paper, ShadowVenue)
    assert not venues.live
    assert asyncio.run(venues.start()) == []
    paper.balances["BTC"] += 0.25  # a fill moves the paper account
    assert venues.balance("binance", "BTC") == config.shadow.balances["BTC"] + 0.25
    assert venues.positions("binance")["BTC"] == pytest.approx(0.25)


def test_live_venues_are_the_registrys_trading_clients_at_the_given_endpoint() -> None:
    config = _config(venues={"binance": VenueConfig(rest_url="http://127.0.0.1:9")})
    venues = build_venues(config, {"binance": {}}, credentials={"binance": Credentials("k", "s")},
                          endpoints={}, book_of=lambda venue: lambda symbol: None,
                          clock_ns=lambda: 0)  # fmt: skip
    client = venues.clients["binance"]
    assert type(client).__name__ == "BinanceExecution"
    assert venues.live
    assert str(client.http._client.base_url) == "http://127.0.0.1:9"  # type: ignore[attr-defined]
    asyncio.run(venues.aclose())


# -- the registry ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", VENUE_NAMES)
def test_every_venue_builds_its_trading_client_through_one_signature(name: str) -> None:
    spec = get_venue(name)
    assert spec.rest_url.startswith("https://")
    assert spec.execution is not None
    keys = Credentials("key", "a3Jha2VuLXNlY3JldA==", "passphrase")
    http = HttpClient(name, "http://127.0.0.1:9", check=lambda response: None)
    client = spec.execution(keys, [], http=http)
    assert http in vars(client).values()  # handed over, whatever the class calls it
    assert spec.execution(keys, [], base_url="http://127.0.0.1:9") is not None


@pytest.mark.parametrize("name", ["bitfinex", "kucoin", "gateio"])
def test_instrument_lists_are_read_from_the_specs_url(name: str) -> None:
    data = shared_data_dir()
    if data is None:
        pytest.skip("no shared recordings")
    spec = get_venue(name)
    body = load_rest_body(data / "real" / name / spec.instruments_file, spec.instruments_path)
    asked: list[str] = []

    def venue(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json=body)

    async def main() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(venue)) as http:
            return len(await fetch_instruments(name, http))

    assert asyncio.run(main()) > 0
    assert asked == [spec.rest_url + spec.instruments_path + spec.instruments_query]


# -- the simulator's accounts ----------------------------------------------------------------------


def test_the_simulator_opens_each_venue_with_the_credentials_given() -> None:
    keys = {
        "binance": Credentials("bk", "bs"),
        "kraken": Credentials("kk", FULL["KRAKEN_SECRET_KEY"]),
    }
    config = SimulatorConfig(venues="binance,kraken,okx", venue_accounts=credential_accounts(keys))
    (binance,) = config.accounts_of("binance")
    assert (binance.api_key, binance.secret) == ("bk", "bs")
    assert binance.balances == DEFAULT_ACCOUNT.balances
    assert config.accounts_of("kraken")[0].secret == "kraken-secret"  # Kraken's key is Base64
    assert config.accounts_of("okx") == (DEFAULT_ACCOUNT,)
    with pytest.raises(ConfigError, match="KRAKEN_SECRET_KEY") as caught:
        credential_accounts({"kraken": Credentials("kk", "not base64!")})
    assert "not base64!" not in str(caught.value)
    with pytest.raises(ConfigError, match="not simulated"):
        SimulatorConfig(venues="okx", venue_accounts=credential_accounts(keys))
