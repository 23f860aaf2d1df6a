"""Why the decision's state lives in C arrays: risk's check cold, warm, and after cache evictions.

The running engine's compiled decision calls risk's check once in ~70 frames. This wraps
``arbcore_ext.riskcore.first_breach`` (the check ``RiskEngine.check_legs`` and, through it, the
Python-path decisions call; the compiled cross decision calls the same ``Exposure`` in C) inside
``decision_ab``'s 10k-frames/s run and times each call where it happens (cold), again at once
(warm), after writing 2 MB (more than this VM's L2) and after writing 64 MB (more than its L3);
then, apart from the engine, a warm check after spinning 10 us, 100 us and 1 ms in Python and
after sleeping 1 ms (time alone cooling the caches on a shared host)::

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benches/cold_check.py

Prints the medians in ns (docs/performance.md, "The decision's state in C arrays", quotes a run
on this tree and on the tree before it, where the check read Python dicts).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import decision_ab
import numpy as np

import arbcore.risk.engine as risk_engine
from arbcore.config.schema import RiskLimits
from arbcore.risk.engine import LegTuple, RiskEngine

clock = time.perf_counter_ns


def _in_the_engine() -> dict[str, list[int]]:
    """Each check of a decision_ab run, timed in place and again as above."""
    times: dict[str, list[int]] = {"in place": [], "at once": [], "after 2 MB": [],
                                   "after 64 MB": []}  # fmt: skip
    check: Callable[[Any, Sequence[LegTuple]], Any] = vars(risk_engine)["first_breach"]
    small, big = np.ones(2 << 20, dtype=np.uint8), np.ones(64 << 20, dtype=np.uint8)

    def timed(engine: Any, legs: Sequence[LegTuple]) -> Any:
        start = clock()
        found = check(engine, legs)
        times["in place"].append(clock() - start)
        for name, evict in (("at once", None), ("after 2 MB", small), ("after 64 MB", big)):
            if evict is not None:
                evict[::64] += 1  # (a write to every cache line)
            start = clock()
            check(engine, legs)
            times[name].append(clock() - start)
        return found

    vars(risk_engine)["first_breach"] = timed  # (what check_legs calls)
    sys.argv = ["decision_ab", "30000", "10000", "--rounds", "1"]
    try:
        decision_ab.main()
    finally:
        vars(risk_engine)["first_breach"] = check
    return times


def _after_waiting(rounds: int = 300) -> dict[str, list[int]]:
    """A warm check of a small engine after each kind of wait."""
    risk = RiskEngine(RiskLimits(), price_usd=lambda a: 1.0 if a == "USDT" else 50_000.0,
                      clock=lambda: 0.0)  # fmt: skip
    for venue in ("binance", "okx", "bybit"):
        for asset in ("BTC", "ETH", "USDT", "SOL"):
            risk.on_position(venue, asset, 1.0)
    legs: tuple[LegTuple, ...] = (("binance", "BTC", "USDT", True, 0.01, 500.0, 1.0),
                                  ("okx", "BTC", "USDT", False, 0.01, 500.0, 1.0))  # fmt: skip

    def check() -> int:
        start = clock()
        risk.check_legs(legs)
        return clock() - start

    def spin(us: int) -> Callable[[], None]:
        def wait() -> None:
            end = clock() + us * 1_000
            while clock() < end:
                pass

        return wait

    waits: dict[str, Callable[[], None]] = {"at once": lambda: None, "spun 10 us": spin(10),
                                            "spun 100 us": spin(100), "spun 1 ms": spin(1_000),
                                            "slept 1 ms": lambda: time.sleep(0.001)}  # fmt: skip
    times: dict[str, list[int]] = {name: [] for name in waits}
    for _ in range(rounds):
        for name, wait in waits.items():
            check()
            wait()
            times[name].append(check())
    return times


def main() -> None:
    for title, times in (("risk's check in the engine (decision_ab 30000 10000)", _in_the_engine()),
                         ("a warm check after waiting", _after_waiting())):  # fmt: skip
        print(f"\n{title}, median ns:")
        for name, values in times.items():
            print(f"  {name:12s} {np.median(values):10,.0f}  ({len(values)})")


if __name__ == "__main__":
    main()
