"""The one timing helper of the benchmarks: the median wall time of a few runs (this machine is noisy)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_s(fn: Callable[[], object], runs: int, warm_up: bool = False) -> float:
    """Median seconds of `runs` calls of fn, after one untimed call when warm_up (caches, lazy imports)."""
    if warm_up:
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
