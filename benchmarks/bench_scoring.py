"""Scoring speed: full recompute over 300 series x 1,250 trading days, and one incremental day.

The 300 attention series get every per-series step (log-ratio, robust z, aggregates); 300 stocks' closes and highs
give the limit board (limit-up/-down, broken limits, streaks, up share); the index gives turnover, RSI, return from
low, coupling, lead-lag and the bounded strengths. A market-only run (no attention) is timed as well.

Run: python benchmarks/bench_scoring.py  (prints a table; main() also returns the figures as dicts)
Anchor, measured in the same run: a plain pandas rolling(20) mean + median over the same wide frame.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from sentibot.score import scoring
from sentibot.score.breadth import limit_board
from benchmarks.timing import median_s

SERIES, DAYS, REPEATS = 300, 1250, 7


def frames(seed: int = 0):
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2019-01-02", periods=DAYS)
    walk = lambda cols, vol: np.exp(np.cumsum(rng.normal(0, vol, (DAYS, cols)), axis=0))  # noqa: E731
    market = pd.DataFrame({"close": 1000 * walk(1, 0.015)[:, 0], "amount": 1e9 * walk(1, 0.1)[:, 0]}, index=index)
    attention = pd.DataFrame(1e4 * walk(SERIES, 0.1), index=index, columns=[f"a{i}" for i in range(SERIES)])
    attention = attention.mask(rng.random(attention.shape) < 0.02)  # some missing days
    moves = np.where(rng.random((DAYS, SERIES)) < 0.01, 0.3, rng.normal(0, 0.03, (DAYS, SERIES)))  # 1% limit-ups
    stocks = pd.DataFrame(20 * np.cumprod(1 + moves, axis=0), index=index,
                          columns=[f"s{i}" for i in range(SERIES)]).round(2)
    high = stocks * (1 + np.abs(rng.normal(0, 0.02, (DAYS, SERIES))))
    return market, attention, stocks, high


def timed(fn) -> float:
    return median_s(fn, REPEATS, warm_up=True)


def rescore_figure() -> tuple[str, float, str] | None:
    """rescore() as the live job runs it, over the bundled demo history (408 trading days, 4 series)."""
    import tempfile
    from datetime import datetime
    from pathlib import Path

    from sentibot.score import rescore as pipeline, replay
    from sentibot.demo import DEMO_DIR
    from sentibot.store.db import open_store
    from sentibot.timeutil import SHANGHAI

    if not (DEMO_DIR / "market.csv").is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "bench.db")
        replay.replay(db, DEMO_DIR / "market.csv", DEMO_DIR / "attention.csv", DEMO_DIR / "notices.jsonl")
        now = datetime(2023, 12, 29, 16, tzinfo=SHANGHAI)
        value = timed(lambda: pipeline.rescore(db, now))
        db.conn.close()
    return "rescore from SQLite (load, score, save 408 days of scores, alerts), demo history", value, "none set"


def demo_figure() -> tuple[str, float, float] | None:
    """`sentibot demo` in-process: import, score 408 days, store, alerts, chart PNG (one run after a warm-up)."""
    import tempfile
    from pathlib import Path

    from sentibot.demo import DEMO_DIR, run_demo
    from sentibot.store.db import open_store

    if not (DEMO_DIR / "market.csv").is_file():
        return None
    runs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as tmp:
            db = open_store(Path(tmp) / "demo.db")
            start = time.perf_counter()
            run_demo(db, Path(tmp))
            runs.append(time.perf_counter() - start)
            db.conn.close()
    return "sentibot demo end to end (in-process, warm): import, score, store, chart", runs[-1], 15.0


def main() -> list[dict]:
    market, attention, stocks, high = frames()
    previous = scoring.score_history(market.iloc[:-1], attention.iloc[:-1], stocks=stocks.iloc[:-1],
                                     stock_high=high.iloc[:-1]).daily
    bare = scoring.score_history(market.iloc[:-1], None, stocks=stocks.iloc[:-1], stock_high=high.iloc[:-1]).daily
    empty = pd.DataFrame(index=market.index)
    anchor = timed(lambda: (attention.rolling(20).mean(), attention.rolling(20).median()))
    figures = [
        ("full recompute: score_history, 300 attention series + limit board of 300 stocks x 1,250 days",
         timed(lambda: scoring.score_history(market, attention, stocks=stocks, stock_high=high)), 1.0),
        ("incremental day: score_latest (newest row of 300 series + the limit board, trailing market rows)",
         timed(lambda: scoring.score_latest(market, attention, previous, stocks=stocks, stock_high=high)), 0.05),
        ("market-only full recompute: limit board of 300 stocks x 1,250 days, no attention",
         timed(lambda: scoring.score_history(market, None, stocks=stocks, stock_high=high)), 1.0),
        ("market-only incremental day",
         timed(lambda: scoring.score_latest(market, empty, bare, stocks=stocks, stock_high=high)), 0.05),
        ("limit board alone: breadth.limit_board, 300 stocks x 1,250 days",
         timed(lambda: limit_board(stocks, high)), 1.0),
    ]
    for extra in (rescore_figure(), demo_figure()):
        if extra:
            figures.append(extra)
    rows = [{"figure": name, "value": round(value, 4), "unit": "s",
             "anchor": "pandas rolling(20) mean+median, 300 x 1,250", "anchor_value": round(anchor, 4),
             "ratio": round(value / anchor, 2), "goal": goal if isinstance(goal, str) else f"< {goal} s"}
            for name, value, goal in figures]
    print(f"anchor: pandas rolling(20) mean+median over {SERIES} x {DAYS}: {anchor * 1000:.1f} ms")
    for r in rows:
        print(f"{r['figure']}: {r['value'] * 1000:.1f} ms ({r['ratio']}x anchor; goal {r['goal']})")
    return rows


if __name__ == "__main__":
    main()
