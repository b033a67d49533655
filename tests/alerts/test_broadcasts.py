"""Admin broadcasts are stored, settled once per recipient, and resumed after a restart (never re-sent)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from telegram import Bot

from tests.support.fake_telegram import TOKEN, FakeTelegram
from sentibot.alerts import broadcasts
from sentibot.alerts.outbox import NO_LIMITS, Sender, SenderConfig
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PTB's own RetryAfter.__init__ warns
NOW = datetime(2023, 11, 27, 20, 0, tzinfo=SHANGHAI)
CHATS = (2001, 2002, 2003, 2004, 2005)


@pytest.fixture
def db(tmp_path):
    db = open_store(tmp_path / "b.db")
    db["subscribers"].insert_all({"chat_id": c, "user_id": c, "chat_type": "private", "min_level": "hot", "active": 1}
                                 for c in CHATS)
    return db


def statuses(db, broadcast_id: int = 1) -> dict[int, str]:
    return {r["chat_id"]: r["status"] for r in db.query(
        "select chat_id, status from broadcast_deliveries where broadcast_id = ?", [broadcast_id])}


def run_sender(db, scenario):
    async def main():
        async with FakeTelegram() as fake:
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                sender = Sender(bot, db, SenderConfig(limits=NO_LIMITS), clock=lambda: NOW)
                try:
                    await scenario(sender, fake)
                finally:
                    await sender.stop()
    asyncio.run(main())


def test_a_broadcast_is_stored_before_anything_is_sent(db):
    broadcast_id = broadcasts.create(db, "📣 hello", 42, CHATS, NOW)
    assert db["broadcasts"].get(broadcast_id) == {"id": broadcast_id, "text": "📣 hello", "admin_id": 42,
                                                  "created_at": "2023-11-27T20:00:00+08:00", "finished_at": None}
    assert statuses(db, broadcast_id) == dict.fromkeys(CHATS, "pending")
    assert broadcasts.unfinished(db) == [broadcast_id]


def test_a_restart_resumes_the_pending_recipients_and_never_resends_one_cut_off_mid_request(db):
    broadcasts.create(db, "📣 hello", 42, CHATS, NOW - timedelta(minutes=5))
    stale = (NOW - timedelta(minutes=5)).isoformat()
    db.execute("update broadcast_deliveries set status = 'sent' where chat_id = 2001")  # before the crash
    db.execute("update broadcast_deliveries set status = 'sending', updated_at = ? where chat_id = 2002", [stale])
    db["subscribers"].update(2005, {"active": 0})  # unsubscribed while the bot was down

    async def scenario(sender, fake):
        await sender.tick()  # what the JobQueue does after a restart
        await asyncio.wait_for(asyncio.gather(*sender._broadcast_tasks), 10)
        assert sorted(c.chat_id for c in fake.calls if c.method == "sendMessage") == [2003, 2004]

    run_sender(db, scenario)
    assert statuses(db) == {2001: "sent", 2002: "unknown", 2003: "sent", 2004: "sent", 2005: "cancelled"}
    assert db["broadcasts"].get(1)["finished_at"] == NOW.isoformat(timespec="seconds")
    assert broadcasts.unfinished(db) == []


def test_a_recent_sending_row_may_belong_to_a_live_process_and_is_left_alone(db):
    broadcasts.create(db, "📣 hello", 42, CHATS[:2], NOW)
    db.execute("update broadcast_deliveries set status = 'sent' where chat_id = 2001")
    db.execute("update broadcast_deliveries set status = 'sending' where chat_id = 2002")  # updated just now

    async def scenario(sender, fake):
        await sender.tick()
        await asyncio.sleep(0.1)
        assert not sender._broadcast_tasks and not [c for c in fake.calls if c.method == "sendMessage"]

    run_sender(db, scenario)
    assert statuses(db) == {2001: "sent", 2002: "sending"} and broadcasts.unfinished(db) == [1]
    broadcasts.settle_interrupted(db, 1, NOW + timedelta(seconds=61), stale_s=60)  # a minute later: stale
    assert broadcasts.finish_if_settled(db, 1, NOW + timedelta(seconds=61))
    assert statuses(db) == {2001: "sent", 2002: "unknown"}


def test_a_broadcast_being_sent_by_this_process_is_not_resumed_twice(db):
    async def scenario(sender, fake):
        broadcast_id = sender.start_broadcast("📣 hello", 42, list(CHATS))
        await sender.tick()  # a tick between the command's store and its send must not start a second sender
        assert not sender._broadcast_tasks
        stats = await sender.send_broadcast(broadcast_id)
        assert stats.counts == {"sent": 5}
        assert sorted(c.chat_id for c in fake.calls if c.method == "sendMessage") == list(CHATS)

    run_sender(db, scenario)
    assert broadcasts.unfinished(db) == []


def test_stopping_leaves_the_rest_pending_for_the_next_run(db):
    async def scenario(sender, fake):
        broadcast_id = sender.start_broadcast("📣 hello", 42, list(CHATS))
        sent = []

        async def send_one(chat_id, text):
            sent.append(chat_id)
            if len(sent) == 2:
                sender._stopping = True  # a SIGTERM arrives while the second message is in flight
            return "sent"

        done = await broadcasts.send(db, broadcast_id, send_one, lambda: NOW, lambda: sender._stopping)
        assert done == {"sent": 2}

    run_sender(db, scenario)
    assert list(statuses(db).values()).count("pending") == 3 and broadcasts.unfinished(db) == [1]


def test_a_broadcast_with_no_subscribers_is_stored_and_finished_at_once(db):
    db.execute("update subscribers set active = 0")

    async def scenario(sender, fake):
        broadcast_id = sender.start_broadcast("📣 hello", 42, [])
        assert (await sender.send_broadcast(broadcast_id)).counts == {}
        assert not [c for c in fake.calls if c.method == "sendMessage"]

    run_sender(db, scenario)
    assert db["broadcasts"].count == 1 and broadcasts.unfinished(db) == [] and statuses(db) == {}


def test_a_group_that_became_a_supergroup_during_a_broadcast_is_moved_not_crashed(db):
    from tests.support.fake_telegram import migrated_id

    db["subscribers"].insert({"chat_id": -42, "user_id": 1, "chat_type": "group", "min_level": "hot", "active": 1})

    async def scenario(sender, fake):
        fake.fault_rule = lambda m, p: "migrate" if m == "sendMessage" and int(p["chat_id"]) == -42 else None
        broadcast_id = sender.start_broadcast("📣 hello", 42, [-42, *CHATS])
        assert (await sender.send_broadcast(broadcast_id)).counts == {"failed": 1, "sent": 5}

    run_sender(db, scenario)
    assert statuses(db)[-42] == "failed" and broadcasts.unfinished(db) == []
    assert db["subscribers"].get(migrated_id(-42))["active"] == 1  # the next alert or broadcast reaches it
