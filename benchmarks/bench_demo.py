"""`sentibot demo` end to end in a fresh interpreter, against starting Python and importing sentibot in the same run.

Run: python -m benchmarks demo   (--quick: one run each instead of the median of three).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUICK_ARGV = ["1"]


def _median_run(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> list[dict]:
    runs = int(argv[0]) if argv else 3
    with tempfile.TemporaryDirectory() as tmp:
        demo = _median_run([sys.executable, "-m", "sentibot", "demo", "--out", str(Path(tmp) / "out")], runs)
        chart = next((Path(tmp) / "out").glob("*.png"), None)
        assert chart and chart.stat().st_size > 0, "sentibot demo wrote no chart"
    anchor = _median_run([sys.executable, "-c", "import sentibot"], runs)
    print(f"sentibot demo end to end: {demo:.2f} s; python + import sentibot: {anchor:.3f} s ({demo / anchor:.1f}x)")
    return [{"figure": "`sentibot demo` end to end (replay, scoring, alerts, chart)", "value": round(demo, 2),
             "unit": "s", "anchor": "python -c 'import sentibot'", "anchor_value": round(anchor, 3),
             "ratio": round(demo / anchor, 1), "goal": "< 10 s"}]


if __name__ == "__main__":
    main(sys.argv[1:])
