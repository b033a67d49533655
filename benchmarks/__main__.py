"""One runner for every benchmark: `python -m benchmarks [--quick] [NAME ...]` prints one table of all figures.

Each benchmarks/bench_<name>.py has main() returning a list of dicts {figure, value, unit, anchor, anchor_value,
ratio, goal}. With --quick, a module's QUICK_ARGV (if it has one) is passed to main(); otherwise main() gets no
arguments (its defaults are the full run). NAME selects modules by name (`history` or `bench_history`).
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
    """'met' / 'not met' from the goal string ('>= 300 pages/s', '< 1 s', '<= 2x'); '-' when there is no goal."""
    match = GOAL.match(str(row.get("goal") or ""))
    if not match:
        return "-"
    op, number, ratio_goal = match.groups()
    target = float(number.replace(",", "").replace("_", ""))
    value = row.get("ratio") if ratio_goal else row.get("value")
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
            rows = main(list(getattr(module, "QUICK_ARGV", [])) if quick else [])
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
            anchor = f"{anchor}: {_num(r['anchor_value'])} {r.get('unit') or ''}".rstrip()
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
