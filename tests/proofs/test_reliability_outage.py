"""A Bot API outage of minutes with alerts queued: 0 lost, 0 duplicated, and the log says it once each way.

`sentibot bot`'s serve (the one bot lifecycle, shared with `sentibot run`) runs against the fake Bot API on a fixed
port. The first alerts are delivered; then the API goes away (nothing listens on the port) for OUTAGE_S while more
alerts are queued, and comes back on the same port. Every (chat, alert) must arrive exactly once, every delivery
row must end 'sent', and the log must hold one event=telegram_unreachable and one event=telegram_reachable line.
SENTIBOT_PROOF_SCALE=1 runs a 3-minute outage; CI runs 20 s (the sender is paused and a send that never reached
Telegram does not use up its attempts, so the outage's length changes nothing but the wait).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

import pytest

from sentibot.bot.application import serve
from sentibot.config import load_settings
from sentibot.models import Alert, AlertKind
from sentibot.store import subscriptions
from sentibot.store.db import add_alert, open_store
from sentibot.timeutil import now_iso
from tests.support.proof_scale import scaled
from tests.run.test_bot_link import free_port, until
from tests.support.fake_telegram import TOKEN, FakeTelegram

OUTAGE_S = scaled(180, 20)
CHATS = list(range(7001, 7031))
BEFORE, DURING = 5, 10  # alerts delivered before the outage, alerts queued during it


def queue(db, n: int) -> None:
    add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=now_iso(), title=f"监管提示 #{n}",
                        dedupe_key=f"outage-{n}"), now_iso())


def pending(db) -> int:
    return next(db.query("select count(*) as n from deliveries where status != 'sent'"))["n"]


@pytest.mark.slow
def test_an_outage_of_minutes_with_alerts_queued_loses_and_duplicates_nothing(tmp_path, caplog):
    port = free_port()
    db = open_store(tmp_path / "outage.db")
    for chat in CHATS:
        subscriptions.subscribe(db, chat, chat, "private", None, "hot", now_iso())
    settings = load_settings({"SENTIBOT_TELEGRAM_TOKEN": TOKEN, "SENTIBOT_TELEGRAM_API_URL":
                              f"http://127.0.0.1:{port}/bot", "SENTIBOT_SENDER_INTERVAL_S": "0.2",
                              "SENTIBOT_POLLING_WATCHDOG_S": "2"}, env_file=None)
    sent = []

    async def scenario():
        stop = asyncio.Event()
        async with FakeTelegram(port=port) as fake:
            task = asyncio.create_task(serve(settings, db, stop=stop, poll_timeout_s=0.5))
            for n in range(BEFORE):
                queue(db, n)
            await until(lambda: pending(db) == 0 or task.done(), timeout=60, what="the first alerts")
            sent.extend(fake.sent)
        outage_end = time.monotonic() + OUTAGE_S  # nothing listens on the port now
        n = BEFORE
        while time.monotonic() < outage_end:
            if n < BEFORE + DURING:
                queue(db, n)
                n += 1
            await asyncio.sleep(min(1.0, OUTAGE_S / (DURING + 1)))
        assert not task.done(), "the bot gave up during the outage"
        assert pending(db) == DURING * len(CHATS)
        async with FakeTelegram(port=port) as fake:  # back on the same address
            await until(lambda: pending(db) == 0, timeout=90, what="the queued alerts after the outage")
            await asyncio.sleep(1.0)  # a duplicate would arrive by now
            sent.extend(fake.sent)
            stop.set()
            await asyncio.wait_for(task, 20)

    with caplog.at_level(logging.INFO, logger="sentibot"):
        asyncio.run(scenario())
    alerts = [s for s in sent if "监管提示" in s.text]
    per = Counter((s.chat_id, s.text) for s in alerts)
    assert len(per) == (BEFORE + DURING) * len(CHATS), "lost"
    assert set(per.values()) == {1}, [k for k, v in per.items() if v > 1][:3]
    assert {r["status"] for r in db.query("select status from deliveries")} == {"sent"}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("event=telegram_unreachable" in m for m in messages) == 1
    assert sum("event=telegram_reachable" in m for m in messages) == 1
    print(f"\noutage {OUTAGE_S} s: {len(alerts)} alert messages to {len(CHATS)} chats, 0 lost, 0 duplicated; "
          f"{len(messages)} log lines at INFO and above")
