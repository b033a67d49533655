"""One runner for every benchmark: `python -m benchmarks [--quick] [NAME ...]` prints one table of all figures.

Each benchmarks/bench_<name>.py has main() returning a list of dicts {figure, value, unit, anchor, anchor_value,
ratio, goal}. With --quick, a module's QUICK_ARGV (or the runner's QUICK_DEFAULTS for it) is passed to main(); otherwise main()
gets no arguments (its defaults are the full run). NAME selects modules by name (`history` or `bench_history`).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOAL = re.compile(r"^\s*(>=|<=|>|<|≥|≤)\s*([\d.,_]+)\s*(x|×)?")
COLUMNS = ("figure", "this run", "anchor (same run)", "ratio", "goal", "met")
# --quick arguments for modules that take arguments but define no QUICK_ARGV of their own
QUICK_DEFAULTS = {"bench_bot": ["--quick"], "bench_collect": ["40", "2"], "bench_run": ["--samples", "5", "--cycles",
                  "1000"], "bench_text": ["20000"]}


def discover() -> list[str]:
    """Module names of benchmarks/bench_*.py, sorted."""
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def select(names: list[str], wanted: list[str]) -> list[str]:
    """The modules named in wanted (with or without the bench_ prefix); all when wanted is empty."""
    if not wanted:
        return names
    chosen = []
    for w in wanted:
        name = w if w.startswith("bench_") else f"bench_{w}"
        if name not in names:
            raise SystemExit(f"unknown benchmark {w!r}; known: {', '.join(n.removeprefix('bench_') for n in names)}")
        chosen.append(name)
    return chosen


def met(row: dict) -> str:
    """'met' / 'NOT MET' from the goal ('>= 300 pages/s', '< 1 s', '<= 10x', '>= 0.75'); '-' when not judgeable.

    A goal in the row's unit is compared with the value; an 'x' goal or a bare number with the ratio; a goal in
    another unit, or a goal in words, is left to the reader.
    """
    match = GOAL.match(str(row.get("goal") or ""))
    if not match:
        return "-"
    op, number, times = match.groups()
    target = float(number.replace(",", "").replace("_", ""))
    rest = str(row["goal"])[match.end():].strip()
    word = rest.split()[0] if rest else ""
    if times or not word or word.startswith("("):
        value = row.get("ratio") if (times or row.get("ratio") is not None) else row.get("value")
    elif word == str(row.get("unit") or "").strip():
        value = row.get("value")
    else:
        return "-"
    if value is None:
        return "-"
    ok = {">=": value >= target, "≥": value >= target, ">": value > target, "<=": value <= target,
          "≤": value <= target, "<": value < target}[op]
    return "met" if ok else "NOT MET"


def run_module(name: str, quick: bool) -> list[dict]:
    """Import and run one benchmark module; a failure becomes one row saying so (the others still run)."""
    try:
        module = importlib.import_module(f"benchmarks.{name}")
        main = module.main
        if inspect.signature(main).parameters:
            quick_argv = getattr(module, "QUICK_ARGV", QUICK_DEFAULTS.get(name, []))
            rows = main(list(quick_argv) if quick else [])
        else:
            rows = main()
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        return [{"figure": f"{name}: failed ({type(exc).__name__}: {exc})", "value": None, "unit": "",
                 "anchor": "-", "anchor_value": None, "ratio": None, "goal": "-"}]
    return [dict(row, module=name) for row in rows or []]


def _num(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def table(rows: list[dict]) -> str:
    """A Markdown table: figure, this run, anchor measured in the same run, ratio, goal, met."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        value = f"{_num(r.get('value'))} {r.get('unit') or ''}".strip()
        anchor = r.get("anchor") or "-"
        if r.get("anchor_value") is not None:
            same_unit = r.get("ratio") is not None  # a ratio means the anchor is in the figure's unit
            anchor = f"{anchor}: {_num(r['anchor_value'])} {r.get('unit') or '' if same_unit else ''}".rstrip()
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.3g}x"
        lines.append(f"| {r['figure']} | {value} | {anchor} | {ratio} | {r.get('goal') or '-'} | {met(r)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (each module's QUICK_ARGV)")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    for name in select(discover(), args.names):
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        start = time.perf_counter()
        rows += run_module(name, args.quick)
        print(f"   ({time.perf_counter() - start:.1f} s)\n", flush=True)
    print(table(rows))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
