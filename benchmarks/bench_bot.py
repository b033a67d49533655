"""Bot benchmarks against the fake Bot API on loopback: outbox throughput at Telegram's limits, the machinery's
ceiling with the limiter off against plain PTB send_message, and /heat latency with 50 concurrent chats (the bot in
its own process, as in production; one row also with bot and fake sharing a loop, the earlier method).

    python benchmarks/bench_bot.py            # full run (~2 min: the at-limits fan-out alone takes ~70 s)
    python benchmarks/bench_bot.py --quick    # skips the at-limits fan-out
    python benchmarks/bench_bot.py --pools 16 8 4   # only: the bot's connection pool sizes side by side
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

import sentibot.bot.application  # noqa: E402
from tests.support.fake_telegram import TOKEN, FakeTelegram  # noqa: E402
from sentibot.bot.application import build_application, serve  # noqa: E402
from sentibot.config import load_settings  # noqa: E402
from sentibot.alerts.outbox import NO_LIMITS, Limits, Sender, SenderConfig  # noqa: E402
from sentibot.models import Alert, AlertKind  # noqa: E402
from sentibot.store.db import add_alert, open_store, save_scores  # noqa: E402

NOW = "2023-11-27T20:00:00+08:00"
CONCURRENCY = 8  # httpx over loopback peaks at 4-8 connections (DESIGN.md)


def settings(fake: FakeTelegram):
    return load_settings({"SENTIBOT_TELEGRAM_TOKEN": TOKEN, "SENTIBOT_TELEGRAM_API_URL": fake.base_url,
                          "SENTIBOT_SENDER_INTERVAL_S": "3600"}, env_file=None)


def outbox_db(path: Path, subscribers: int):
    db = open_store(path)
    db["subscribers"].insert_all(({"chat_id": 10_000 + i, "user_id": 10_000 + i, "chat_type": "private",
                                   "min_level": "hot", "active": 1} for i in range(subscribers)), batch_size=500)
    add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=NOW, title="北交所 监管警示", reasons=("source: bse.cn",),
                        dedupe_key="regulator_warning:bench"), NOW)
    return db


async def fan_out(tmp: Path, subscribers: int, limits: Limits, pool: int | None = None) -> tuple[float, float]:
    """(messages/s sustained by the fake's timestamps, wall seconds) for one alert to `subscribers` chats."""
    db = outbox_db(tmp / f"fan-{limits.overall_per_s}-{subscribers}.db", subscribers)
    async with FakeTelegram() as fake:
        with pool_size(pool):
            app = build_application(settings(fake), db, limits=limits)
        async with app:
            sender = Sender(app.bot, db, SenderConfig(limits=limits, concurrency=CONCURRENCY))
            start = time.monotonic()
            stats = await sender.drain(wait_retries=True)
            wall = time.monotonic() - start
        assert stats["sent"] == subscribers, stats.counts
        ts = sorted(s.ts for s in fake.sent)
        return (len(ts) - 1) / (ts[-1] - ts[0]), wall


async def plain_ptb(n: int) -> float:
    """The anchor: plain PTB Bot.send_message, CONCURRENCY in flight, same request settings, no database."""
    async with FakeTelegram() as fake:
        request = HTTPXRequest(connection_pool_size=256)
        async with Bot(TOKEN, base_url=fake.base_url, request=request) as bot:
            slots = asyncio.Semaphore(CONCURRENCY)

            async def one(i: int) -> None:
                async with slots:
                    await bot.send_message(10_000 + i, "北交所 <b>监管警示</b>", parse_mode="HTML")

            start = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(n)))
            return n / (time.monotonic() - start)


# the bot under test in its own process, as in production: the fake Bot API's work stays in this process
_BOT_PROCESS = """
import asyncio, sys
import sentibot.bot.application
sentibot.bot.application.CONNECTION_POOL = int(sys.argv[5])
from sentibot.bot.application import serve
from sentibot.config import load_settings
from sentibot.alerts.outbox import NO_LIMITS, Limits
from sentibot.store.db import open_store
token, url, path, limited = sys.argv[1:5]
settings = load_settings({"SENTIBOT_TELEGRAM_TOKEN": token, "SENTIBOT_TELEGRAM_API_URL": url,
                          "SENTIBOT_SENDER_INTERVAL_S": "3600"}, env_file=None)
asyncio.run(serve(settings, open_store(path), limits=Limits() if limited == "1" else NO_LIMITS, poll_timeout_s=10))
"""


@contextlib.contextmanager
def pool_size(connections: int | None):
    """Run build_application with this Bot API connection pool (None: sentibot's own, bot.CONNECTION_POOL)."""
    default = sentibot.bot.application.CONNECTION_POOL
    sentibot.bot.application.CONNECTION_POOL = connections or default
    try:
        yield sentibot.bot.application.CONNECTION_POOL
    finally:
        sentibot.bot.application.CONNECTION_POOL = default


async def heat_latency(tmp: Path, limits: Limits, burst: bool, period: float = 1.0, chats: int = 50, rounds: int = 6,
                       own_process: bool = True, pool: int | None = None):
    """(p50, p95, one sendMessage round trip) in ms from an update being available to the /heat reply accepted.

    burst: every round all chats send /heat at the same instant (2 s apart); steady: each chat sends /heat once per
    period at its own random offset (50 chats, period 1 s = 50 requests/s). own_process: the bot runs in a
    subprocess (as in production, where Telegram is another machine); otherwise on this process's loop, sharing
    the CPU with the fake. pool: the bot's connection pool (default: sentibot's own)."""
    db_path = tmp / f"heat-{limits.overall_per_s}-{burst}.db"
    db = open_store(db_path)
    save_scores(db, [{"date": f"2023-11-{d:02d}", "score": 50.0 + d, "level": "hot",
                      "components": {"close": 1400.0, "turnover_ratio": 2.5, "rsi": 70,
                                     "attention": {"guba": {"ratio": 3.0, "z": 2.0}},
                                     "lead_lag": {"lag": 2, "corr": 0.6}}} for d in range(1, 28)], NOW)
    asked: dict[int, list[float]] = {100_000 + i: [] for i in range(chats)}
    rng = random.Random(1)
    async with FakeTelegram() as fake:
        stop = asyncio.Event()
        with pool_size(pool) as connections:
            if own_process:
                limited = "1" if limits.overall_per_s else "0"
                process = await asyncio.create_subprocess_exec(sys.executable, "-c", _BOT_PROCESS, TOKEN,
                                                               fake.base_url, str(db_path), limited, str(connections))
            else:  # serve() builds its Application now, inside pool_size
                task = asyncio.create_task(serve(settings(fake), db, limits=limits, stop=stop, poll_timeout_s=10))
                await asyncio.sleep(0)
        try:
            while not any(c.method == "getUpdates" for c in fake.calls):
                if own_process and process.returncode is not None:
                    raise RuntimeError(f"the bot process exited with status {process.returncode} before polling")
                await asyncio.sleep(0.01)
            fake.inject("/heat", user_id=99)  # warm-up: the first reply opens connections
            await asyncio.sleep(0.5)
            if burst:
                for _ in range(rounds):
                    for chat in asked:
                        fake.inject("/heat", user_id=chat)
                        asked[chat].append(time.monotonic())
                    await asyncio.sleep(2.0)  # lets the limiter's bucket refill between rounds
            else:
                plan = sorted(((k + rng.random()) * period, chat) for chat in asked for k in range(rounds))
                start = time.monotonic()
                for at, chat in plan:
                    await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                    fake.inject("/heat", user_id=chat)
                    asked[chat].append(time.monotonic())
            deadline = time.monotonic() + 30
            while sum(len(fake.sent_to(c)) for c in asked) < chats * rounds and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            latencies = [(s.ts - t) * 1000 for chat, times in asked.items()
                         for s, t in zip(fake.sent_to(chat), times)]
            assert len(latencies) == chats * rounds, "some /heat got no reply"
            rtt = []
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                for _ in range(50):
                    start = time.monotonic()
                    await bot.send_message(1, "ping")
                    rtt.append((time.monotonic() - start) * 1000)
        finally:  # never leave a bot process polling behind
            if own_process:
                process.terminate()  # SIGTERM: serve() stops polling and exits
                await process.wait()
            else:
                stop.set()
                await task
    q = statistics.quantiles(latencies, n=100)
    return statistics.median(latencies), q[94], statistics.median(rtt)


def compare_pools(pools: list[int], rounds: int = 3, subscribers: int = 2000) -> list[dict]:
    """The bot's connection pool sizes side by side, interleaved over rounds (medians): the burst of 50 /heat with
    bot and fake on one loop (p95) and with the bot in its own process (p50, p95), and the outbox ceiling."""
    runs: dict[tuple[int, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for pool in pools:
                d = Path(tmp) / f"{pool}-{r}"
                d.mkdir()
                _, p95, _ = asyncio.run(heat_latency(d, NO_LIMITS, True, 0, rounds=3, own_process=False, pool=pool))
                p50_own, p95_own, _ = asyncio.run(heat_latency(d, NO_LIMITS, True, 0, rounds=3, pool=pool))
                rate, _ = asyncio.run(fan_out(d, subscribers, NO_LIMITS, pool=pool))
                for key, value in (("one loop p95", p95), ("own process p50", p50_own),
                                   ("own process p95", p95_own), ("outbox ceiling", rate)):
                    runs.setdefault((pool, key), []).append(value)
    rows = []
    for (pool, key), values in runs.items():
        unit = "msg/s" if key == "outbox ceiling" else "ms"
        rows.append({"figure": f"pool {pool}: {key}", "value": round(statistics.median(values), 1), "unit": unit,
                     "anchor": "-", "anchor_value": None, "ratio": None, "goal": "comparison",
                     "rounds": [round(v, 1) for v in values]})
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the ~70 s fan-out at Telegram's limits")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--pools", type=int, nargs="+", metavar="N",
                        help="only compare these Bot API connection pool sizes (e.g. --pools 16 8 4)")
    args = parser.parse_args(argv)
    if args.pools:
        results = compare_pools(args.pools, subscribers=args.subscribers)
        for r in results:
            print(f"{r['figure']}: {r['value']} {r['unit']} (rounds {r['rounds']})")
        return results
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        anchors, ceilings = [], []
        for i in range(3):  # interleaved, best of 3 each: the machine is shared
            anchors.append(asyncio.run(plain_ptb(args.subscribers)))
            ceilings.append(asyncio.run(fan_out(tmp / str(i), args.subscribers, NO_LIMITS))[0])
        anchor, ceiling = max(anchors), max(ceilings)
        results.append({"figure": "outbox ceiling, limiter off", "value": round(ceiling), "unit": "msg/s",
                        "anchor": "plain PTB send_message, same concurrency", "anchor_value": round(anchor),
                        "ratio": round(ceiling / anchor, 3), "goal": ">= 0.75"})
        for name, limits, burst, period, own in (
                ("each once a second (50/s), limiter off", NO_LIMITS, False, 1.0, True),
                ("each once every 2 s (25/s), limiter at 30 msg/s", Limits(), False, 2.0, True),
                ("all 50 at the same instant, limiter off", NO_LIMITS, True, 0, True),
                ("all 50 at the same instant, limiter at 30 msg/s", Limits(), True, 0, True),
                ("all 50 at the same instant, limiter off, bot and fake on one loop", NO_LIMITS, True, 0, False)):
            p50, p95, rtt = asyncio.run(heat_latency(tmp, limits, burst, period, own_process=own))
            results.append({"figure": f"/heat p95 latency, 50 chats, {name}", "value": round(p95, 1),
                            "unit": "ms", "anchor": "one sendMessage round trip (median)", "anchor_value": round(rtt, 2),
                            "ratio": round(p95 / rtt, 1), "goal": "< 50 ms", "p50": round(p50, 1)})
        if not args.quick:
            rate, wall = asyncio.run(fan_out(tmp, args.subscribers, Limits()))
            results.append({"figure": f"outbox fan-out at Telegram's limits, {args.subscribers} subscribers",
                            "value": round(rate, 2), "unit": "msg/s", "anchor": "Telegram's limit",
                            "anchor_value": 30, "ratio": round(rate / 30, 3), "goal": ">= 0.95",
                            "wall_s": round(wall, 1)})
    for r in results:
        print(f"{r['figure']}: {r['value']} {r['unit']} (anchor {r['anchor']}: {r['anchor_value']}; "
              f"ratio {r['ratio']}; goal {r['goal']})")
    return results


if __name__ == "__main__":
    main()
