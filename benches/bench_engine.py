"""The engine's decision path: latency at an offered rate, and throughput, against a peer.

The source is the simulator's seeded market as book events (``engine_world.py``): the demo's
four venues and three markets, both strategies, dislocations at the demo's rate. Each message
"arrives" on a fixed schedule (10k or 100k per second) and is stamped from that arrival to the
return of its book callback (every message; "handled") and to each risk decision ("decision");
the throughput rows offer the messages back to back. The peer is the dict-and-Decimal loop of
a home-grown bot on the same messages (:class:`engine_world.DecimalLoop`).

``--benchmark-disable`` (the default) runs each row once on a short stream as a smoke test;
``--benchmark-enable`` runs the full streams and records the quantiles in ``extra_info``.
``python benches/bench_engine.py`` prints the same figures as a table (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from engine_world import Run, run_engine, run_peer, sim_stream

#: messages per paced run: the engine's, and the peer's (it cannot keep up, so its queue grows
#: without bound and a longer run only measures that queue)
ENGINE_MESSAGES: dict[float | None, int] = {10_000: 30_000, 100_000: 50_000, None: 50_000}
PEER_MESSAGES: dict[float | None, int] = {10_000: 5_000, 100_000: 5_000, None: 10_000}
SMOKE_MESSAGES = 1_500
RATES: tuple[float | None, ...] = (10_000, 100_000, None)
CONTENDERS = ("arbcore Engine", "dict + Decimal loop")


def _measure(contender: str, rate: float | None, messages: int) -> Run:
    stream = sim_stream(messages)
    if contender == CONTENDERS[0]:
        with tempfile.TemporaryDirectory() as workdir:
            run, _ = asyncio.run(run_engine(stream, rate, Path(workdir), messages))
        return run
    return asyncio.run(run_peer(stream, rate, messages))


def figures(run: Run) -> dict[str, float]:
    """The quantiles (us), the rate achieved (messages/s) and how many messages waited."""
    return {
        "handled_p50_us": run.quantile_us(run.handled_ns, 0.5),
        "handled_p99_us": run.quantile_us(run.handled_ns, 0.99),
        "decision_p50_us": run.quantile_us(run.decisions_ns, 0.5),
        "decision_p99_us": run.quantile_us(run.decisions_ns, 0.99),
        "decisions": float(len(run.decisions_ns)),
        "messages": float(len(run.handled_ns)),
        "messages_per_s": run.rate,
        "late": float(run.late),
    }


def _label(rate: float | None) -> str:
    return "back to back" if rate is None else f"{rate / 1000:,.0f}k msgs/s"


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    """Shadow trades log leg repairs; the bench is not about them."""
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("rate", RATES, ids=_label)
@pytest.mark.parametrize("contender", CONTENDERS)
def test_decision_path(benchmark: Any, contender: str, rate: float | None) -> None:
    table = ENGINE_MESSAGES if contender == CONTENDERS[0] else PEER_MESSAGES
    messages = SMOKE_MESSAGES if benchmark.disabled else table[rate]
    runs: list[Run] = []
    measure: Callable[[], None] = lambda: runs.append(_measure(contender, rate, messages))  # noqa: E731
    sim_stream(messages)  # built before timing
    benchmark.group = f"engine: {_label(rate)}"
    benchmark.pedantic(measure, rounds=1, iterations=1)
    run = runs[-1]
    benchmark.extra_info.update(contender=contender, ops=messages, unit="message",
                                baseline=CONTENDERS[1], **figures(run))  # fmt: skip
    assert len(run.handled_ns) == messages
    assert (run.handled_ns > 0).all()
    assert len(run.decisions_ns) > 0  # the stream's dislocations reach a decision
    if rate is not None and contender == CONTENDERS[0] and not benchmark.disabled:
        assert run.rate > 0.9 * rate or run.late > 0  # paced: on schedule, or it says it lagged


def main() -> None:
    """Print every row (the table in docs/performance.md)."""
    logging.disable(logging.WARNING)
    print("| offered | contender | messages | handled p50 / p99 (us) | decision p50 / p99 (us) "
          "| decisions | achieved msgs/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for rate in RATES:
        for contender in CONTENDERS:
            table = ENGINE_MESSAGES if contender == CONTENDERS[0] else PEER_MESSAGES
            f = figures(_measure(contender, rate, table[rate]))
            print(f"| {_label(rate)} | {contender} | {f['messages']:,.0f} | "
                  f"{f['handled_p50_us']:,.1f} / {f['handled_p99_us']:,.1f} | "
                  f"{f['decision_p50_us']:,.1f} / {f['decision_p99_us']:,.1f} | "
                  f"{f['decisions']:,.0f} | {f['messages_per_s']:,.0f} |")  # fmt: skip
            sys.stdout.flush()


if __name__ == "__main__":
    main()
