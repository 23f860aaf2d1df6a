"""Turn a pytest-benchmark JSON file into docs/performance.md.

Usage: ``python benches/report.py .benchmarks/latest.json [more.json ...] [-o docs/performance.md]``
(several files: each bench's row comes from the run with its lowest median).

Each bench records ``extra_info``: ``contender``, ``ops`` (operations per round), ``unit``,
``baseline`` (the contender its group is compared with), optional ``target_ns`` and ``note``;
the memory benches add ``nbytes``. Times per operation are the round's median / ``ops``.
The cycle benches may add ``samples_ns`` (one figure per round, used instead of the round
times: the median-market rows), ``target_speedup`` (``{contender: minimum speed-up}`` over other
rows of the group) and ``about`` (a paragraph shown above the group's table).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "performance.md"
RUN_COMMANDS = (
    "PYTHONPATH=. python -m pytest benches --benchmark-enable "
    "--benchmark-json=.benchmarks/latest.json -p no:cacheprovider -q",
    "PYTHONPATH=. python benches/report.py .benchmarks/latest.json",
)
HOW_TO_READ = """\
How to read: every replay round reloads the snapshot (untimed, pedantic `setup`), then replays
all messages; per message a contender applies every level and reads the best bid and ask once.
All contenders get the same pre-parsed input in their natural form (numpy arrays for
`apply_deltas`, tuples of raw ints for per-level calls and `SortedDict`, floats for
`order-book`), converted before timing. Figures are per level update (or per call): the median
round divided by its operation count. Speed-ups compare the fastest rounds (baseline min /
this min), since background load only ever adds time. Loops of calls include the loop's own
cost (the "bare loop" row shows it). Every bench also checks its result (final top 10 levels
against a last-write-wins oracle, depth walks against `arbcore_ext.reference`), so the same
files run as smoke tests under `--benchmark-disable`. Absolute numbers move with machine load;
ratios are the steadier figure. `arbcore bench` prints a quick version of the replay tables.\
"""
#: A contender of this name times the loop alone; its group gets a "net of the loop" column.
BARE_LOOP = "bare loop"
#: Groups shown first, in this order; any other group follows alphabetically.
GROUP_ORDER = ("replay BTCUSDT", "replay ETHUSDT", "replay synthetic 1M")
#: Groups with this prefix (the triangular-cycle benches) come last, after the memory table, in
#: the order the run has them.
LAST_PREFIX = "cycles: "
CYCLES_INTRO = """\
## Triangular cycles

`benches/bench_cycles.py` on the Binance spot pair universe (recorded `exchangeInfo`) with
seeded prices. Rows marked "median over all markets" time each market separately (a loop of
calls alternating its touch) and take the median of the per-market means; their min and mean
are over rounds of that figure. Targets with an "x" compare this row's fastest round with the
named row's (like the speed-up column).\
"""


def _ns(seconds: float, ops: int) -> float:
    return seconds * 1e9 / ops


def _fmt_ns(ns: float) -> str:
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:,.1f}"


def _rate(ns: float) -> str:
    per_s = 1e9 / ns
    if per_s < 1e3:
        return f"{per_s:,.1f}"
    return f"{per_s / 1e6:,.2f} M" if per_s >= 1e6 else f"{per_s / 1e3:,.0f} k"


def _table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return lines


def _samples(bench: dict[str, Any]) -> list[float] | None:
    samples: list[float] | None = bench["extra_info"].get("samples_ns")
    return samples or None


def _stat_ns(bench: dict[str, Any], stat: str) -> float:
    """``median``/``mean``/``min`` ns per operation (from ``samples_ns`` when recorded)."""
    samples = _samples(bench)
    if samples is None:
        return _ns(bench["stats"][stat], bench["extra_info"]["ops"])
    ordered = sorted(samples)
    if stat == "min":
        return ordered[0]
    if stat == "mean":
        return sum(ordered) / len(ordered)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _rounds(bench: dict[str, Any]) -> int:
    samples = _samples(bench)
    return len(samples) if samples is not None else int(bench["stats"]["rounds"])


def _speedup_targets(info: dict[str, Any], fastest: dict[str, float]) -> str:
    cells = []
    for peer, factor in info.get("target_speedup", {}).items():
        if peer not in fastest:
            cells.append(f"{factor:g}x vs {peer}: no row")
            continue
        ratio = fastest[peer] / fastest[info["contender"]]
        verdict = "met" if ratio >= factor else "MISSED"
        cells.append(f"{factor:g}x vs {peer}: {ratio:,.1f}x ({verdict})")
    return "; ".join(cells)


def group_table(benches: list[dict[str, Any]]) -> list[str]:
    """One markdown table for the benches of one group, with speed-ups vs its baseline."""
    info = [b["extra_info"] for b in benches]
    unit = info[0].get("unit", "op")
    median = {i["contender"]: _stat_ns(b, "median") for b, i in zip(benches, info, strict=True)}
    fastest = {i["contender"]: _stat_ns(b, "min") for b, i in zip(benches, info, strict=True)}
    baseline = next((i["baseline"] for i in info if i.get("baseline")), "")
    base_ns = fastest.get(baseline)
    has_target = any("target_ns" in i or "target_speedup" in i for i in info)
    loop_ns = median.get(BARE_LOOP)
    header = ["contender", f"median ns/{unit}", f"mean ns/{unit}", f"min ns/{unit}", f"{unit}s/s"]
    if base_ns is not None:
        header.append(f"speed-up vs {baseline} (min)")
    if loop_ns is not None:
        header.append(f"ns/{unit} net of the loop")
    if has_target:
        header.append("target" if any("target_speedup" in i for i in info) else "target ns")
    header.append("rounds")
    rows = [header]
    notes = []
    for bench, i in zip(benches, info, strict=True):
        ns = median[i["contender"]]
        row = [
            f"**{i['contender']}**" if i["contender"] == baseline else i["contender"],
            _fmt_ns(ns),
            _fmt_ns(_stat_ns(bench, "mean")),
            _fmt_ns(_stat_ns(bench, "min")),
            _rate(ns),
        ]
        if base_ns is not None:
            row.append(f"{base_ns / fastest[i['contender']]:.2f}x")
        if loop_ns is not None:
            row.append("" if i["contender"] == BARE_LOOP else _fmt_ns(ns - loop_ns))
        if has_target:
            target = i.get("target_ns")
            verdict = "met" if target is not None and ns <= target else "MISSED"
            cell = "" if target is None else f"{target:g} ({verdict})"
            row.append(cell or _speedup_targets(i, fastest))
        row.append(str(_rounds(bench)))
        rows.append(row)
        if i.get("note"):
            notes.append(f"{i['contender']}: {i['note']}.")
    streams = sorted(
        {
            f"{i['stream']}: {i['messages']:,} messages, {i['ops']:,} level updates"
            for i in info
            if "stream" in i
        }
    )
    lines = [f"Input: {'; '.join(streams)}.", ""] if streams else []
    about = next((i["about"] for i in info if i.get("about")), "")
    if about:
        lines += [about, ""]
    lines += _table(rows)
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return lines


def memory_table(benches: list[dict[str, Any]]) -> list[str]:
    """Bytes per book after each replay, and the estimate for ``books`` such books."""
    rows = [["book", "levels (bid+ask)", "window width (ticks/side)", "nbytes", "estimate"]]
    for bench in benches:
        i = bench["extra_info"]
        if "nbytes" not in i:
            continue
        width = "-" if i["layout"] == "flat" else f"{i['widths'][0]:,}"
        rows.append(
            [
                f"{i['symbol']} {i['layout']}",
                f"{i['levels'][0]:,}+{i['levels'][1]:,}",
                width,
                f"{i['nbytes']:,} B ({i['nbytes'] / 2**10:,.0f} KiB)",
                f"x {i['books']:,} books = {i['nbytes'] * i['books'] / 2**30:.2f} GiB",
            ]
        )
    return _table(rows) if len(rows) > 1 else []


def _runs_note(runs: int) -> list[str]:
    if runs <= 1:
        return []
    return [
        f"Best of {runs} runs: each bench's row comes from the run with its lowest median (other",
        "jobs shared the machine; `report.py` accepts several JSON files for this).",
    ]


def render(data: dict[str, Any]) -> str:
    """The whole performance page."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for bench in data["benchmarks"]:
        groups.setdefault(bench["group"] or bench["name"], []).append(bench)
    last = [g for g in groups if g.startswith(LAST_PREFIX)]
    order = [g for g in GROUP_ORDER if g in groups] + sorted(
        set(groups) - set(GROUP_ORDER) - set(last)
    )
    machine = data.get("machine_info", {})
    commit = data.get("commit_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", machine.get("processor", "?"))
    lines = [
        "# Performance",
        "",
        "Generated by `benches/report.py` from pytest-benchmark JSON; do not edit by hand.",
        "Reproduce from the project root (on a busy machine, repeat the first command into",
        "several files and pass them all to `report.py`):",
        "",
        "```sh",
        *RUN_COMMANDS,
        "```",
        "",
        f"Run {data.get('datetime', '?')} on {cpu} ({machine.get('cpu', {}).get('count', '?')} "
        f"CPUs), {machine.get('python_implementation', '')} {machine.get('python_version', '')}, "
        f"commit {commit.get('id', '?')[:12]}{' (dirty tree)' if commit.get('dirty') else ''}.",
        *_runs_note(data.get("runs", 1)),
        "",
        HOW_TO_READ,
        "",
    ]
    for group in order:
        lines += [f"## {group}", "", *group_table(groups[group]), ""]
    memory = memory_table(data["benchmarks"])
    if memory:
        lines += [
            "## Memory after replay",
            "",
            "`L2Book.nbytes` after the full replay; the estimate multiplies it by 8 venues x 500",
            "symbols (an upper bound when every book looks like that one).",
            "",
            *memory,
            "",
        ]
    if last:
        lines += [CYCLES_INTRO, ""]
    for group in last:
        lines += [f"### {group[len(LAST_PREFIX) :]}", "", *group_table(groups[group]), ""]
    return "\n".join(lines)


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One run from several: per bench, the run with the lowest median (for noisy machines)."""
    best: dict[str, dict[str, Any]] = {}
    for run in runs:
        for bench in run["benchmarks"]:
            kept = best.get(bench["fullname"])
            if kept is None or _stat_ns(bench, "median") < _stat_ns(kept, "median"):
                best[bench["fullname"]] = bench
    merged = dict(runs[-1])
    merged["benchmarks"] = list(best.values())  # every bench of every run (partial runs too)
    merged["runs"] = len(runs)
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "json", type=Path, nargs="+", help="pytest-benchmark --benchmark-json output(s)"
    )
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in args.json]
    args.output.write_text(render(merge(runs)), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
