"""The engine's decision path: latency at an offered rate, and throughput, against a peer.

The source is the simulator's seeded market (``engine_world.py``): the demo's four venues and
three markets, both strategies, dislocations at the demo's rate. The main rows
(``test_frame_path``) offer it as the venues' own WebSocket frames, the bytes the bundled
simulator's servers send (``frame_world.py``), each handed to its venue's real ``BookClient``
frame handler (compiled delta path, sync, then the engine's book callback; no sockets). The
older rows (``test_decision_path``) offer pre-parsed book events to each ``BookSync`` instead.

Each message "arrives" on a fixed schedule (10k or 100k per second) and is stamped from that
arrival to the handler's return (every message; "handled"), to each strategy find offered to
the orchestrator ("detected": the detection latency, before the orchestrator and risk) and to
each risk decision ("decision"); the throughput rows offer the messages back to back. The peer
is the dict-and-Decimal loop of a home-grown bot on the same messages (on frames it reads them
with ``json`` itself: :class:`frame_world.FrameDecimalLoop`).

``--benchmark-disable`` (the default) runs each row once on a short stream as a smoke test;
``--benchmark-enable`` runs the full streams and records the quantiles in ``extra_info``.
``python benches/bench_engine.py`` prints the frame rows as a table (docs/performance.md),
``--events`` the book-event rows too; ``--rehearse`` adds, right after each engine row, the
same engine with its idle hook (``Engine.idle``: a rehearsal of the compiled decision, no
effect) called while the paced source waits for the next message's time; ``--no-peer`` leaves
the peer's rows out.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_world import Arrival, Run, run_engine, run_peer, sim_stream
from frame_world import FrameDecimalLoop, frame_stream, run_frame_peer, run_frames

#: messages per paced run: the engine's, and the peer's (it cannot keep up, so its queue grows
#: without bound and a longer run only measures that queue)
ENGINE_MESSAGES: dict[float | None, int] = {10_000: 30_000, 100_000: 50_000, None: 50_000}
PEER_MESSAGES: dict[float | None, int] = {10_000: 5_000, 100_000: 5_000, None: 10_000}
SMOKE_MESSAGES = 1_500
RATES: tuple[float | None, ...] = (10_000, 100_000, None)
CONTENDERS = ("arbcore Engine", "dict + Decimal loop")
SOURCES = ("frames", "events")  # WebSocket frames through the clients; pre-parsed book events


#: per source: its stream (built before timing), the peer's run, the engine's run
RUNNERS: dict[str, tuple[Callable[[int], Any], Callable[..., Any], Callable[..., Any]]] = {
    "frames": (frame_stream, run_frame_peer, run_frames),
    "events": (sim_stream, run_peer, run_engine),
}


def _measure(source: str, contender: str, rate: float | None, messages: int,
             rehearse: bool = False) -> Run:  # fmt: skip
    build, peer, engine = RUNNERS[source]
    stream = build(messages)
    if contender != CONTENDERS[0]:
        run: Run = asyncio.run(peer(stream, rate, messages))
        return run
    with tempfile.TemporaryDirectory() as workdir:
        run, _ = asyncio.run(engine(stream, rate, Path(workdir), messages, rehearse))
    return run


def figures(run: Run) -> dict[str, float]:
    """The quantiles (us), the rate achieved (messages/s) and how many messages waited."""
    return {
        "handled_p50_us": run.quantile_us(run.handled_ns, 0.5),
        "handled_p99_us": run.quantile_us(run.handled_ns, 0.99),
        "detected_p50_us": run.quantile_us(run.detected_ns, 0.5),
        "detected_p99_us": run.quantile_us(run.detected_ns, 0.99),
        "decision_p50_us": run.quantile_us(run.decisions_ns, 0.5),
        "decision_p99_us": run.quantile_us(run.decisions_ns, 0.99),
        "detections": float(len(run.detected_ns)),
        "decisions": float(len(run.decisions_ns)),
        "messages": float(len(run.handled_ns)),
        "messages_per_s": run.rate,
        "late": float(run.late),
    }


def _label(rate: float | None) -> str:
    return "back to back" if rate is None else f"{rate / 1000:,.0f}k msgs/s"


def _messages(contender: str, rate: float | None) -> int:
    return (ENGINE_MESSAGES if contender == CONTENDERS[0] else PEER_MESSAGES)[rate]


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    """Shadow trades log leg repairs; the bench is not about them."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


def _bench(benchmark: Any, source: str, contender: str, rate: float | None) -> Run:
    messages = SMOKE_MESSAGES if benchmark.disabled else _messages(contender, rate)
    runs: list[Run] = []
    measure: Callable[[], None] = lambda: runs.append(_measure(source, contender, rate, messages))  # noqa: E731
    RUNNERS[source][0](messages)  # built before timing
    benchmark.group = f"engine ({source}): {_label(rate)}"
    benchmark.pedantic(measure, rounds=1, iterations=1)
    run = runs[-1]
    benchmark.extra_info.update(contender=contender, source=source, ops=messages,
                                unit="frame" if source == "frames" else "message",
                                baseline=CONTENDERS[1], **figures(run))  # fmt: skip
    assert len(run.handled_ns) == messages
    assert (run.handled_ns > 0).all()
    assert len(run.decisions_ns) > 0  # the stream's dislocations reach a decision
    # every decision began as a find, stamped before it (the detection latency)
    assert len(run.detected_ns) >= len(run.decisions_ns)
    assert run.detected_ns.min() <= run.decisions_ns.min()
    if rate is not None and contender == CONTENDERS[0] and not benchmark.disabled:
        assert run.rate > 0.9 * rate or run.late > 0  # paced: on schedule, or it says it lagged
    return run


@pytest.mark.parametrize("rate", RATES, ids=_label)
@pytest.mark.parametrize("contender", CONTENDERS)
def test_frame_path(benchmark: Any, contender: str, rate: float | None) -> None:
    """The main rows: WebSocket frames through each venue's real client into the engine."""
    _bench(benchmark, "frames", contender, rate)


@pytest.mark.parametrize("rate", RATES, ids=_label)
@pytest.mark.parametrize("contender", CONTENDERS)
def test_decision_path(benchmark: Any, contender: str, rate: float | None) -> None:
    """The older rows: pre-parsed book events through each venue's ``BookSync``."""
    _bench(benchmark, "events", contender, rate)


def test_frames_reach_the_same_books(tmp_path: Path) -> None:
    """The frame rows measure real work: every frame of the smoke stream goes through the
    clients with none dropped as malformed and every book kept in sync, and each book's best
    bid and ask (size included) equal the peer's, which read the same frames with ``json``."""
    frames = frame_stream(SMOKE_MESSAGES)
    run, engine = asyncio.run(run_frames(frames, None, tmp_path, SMOKE_MESSAGES))
    peer = FrameDecimalLoop(frames, Arrival())
    for frame in frames.frames[:SMOKE_MESSAGES]:
        peer.on_frame(frame)
    assert len(run.handled_ns) == SMOKE_MESSAGES
    assert engine.stats.book_updates > SMOKE_MESSAGES // 2
    for venue, client in engine.clients.items():
        assert client.counters.malformed == 0
        for symbol, sync in client.syncs.items():
            assert sync.in_sync, (venue, symbol)
            instrument, book = engine.instruments[venue][symbol], sync.book
            bids, asks = peer.books[(venue, symbol)]
            best = max(bids), min(asks)
            prices, sizes = instrument.price_decimals, instrument.size_decimals
            assert (best[0], bids[best[0]], best[1], asks[best[1]]) == (
                _decimal(book.best_bid(), prices), _decimal(book.best_bid_size(), sizes),
                _decimal(book.best_ask(), prices), _decimal(book.best_ask_size(), sizes),
            ), (venue, symbol)  # fmt: skip


def _decimal(raw: int | None, decimals: int) -> Decimal:
    assert raw is not None  # an empty side
    return Decimal(raw).scaleb(-decimals)


def main(argv: list[str] | None = None) -> None:
    """Print every row (the tables in docs/performance.md)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", action="store_true", help="the book-event rows too")
    parser.add_argument(
        "--rehearse",
        action="store_true",
        help="each engine row again, rehearsing its decision while it waits",
    )
    parser.add_argument("--no-peer", action="store_true", help="leave the peer's rows out")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    rows = [(CONTENDERS[0], False)]
    if args.rehearse:
        rows.append((CONTENDERS[0], True))
    if not args.no_peer:
        rows.append((CONTENDERS[1], False))
    for source in SOURCES if args.events else SOURCES[:1]:
        print(f"\n{source}:\n")
        print("| offered | contender | messages | handled p50 / p99 (us) | detected p50 / p99 (us) "
              "| decision p50 / p99 (us) | detections | decisions | achieved msgs/s |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        for rate in RATES:
            for contender, rehearse in rows:
                run = _measure(source, contender, rate, _messages(contender, rate), rehearse)
                f = figures(run)
                label = f"{contender}, rehearsing ({run.idled:,})" if rehearse else contender
                print(f"| {_label(rate)} | {label} | {f['messages']:,.0f} | "
                      f"{f['handled_p50_us']:,.1f} / {f['handled_p99_us']:,.1f} | "
                      f"{f['detected_p50_us']:,.1f} / {f['detected_p99_us']:,.1f} | "
                      f"{f['decision_p50_us']:,.1f} / {f['decision_p99_us']:,.1f} | "
                      f"{f['detections']:,.0f} | {f['decisions']:,.0f} | "
                      f"{f['messages_per_s']:,.0f} |")  # fmt: skip
                sys.stdout.flush()


if __name__ == "__main__":
    main()
