"""Stock heat: full recompute and one new day for 300 stocks x 5 years, the live rescore before/after its trailing
window, /top latency through the fake Bot API, and `sentibot run` resident memory with 300 stocks tracked after
1,000 collection cycles, before (every rescore recomputes every stock's whole history) and after (the window).

Run: python -m benchmarks.bench_stocks [--quick] [--cycles 1000] [--no-rss] [--stock-days 250]

Anchors, measured in the same run:
- scoring: a plain pandas rolling(20) mean + median over one 300 x 1,250 frame (bench_scoring.py's anchor);
- live rescore (`stock_rescore.evaluate` on a store of 300 stocks): "before" is the full recompute it falls back to
  without a stored level state (what every rescore did before the window), "after" the trailing window;
- /top: /help through the same bot, fake Bot API and chat (the fixed cost of one command round trip);
- memory: bench_run's loop (guba + market + notices, a rescore every 10th cycle) with the market history only,
  run the same way in another process; then with 300 stocks' bars, forum and rank history preloaded, once with
  every rescore recomputing the whole history (before) and once on the trailing window (after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
import tracemalloc
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from sentibot.score import stocks
from benchmarks.timing import median_s

ROOT = Path(__file__).resolve().parents[1]

STOCKS, DAYS, REPEATS = 300, 1250, 5
QUICK_ARGV = ["--quick"]


def inputs(n: int = STOCKS, days: int = DAYS, seed: int = 0) -> stocks.StockInputs:
    """Random walks for n stocks: close, amount, turnover rate, forum posts and reads, popularity rank."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2019-01-02", periods=days)
    codes = [f"920{i:03d}" for i in range(n)]
    walk = lambda vol: pd.DataFrame(np.exp(np.cumsum(rng.normal(0, vol, (days, n)), axis=0)),  # noqa: E731
                                    index=index, columns=codes)
    noise = lambda vol: pd.DataFrame(np.exp(rng.normal(0, vol, (days, n))), index=index, columns=codes)  # noqa: E731
    amount = 3e7 * noise(0.3)
    posts = (30 * noise(0.3)).round().mask(rng.random((days, n)) < 0.02)  # some missing days
    return stocks.build_inputs(12 * walk(0.02), amount, amount / 1e7,
                               {"posts": posts, "reads": 3000 * noise(0.3), "popularity": 1000 / (150 * noise(0.2))})


def timed(fn, repeats: int = REPEATS) -> float:
    return median_s(fn, repeats, warm_up=True)


def bench_scoring(repeats: int) -> list[dict]:
    data = inputs()
    frame = data.attention["reads"]
    anchor = timed(lambda: (frame.rolling(20).mean(), frame.rolling(20).median()), repeats)
    full = timed(lambda: stocks.score_stocks(data), repeats)
    previous = stocks.score_stocks(_cut(data, DAYS - 1))
    day = timed(lambda: stocks.score_latest_day(data, previous), repeats)
    print(f"stock heat, {STOCKS} stocks x {DAYS} days: full {full * 1000:.0f} ms, one new day {day * 1000:.1f} ms; "
          f"anchor rolling(20) mean+median {anchor * 1000:.0f} ms")
    return [
        {"figure": f"stock heat full recompute ({STOCKS} x {DAYS})", "value": round(full * 1000), "unit": "ms",
         "anchor": "rolling(20) mean+median", "anchor_value": round(anchor * 1000, 1),
         "ratio": round(full / anchor, 1), "goal": "< 2000 ms"},
        {"figure": "stock heat one new day", "value": round(day * 1000, 1), "unit": "ms",
         "anchor": "rolling(20) mean+median", "anchor_value": round(anchor * 1000, 1),
         "ratio": round(day / anchor, 2), "goal": "< 100 ms"},
    ]


def _cut(data: stocks.StockInputs, end: int) -> stocks.StockInputs:
    return stocks.StockInputs(data.close.iloc[:end], data.amount.iloc[:end], data.turnover_rate.iloc[:end],
                              {k: v.iloc[:end] for k, v in data.attention.items()})


def _top_db(path: Path) -> None:
    """300 stocks scored over two days (the rank change needs the day before), via the real save path."""
    from sentibot.score import stock_rescore
    from sentibot.store.db import open_store

    db = open_store(path)
    heat = stocks.score_stocks(inputs(days=300))
    stock_rescore.save(db, heat, "2024-01-10T20:00:00+08:00", since=str(heat["score"].index[-2].date()))
    db.close()


async def _latency(db_path: Path, samples: int) -> dict[str, list[float]]:
    from sentibot.bot.application import serve
    from sentibot.config import load_settings
    from sentibot.store.db import open_store
    from tests.support.fake_telegram import TOKEN, FakeTelegram

    db = open_store(db_path)
    out: dict[str, list[float]] = {"/help": [], "/top": [], "/top (db changed)": []}
    async with FakeTelegram() as fake:
        env = {"SENTIBOT_TELEGRAM_TOKEN": TOKEN, "SENTIBOT_TELEGRAM_API_URL": fake.base_url}
        stop = asyncio.Event()
        task = asyncio.create_task(serve(load_settings(env, env_file=None), db, stop=stop, poll_timeout_s=10))
        while not any(c.method == "getUpdates" for c in fake.calls):
            await asyncio.sleep(0.01)
        try:
            for i in range(samples + 5):
                for name, times in out.items():
                    if name == "/top (db changed)":  # any write invalidates the cached /top text
                        db["cursors"].upsert({"source": "bench", "key": "k", "value": str(i), "updated_at": ""},
                                             pk=("source", "key"))
                    before = len(fake.sent_to(42))
                    start = time.monotonic()
                    fake.inject(name.split()[0], user_id=42)
                    while len(fake.sent_to(42)) <= before:
                        await asyncio.sleep(0.0005)
                    if i >= 5:  # warm-up
                        times.append((fake.sent_to(42)[before].ts - start) * 1000)
        finally:
            stop.set()
            await task
    return out


def bench_top(samples: int) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "top.db"
        _top_db(path)
        lat = asyncio.run(_latency(path, samples))
    p95 = {k: statistics.quantiles(v, n=20)[18] for k, v in lat.items()}
    print("latency through the fake Bot API, p95 (median): " + ", ".join(
        f"{k} {p95[k]:.1f} ms ({statistics.median(v):.1f})" for k, v in lat.items()))
    return [{"figure": f"{k} p95, 300 stocks", "value": round(p95[k], 1), "unit": "ms", "anchor": "/help p95",
             "anchor_value": round(p95["/help"], 1), "ratio": round(p95[k] / p95["/help"], 2), "goal": "< 50 ms"}
            for k in ("/top", "/top (db changed)")]


def preload_stocks(db_path: Path, today, n: int = STOCKS, days: int = 250) -> None:
    """n stocks' daily bars, forum posts/reads and popularity ranks for `days` trading days, via the store."""
    from sentibot.models import Bar, Observation
    from sentibot.store.db import open_store, upsert_bars, upsert_observations

    data = inputs(n, days, seed=1)
    shift = pd.Timestamp(today) - pd.Timedelta(days=1) - data.close.index[-1]
    stamp = datetime.now().isoformat(timespec="seconds")
    db = open_store(db_path)
    bars, obs = [], []
    for code in data.close.columns:
        for d, c, a, r in zip(data.close.index + shift, data.close[code], data.amount[code],
                              data.turnover_rate[code]):
            bars.append(Bar(code=code, date=d.date().isoformat(), close=float(c), amount=float(a),
                            turnover_rate=float(r), origin="imported"))
        for metric, source, scale in (("posts", "guba", 1), ("reads", "guba", 1), ("popularity", "em_rank", 0)):
            for d, v in zip(data.close.index + shift, data.attention[metric][code]):
                if not np.isnan(v):
                    value = float(v) if scale else round(1000 / float(v))
                    obs.append(Observation(source, code, metric if scale else "rank", d.date().isoformat(), value,
                                           "imported"))
    upsert_bars(db, bars, stamp)
    upsert_observations(db, obs, stamp)
    db.close()


@contextmanager
def full_recompute():
    """Every stock rescore without its stored level state: the whole history reloaded and rescored (the "before")."""
    from sentibot.score import stock_rescore

    real = stock_rescore.read_state
    stock_rescore.read_state = lambda db: None
    try:
        yield
    finally:
        stock_rescore.read_state = real


def bench_rescore(repeats: int, days: int) -> list[dict]:
    """One live stock rescore (load, score, save, alerts) on a store of STOCKS stocks x `days`: before and after."""
    from sentibot.score import stock_rescore
    from sentibot.store.db import open_store
    from sentibot.timeutil import SHANGHAI
    from tests.support.e2e_world import preload_calm_history

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rescore.db"
        now = datetime.now(SHANGHAI)
        preload_calm_history(path, now.date())
        preload_stocks(path, now.date(), days=days)
        db = open_store(path)
        stock_rescore.evaluate(db, now)  # the first run scores and stores everything
        times: dict[str, list[float]] = {"before": [], "after": []}
        peaks = {}
        for i in range(repeats + 1):  # alternating, so a change in the machine's load hits both alike
            for name in times:
                with full_recompute() if name == "before" else nullcontext():
                    if i == 0:  # the first of each: traced (slower), not timed
                        tracemalloc.start()
                        stock_rescore.evaluate(db, now)
                        peaks[name] = tracemalloc.get_traced_memory()[1] / 1e6
                        tracemalloc.stop()
                        continue
                    start = time.perf_counter()
                    stock_rescore.evaluate(db, now)
                    times[name].append(time.perf_counter() - start)
        db.close()
    before, after = statistics.median(times["before"]), statistics.median(times["after"])
    before_mb, after_mb = peaks["before"], peaks["after"]
    print(f"live stock rescore, {STOCKS} stocks x {days} days: before (whole history) {before * 1000:.0f} ms, peak "
          f"traced {before_mb:.0f} MB; after (trailing window) {after * 1000:.0f} ms, peak traced {after_mb:.0f} MB")
    return [{"figure": f"live stock rescore ({STOCKS} x {days} days)", "value": round(after * 1000), "unit": "ms",
             "anchor": "before: whole history", "anchor_value": round(before * 1000),
             "ratio": round(after / before, 2), "goal": "faster than before"},
            {"figure": f"live stock rescore peak traced memory ({STOCKS} x {days} days)", "value": round(after_mb),
             "unit": "MB", "anchor": "before: whole history", "anchor_value": round(before_mb),
             "ratio": round(after_mb / before_mb, 2), "goal": "informational"}]


def _memory_child(with_stocks: bool, cycles: int, result, full: bool = False) -> None:
    import logging

    from benchmarks.bench_run import _cycles, _serve_world
    from sentibot.timeutil import SHANGHAI
    from tests.support.e2e_world import preload_calm_history

    logging.basicConfig(level=logging.ERROR)
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve_world, args=(queue, stop), daemon=True)
    server.start()
    try:
        env = queue.get(timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "sentibot.db"
            today = datetime.now(SHANGHAI).date()
            preload_calm_history(db, today)
            if with_stocks:
                preload_stocks(db, today)
            with full_recompute() if full else nullcontext():
                marks, took = asyncio.run(_cycles(env, db, cycles, 10))
    finally:
        stop.set()
        server.join(timeout=10)
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) / 1000 for line in fh if line.startswith("VmHWM"))
    result.put({"marks": marks, "took": took, "peak": peak})


def bench_memory(cycles: int) -> list[dict]:
    ctx = multiprocessing.get_context("spawn")
    figures = {}
    for name, with_stocks, full in (("market", False, False), ("before", True, True), ("after", True, False)):
        queue = ctx.Queue()
        child = ctx.Process(target=_memory_child, args=(with_stocks, cycles, queue, full))
        child.start()
        figures[name] = queue.get(timeout=3600)
        child.join()
    base = figures["market"]
    end = lambda f: f["marks"][-1][1]  # noqa: E731
    ms = lambda f: f["took"] / cycles * 1000  # noqa: E731
    print(f"RSS after {cycles} cycles: market only {end(base):.0f} MB (peak {base['peak']:.0f}, {ms(base):.0f} "
          f"ms/cycle); with {STOCKS} stocks, before (whole history each rescore) {end(figures['before']):.0f} MB "
          f"(peak {figures['before']['peak']:.0f}, {ms(figures['before']):.0f} ms/cycle), after (trailing window) "
          f"{end(figures['after']):.0f} MB (peak {figures['after']['peak']:.0f}, {ms(figures['after']):.0f} ms/cycle)")
    for name in ("before", "after"):
        print(f"RSS by cycle with stocks, {name}: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in figures[name]["marks"]))
    own = figures["after"]
    return [{"figure": f"run RSS after {cycles} cycles, {STOCKS} stocks", "value": round(end(own)), "unit": "MB",
             "anchor": "market only", "anchor_value": round(end(base)), "ratio": round(end(own) / end(base), 2),
             "goal": "< 300 MB"},
            {"figure": f"run RSS after {cycles} cycles, {STOCKS} stocks, before the window", "unit": "MB",
             "value": round(end(figures["before"])), "anchor": "market only", "anchor_value": round(end(base)),
             "ratio": round(end(figures["before"]) / end(base), 2), "goal": "informational"},
            {"figure": f"run ms/cycle, {STOCKS} stocks", "value": round(ms(own)), "unit": "ms",
             "anchor": "before the window", "anchor_value": round(ms(figures["before"])),
             "ratio": round(ms(own) / ms(figures["before"]), 2), "goal": "informational"},
            {"figure": f"run peak RSS, {STOCKS} stocks", "value": round(own["peak"]), "unit": "MB",
             "anchor": "market only", "anchor_value": round(base["peak"]), "ratio": round(own["peak"] / base["peak"], 2),
             "goal": "informational"}]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and samples, 200 cycles")
    parser.add_argument("--cycles", type=int, default=None, help="collection cycles for memory (default 1000)")
    parser.add_argument("--no-rss", action="store_true", help="skip the memory figure (the slowest)")
    parser.add_argument("--stock-days", type=int, default=250, help="trading days of history for the live rescore")
    args = parser.parse_args(argv)
    figures = bench_scoring(2 if args.quick else REPEATS) + bench_rescore(2 if args.quick else REPEATS,
                                                                          args.stock_days)
    figures += bench_top(40 if args.quick else 200)
    if not args.no_rss:
        figures += bench_memory(args.cycles or (200 if args.quick else 1000))
    print(json.dumps(figures, ensure_ascii=False))
    return figures


if __name__ == "__main__":
    main()
