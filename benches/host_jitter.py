"""How often this host takes the core away: gaps in a loop that only reads the clock.

A latency budget of a few microseconds is only as good as the core it runs on: on a shared VM
the hypervisor and the kernel take the core for microseconds at a time, many times a second,
whatever the program does. This spins for ``seconds`` reading ``time.perf_counter_ns`` and counts
the gaps between consecutive reads longer than each threshold (a read costs well under 1 us
here, so a longer gap is the host's)::

    PYTHONPATH=. python benches/host_jitter.py 3

Run it on the core the engine is pinned to (``taskset -c N``), at the moment the latency rows
are measured: a host with hundreds of 10 us gaps a second cannot give a 25 us p99 to anything.
"""

from __future__ import annotations

import argparse
import time

THRESHOLDS_US = (1, 5, 10, 25, 50, 100)


def gaps(seconds: float) -> tuple[int, int, dict[int, int]]:
    """(reads, longest gap ns, gaps longer than each threshold in us) over ``seconds``."""
    clock = time.perf_counter_ns
    limits = [threshold * 1_000 for threshold in THRESHOLDS_US]
    counts = [0] * len(limits)
    reads = longest = 0
    last = start = clock()
    end = start + int(seconds * 1e9)
    while last < end:
        now = clock()
        gap = now - last
        last = now
        reads += 1
        if gap > limits[0]:
            longest = max(longest, gap)
            for i, limit in enumerate(limits):
                if gap > limit:
                    counts[i] += 1
    return reads, longest, dict(zip(THRESHOLDS_US, counts, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", type=float, nargs="?", default=3.0)
    args = parser.parse_args()
    reads, longest, counted = gaps(args.seconds)
    print(f"{args.seconds:g} s spinning: {reads:,} clock reads, "
          f"longest gap {longest / 1e3:,.1f} us")  # fmt: skip
    for threshold, count in counted.items():
        rate = count / args.seconds
        print(f"  gaps over {threshold:>3} us: {count:>7,}  ({rate:,.1f} a second)")


if __name__ == "__main__":
    main()
