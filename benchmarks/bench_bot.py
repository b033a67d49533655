"""Bot benchmarks against the fake Bot API on loopback: outbox throughput at Telegram's limits, the machinery's
ceiling with the limiter off against plain PTB send_message, and /heat latency with 50 concurrent chats.

    python benchmarks/bench_bot.py            # full run (~2 min: the at-limits fan-out alone takes ~70 s)
    python benchmarks/bench_bot.py --quick    # skips the at-limits fan-out
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from fake_telegram import TOKEN, FakeTelegram  # noqa: E402
from sentibot.bot import build_application, serve  # noqa: E402
from sentibot.config import load_settings  # noqa: E402
from sentibot.delivery import NO_LIMITS, Limits, Sender, SenderConfig  # noqa: E402
from sentibot.models import Alert, AlertKind  # noqa: E402
from sentibot.store import add_alert, open_store, save_scores  # noqa: E402

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


async def fan_out(tmp: Path, subscribers: int, limits: Limits) -> tuple[float, float]:
    """(messages/s sustained by the fake's timestamps, wall seconds) for one alert to `subscribers` chats."""
    db = outbox_db(tmp / f"fan-{limits.overall_per_s}-{subscribers}.db", subscribers)
    async with FakeTelegram() as fake:
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


async def heat_latency(tmp: Path, chats: int = 50, rounds: int = 10) -> tuple[float, float, float]:
    """(p50, p95, single send round trip) in ms from an update being available to the /heat reply being accepted."""
    db = open_store(tmp / "heat.db")
    save_scores(db, [{"date": f"2023-11-{d:02d}", "score": 50.0 + d, "level": "hot",
                      "components": {"close": 1400.0, "turnover_ratio": 2.5, "rsi": 70,
                                     "attention": {"guba": {"ratio": 3.0, "z": 2.0}},
                                     "lead_lag": {"lag": 2, "corr": 0.6}}} for d in range(1, 28)], NOW)
    latencies: list[float] = []
    async with FakeTelegram() as fake:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings(fake), db, stop=stop, poll_timeout_s=10))
        while not any(c.method == "getUpdates" for c in fake.calls):
            await asyncio.sleep(0.01)
        for r in range(rounds):
            base = 100_000 * (r + 1)
            injected = {base + i: (fake.inject("/heat", user_id=base + i), time.monotonic())[1] for i in range(chats)}
            while len([s for s in fake.sent if s.chat_id in injected]) < chats:
                await asyncio.sleep(0.001)
            latencies += [(s.ts - injected[s.chat_id]) * 1000 for s in fake.sent if s.chat_id in injected]
            await asyncio.sleep(0.2)
        rtt = []
        for i in range(50):
            start = time.monotonic()
            await fake_bot_send(fake)
            rtt.append((time.monotonic() - start) * 1000)
        stop.set()
        await task
    q = statistics.quantiles(latencies, n=100)
    return statistics.median(latencies), q[94], statistics.median(rtt)


async def fake_bot_send(fake: FakeTelegram, _cache: dict = {}) -> None:
    if "bot" not in _cache:
        _cache["bot"] = Bot(TOKEN, base_url=fake.base_url)
        await _cache["bot"].initialize()
    await _cache["bot"].send_message(1, "ping")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the ~70 s fan-out at Telegram's limits")
    parser.add_argument("--subscribers", type=int, default=2000)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        anchor = max(asyncio.run(plain_ptb(args.subscribers)) for _ in range(2))
        ceiling = max(asyncio.run(fan_out(tmp / str(i), args.subscribers, NO_LIMITS))[0] for i in range(2))
        results.append({"figure": "outbox ceiling, limiter off", "value": round(ceiling), "unit": "msg/s",
                        "anchor": "plain PTB send_message, same concurrency", "anchor_value": round(anchor),
                        "ratio": round(ceiling / anchor, 3), "goal": ">= 0.75"})
        p50, p95, rtt = asyncio.run(heat_latency(tmp))
        results.append({"figure": "/heat p95 latency, 50 concurrent chats", "value": round(p95, 1), "unit": "ms",
                        "anchor": "one sendMessage round trip (median)", "anchor_value": round(rtt, 2),
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
