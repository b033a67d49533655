"""m010_one_outbox: alert deliveries and broadcast recipients move into one deliveries table, nothing lost."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta

import pytest
from sqlite_utils import Database
from telegram import Bot

from sentibot.alerts import broadcasts
from sentibot.alerts.outbox import NO_LIMITS, SenderConfig, drain_outbox
from sentibot.models import DeliveryStatus
from sentibot.store.db import open_store
from sentibot.store.schema import migrations
from sentibot.timeutil import SHANGHAI
from tests.support.fake_telegram import TOKEN, FakeTelegram

NOW = datetime(2023, 11, 27, 20, 0, tzinfo=SHANGHAI)
EARLIER = (NOW - timedelta(minutes=10)).isoformat(timespec="seconds")
CHATS = (3001, 3002, 3003, 3004, 3005, 3006)
ALERT_ROWS = {  # (alert_id, chat_id) -> (status, attempts, last_error, message_id)
    (1, 3001): ("sent", 1, None, 11), (1, 3002): ("unknown", 1, "timed out", None),
    (1, 3003): ("blocked", 1, "Forbidden", None), (2, 3001): ("pending", 2, "500", None),
    (2, 3004): ("failed", 8, "gave up", None), (2, 3005): ("cancelled", 0, "unsubscribed", None),
}
# a broadcast cut short by a crash: two sent, one in flight at the crash, three still pending
BROADCAST_ROWS = {3001: "sent", 3002: "sent", 3003: "sending", 3004: "pending", 3005: "pending", 3006: "pending"}


def build_m009(path) -> None:
    """A database as sentibot left it at m009: alert deliveries and a half-sent broadcast in the old tables."""
    db = Database(sqlite3.connect(str(path), isolation_level=None))
    migrations.apply(db, stop_before="m010_one_outbox")
    db["subscribers"].insert_all({"chat_id": c, "user_id": c, "chat_type": "private", "min_level": "hot",
                                  "active": 1} for c in CHATS)
    for n in (1, 2):
        db["alerts"].insert({"id": n, "kind": "regulator_warning", "ts": EARLIER, "level": "", "title": f"警示 {n}",
                             "reasons": "[]", "dedupe_key": f"k{n}", "audience": "subscribers",
                             "created_at": EARLIER})
    db["deliveries"].insert_all(
        {"alert_id": a, "chat_id": c, "status": s, "attempts": n, "next_attempt_at": EARLIER, "last_error": e,
         "message_id": m, "sent_at": EARLIER if s == "sent" else None, "updated_at": EARLIER}
        for (a, c), (s, n, e, m) in ALERT_ROWS.items())
    db["broadcasts"].insert({"id": 1, "text": "📣 hello", "admin_id": 42, "created_at": EARLIER, "finished_at": None})
    db["broadcast_deliveries"].insert_all({"broadcast_id": 1, "chat_id": c, "status": s, "updated_at": EARLIER}
                                          for c, s in BROADCAST_ROWS.items())
    db.conn.close()


def test_every_row_and_status_survives_and_the_old_table_is_gone(tmp_path):
    build_m009(tmp_path / "old.db")
    db = open_store(tmp_path / "old.db")
    assert "broadcast_deliveries" not in db.table_names()
    alerts = {(r["alert_id"], r["chat_id"]): (r["status"], r["attempts"], r["last_error"], r["message_id"])
              for r in db.query("select * from deliveries where alert_id is not null")}
    assert alerts == ALERT_ROWS
    assert {r["chat_id"]: r["status"] for r in db.query(
        "select * from deliveries where broadcast_id = 1")} == BROADCAST_ROWS
    assert db["broadcasts"].get(1)["text"] == "📣 hello" and broadcasts.unfinished(db) == [1]
    assert {r["status"] for r in db["deliveries"].rows} <= set(DeliveryStatus)


def test_a_row_names_exactly_one_alert_or_broadcast_and_one_per_chat(tmp_path):
    build_m009(tmp_path / "old.db")
    db = open_store(tmp_path / "old.db")
    for row in ({"alert_id": 1, "broadcast_id": 1}, {"alert_id": None, "broadcast_id": None}):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            db["deliveries"].insert(dict(row, chat_id=3006, status="pending"))
    for row in ({"alert_id": 1, "chat_id": 3001}, {"broadcast_id": 1, "chat_id": 3001}):
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            db["deliveries"].insert(dict(row, status="pending"))
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        db["deliveries"].insert({"broadcast_id": 99, "chat_id": 3001, "status": "pending"})


@pytest.mark.slow
def test_the_drain_then_finishes_the_broadcast_exactly_once_per_chat(tmp_path):
    build_m009(tmp_path / "old.db")
    db = open_store(tmp_path / "old.db")

    async def main():
        async with FakeTelegram() as fake:
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                stats = await drain_outbox(bot, db, lambda: NOW, config=SenderConfig(limits=NO_LIMITS),
                                           wait_retries=True)
            return fake, stats

    fake, stats = asyncio.run(main())
    received = sorted((s.chat_id, s.text) for s in fake.sent)
    # the pending broadcast recipients get it once; the alert row waiting to retry after its 500 goes out once too
    broadcast_received = sorted(c for c, t in received if t == "📣 hello")
    assert broadcast_received == [3004, 3005, 3006]
    assert [c for c, t in received if t != "📣 hello"] == [3001]  # alert 2's pending row; nothing else re-sent
    assert {r["chat_id"]: r["status"] for r in db.query("select * from deliveries where broadcast_id = 1")} == {
        3001: "sent", 3002: "sent", 3003: "unknown", 3004: "sent", 3005: "sent", 3006: "sent"}  # 3003: never re-sent
    assert broadcasts.unfinished(db) == [] and stats["sent"] == 4
