"""`sentibot run` end to end: alert latency from a source's change to the subscriber, and memory over many cycles.

Run: python -m benchmarks.bench_run [--samples 20] [--cycles 10000]

Figures, each against an anchor measured in the same run:
- latency: a real `sentibot run` process (intervals at their minimum: 1 s collection, 0.05 s sender) against local
  sites and the fake Bot API (tests/); each sample publishes a new regulator statement (the real 2023-11-27 BSE text
  under a new URL) on the local bse.cn and times until the subscriber's message is accepted. Median and p95, against
  the goal of 2 s + one notice interval; anchor: the notice interval the service actually achieved (median gap
  between its notice cycles). Also one surge -> frenzy sample (a frenzy alert exists once per day and level).
- memory: the service's collection code (guba + market + notices per cycle, the PoliteClient and SQLite history the
  service uses, a rescore every 10th cycle) run `--cycles` times in this process against local sites served from a
  child process; RSS at the start (after 100 warm-up cycles, the anchor) and at the end, and the growth over the
  second half (must not grow without bound).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from tests.support.e2e_world import (  # noqa: E402  (tests/ holds the local world shared with the end-to-end test)
    CALM_AMOUNT, CALM_CLOSE, Service, World, notice_page, preload_calm_history, surge_page,
)
from tests.support.local_sites import text  # noqa: E402

from sentibot.timeutil import SHANGHAI  # noqa: E402

NOTICE_INTERVAL_S = 1.0  # the settings' minimum for a collection interval
SENDER_INTERVAL_S = 0.05  # the settings' minimum for the sender


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 1e6


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def _notice_list(title: str, path: str, published: datetime) -> str:
    item = {"title": title, "text": "", "htmlUrl": path, "publishDate": published.strftime("%Y-%m-%d %H:%M:%S"),
            "tags": "本所要闻"}
    data = {"content": [item], "firstPage": True, "lastPage": True, "number": 0, "numberOfElements": 1, "size": 50,
            "totalElements": 1, "totalPages": 1}
    return "null(" + json.dumps([{"data": data, "status": 0}], ensure_ascii=False) + ")"


def bench_latency(samples: int) -> list[dict]:
    from tests.support.fake_telegram import TOKEN
    from tests.support.threaded_fake import ThreadedFake

    now = datetime.now(SHANGHAI)
    with tempfile.TemporaryDirectory() as tmp, ThreadedFake() as fake:
        db = Path(tmp) / "sentibot.db"
        preload_calm_history(db, now.date())
        world = World()
        service = None
        try:
            world.serve_market(now.date(), close=CALM_CLOSE, amount=CALM_AMOUNT, clist_scale=1.0)
            world.bse.route("GET", "*", text(notice_page()))
            env = world.env(db, fake.base_url, TOKEN, SENTIBOT_NOTICES_INTERVAL_S=str(NOTICE_INTERVAL_S),
                            SENTIBOT_SENDER_INTERVAL_S=str(SENDER_INTERVAL_S), SENTIBOT_SOURCE_DOWN_AFTER_S="3600",
                            SENTIBOT_LOG_LEVEL="INFO")
            service = Service(env, Path(tmp))
            service.wait_for("event=jobs_registered", timeout=30)
            fake.inject("/subscribe hot", user_id=1001)
            fake.wait_sent(1, chat_id=1001, timeout=15)
            latencies = []
            for k in range(samples):
                before = len(fake.sent_to(1001))
                path = f"/news/c/{now.date()}/{530000 + k}.html"
                changed = time.monotonic()
                world.bse.route("POST", "/info/listse.do",
                                text(_notice_list(f"北交所加强交易监管（样本{k}）", path, datetime.now(SHANGHAI)),
                                     "text/plain"))
                sent = fake.wait_sent(before + 1, chat_id=1001, timeout=20)
                assert len(sent) > before and f"样本{k}" in sent[before].text, "the warning did not arrive"
                latencies.append(sent[before].ts - changed)
            before = len(fake.sent_to(1001))
            changed = time.monotonic()
            world.serve_guba(surge_page(datetime.now(SHANGHAI)))
            world.serve_market(now.date(), close=CALM_CLOSE * 1.08, amount=CALM_AMOUNT * 3, clist_scale=3.0)
            try:  # the first message naming frenzy: the surge may deliver another alert first
                frenzy, missing = fake.wait_text(1001, "calm →", timeout=30, after=before).ts - changed, ""
            except AssertionError as exc:
                frenzy, missing = None, str(exc)
            service.terminate()
            gaps = _cycle_gaps(service.lines, "job=collect_notices")
        finally:
            if service:
                service.kill()
            world.close()
    cycle = statistics.median(gaps) if gaps else NOTICE_INTERVAL_S
    goal = f"< {2 + NOTICE_INTERVAL_S:.0f} s (2 s + one {NOTICE_INTERVAL_S:.0f} s notice interval)"
    med, high = statistics.median(latencies), p95(latencies)
    print(f"latency source change -> subscriber (regulator warning, n={len(latencies)}): median {med:.2f} s, "
          f"p95 {high:.2f} s, max {max(latencies):.2f} s; achieved notice cycle {cycle:.2f} s; goal {goal}")
    print(f"latency surge -> frenzy alert (1 sample): {frenzy:.2f} s" if frenzy is not None
          else f"latency surge -> frenzy alert: {missing}")
    rows = [
        {"figure": "run_latency_median", "value": round(med, 3), "unit": "s", "anchor": "notice_cycle",
         "anchor_value": round(cycle, 3), "ratio": round(med / cycle, 2), "goal": goal},
        {"figure": "run_latency_p95", "value": round(high, 3), "unit": "s", "anchor": "notice_cycle",
         "anchor_value": round(cycle, 3), "ratio": round(high / cycle, 2), "goal": goal},
    ]
    if frenzy is not None:
        rows.append({"figure": "run_frenzy_latency", "value": round(frenzy, 3), "unit": "s", "anchor": "notice_cycle",
                     "anchor_value": round(cycle, 3), "ratio": round(frenzy / cycle, 2), "goal": goal})
    return rows


def _cycle_gaps(lines: list[str], needle: str) -> list[float]:
    stamps = []
    for line in lines:
        if "event=collected" in line and needle in line:
            stamps.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return [b - a for a, b in zip(stamps, stamps[1:])]


def _serve_world(queue, stop) -> None:
    """Child process: the local sites, serving a surge page, market data and one notice, until stop is set."""
    now = datetime.now(SHANGHAI)
    world = World()
    world.serve_guba(surge_page(now))
    world.serve_market(now.date(), close=CALM_CLOSE * 1.08, amount=CALM_AMOUNT * 3, clist_scale=3.0)
    world.serve_notice(now)
    queue.put(world.env(Path("/nonexistent.db"), "http://127.0.0.1:9/bot", ""))
    stop.wait()
    world.close()


async def _cycles(env: dict, db: Path, cycles: int, every: int) -> tuple[list[tuple[int, float]], float]:
    from sentibot.run import jobs
    from sentibot.store import db as store
    from sentibot.config import load_settings
    from sentibot.run.jobs import CollectJob, Runtime
    from sentibot.run.schedule import Cadence
    from sentibot.collect.cycle import CollectContext, run_collection
    from sentibot.collect.http import PoliteClient

    settings = load_settings(dict(env, SENTIBOT_DB=str(db)), env_file=None)
    database = store.open_store(db)
    client = PoliteClient.from_settings(settings)
    rt = Runtime(settings=settings, db=database, client=client, clock=lambda: datetime.now(SHANGHAI))
    job = CollectJob("collect_bench", ("guba", "market", "notices"), Cadence(1, 1))
    marks, started = [], time.perf_counter()
    try:
        for n in range(1, cycles + 1):
            rt.last_run.pop(job.id, None)  # due at once: no waiting between cycles
            if n % every:
                await run_collection(list(job.sources), CollectContext(client, database, settings, rt.clock()))
            else:
                await jobs.run_collect_job(rt, job)  # the service's job: collection, then rescore
            if n == 100 or n % 1000 == 0 or n == cycles:
                marks.append((n, rss_mb()))
    finally:
        await client.aclose()
        database.close()
    return marks, time.perf_counter() - started


def bench_memory(cycles: int, every: int = 10) -> list[dict]:
    import logging

    logging.basicConfig(level=logging.ERROR)  # the loop's per-cycle log lines are not what is measured
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve_world, args=(queue, stop), daemon=True)
    server.start()
    try:
        env = queue.get(timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "sentibot.db"
            preload_calm_history(db, datetime.now(SHANGHAI).date())
            marks, took = asyncio.run(_cycles(env, db, cycles, every))
    finally:
        stop.set()
        server.join(timeout=10)
    start = dict(marks)[min(100, cycles)]
    end = marks[-1][1]
    half = [mb for n, mb in marks if n >= cycles // 2]
    growth = (half[-1] - half[0]) if len(half) > 1 else 0.0
    print(f"memory over {cycles} collection cycles (guba+market+notices, rescore every {every}th), "
          f"{took:.0f} s, {took / cycles * 1000:.1f} ms/cycle: RSS start {start:.1f} MB (after 100 cycles), "
          f"end {end:.1f} MB, growth over the second half {growth:+.1f} MB")
    print("RSS by cycle: " + ", ".join(f"{n}: {mb:.1f}" for n, mb in marks))
    goal = "bounded: end within 10% of start, no growth over the second half"
    return [
        {"figure": "run_rss_end", "value": round(end, 1), "unit": "MB", "anchor": "run_rss_start",
         "anchor_value": round(start, 1), "ratio": round(end / start, 3), "goal": goal},
        {"figure": "run_rss_growth_second_half", "value": round(growth, 1), "unit": "MB", "anchor": "run_rss_start",
         "anchor_value": round(start, 1), "ratio": round(growth / start, 4), "goal": goal},
        {"figure": "run_cycle_time", "value": round(took / cycles * 1000, 2), "unit": "ms", "anchor": "cycles",
         "anchor_value": cycles, "ratio": None, "goal": "informational"},
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20, help="latency samples (default 20)")
    parser.add_argument("--cycles", type=int, default=10000, help="collection cycles for memory (default 10000)")
    args = parser.parse_args(argv)
    return bench_latency(args.samples) + bench_memory(args.cycles)


if __name__ == "__main__":
    main()
