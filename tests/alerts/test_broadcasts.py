"""Admin broadcasts are stored, sent by the one outbox drain once per recipient, and resumed after a restart."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from telegram import Bot

from tests.support.fake_telegram import TOKEN, FakeTelegram
from sentibot.alerts import broadcasts
from sentibot.alerts.outbox import NO_LIMITS, Sender, SenderConfig
from sentibot.models import Alert, AlertKind, DeliveryStatus as S
from sentibot.store.db import add_alert, open_store
from sentibot.store.subscriptions import KINDS, set_kind, set_quiet, unsubscribe
from sentibot.timeutil import SHANGHAI

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PTB's own RetryAfter.__init__ warns
NOW = datetime(2023, 11, 27, 20, 0, tzinfo=SHANGHAI)
CHATS = (2001, 2002, 2003, 2004, 2005)
UNLIMITED = SenderConfig(limits=NO_LIMITS)


@pytest.fixture
def db(tmp_path):
    db = open_store(tmp_path / "b.db")
    db["subscribers"].insert_all({"chat_id": c, "user_id": c, "chat_type": "private", "min_level": "hot", "active": 1}
                                 for c in CHATS)
    return db


def statuses(db, broadcast_id: int = 1) -> dict[int, str]:
    return {r["chat_id"]: r["status"] for r in db.query(
        "select chat_id, status from deliveries where broadcast_id = ?", [broadcast_id])}


def sends(fake) -> list[int]:
    return sorted(c.chat_id for c in fake.calls if c.method == "sendMessage")


def run_sender(db, scenario, config: SenderConfig = UNLIMITED, clock=lambda: NOW):
    async def main():
        async with FakeTelegram() as fake:
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                sender = Sender(bot, db, config, clock=clock)
                try:
                    await scenario(sender, fake)
                finally:
                    await sender.stop()
    asyncio.run(main())


def test_a_broadcast_is_stored_before_anything_is_sent(db):
    broadcast_id = broadcasts.create(db, "📣 hello", 42, CHATS, NOW)
    assert db["broadcasts"].get(broadcast_id) == {"id": broadcast_id, "text": "📣 hello", "admin_id": 42,
                                                  "created_at": "2023-11-27T20:00:00+08:00", "finished_at": None}
    assert statuses(db, broadcast_id) == dict.fromkeys(CHATS, S.PENDING)
    assert broadcasts.unfinished(db) == [broadcast_id]
    assert db["deliveries"].count_where("alert_id is not null") == 0  # one outbox, rows naming the broadcast


def test_a_restart_resumes_the_pending_recipients_and_never_resends_one_cut_off_mid_request(db):
    broadcasts.create(db, "📣 hello", 42, CHATS, NOW - timedelta(minutes=5))
    stale = (NOW - timedelta(minutes=5)).isoformat()
    db.execute("update deliveries set status = 'sent' where chat_id = 2001")  # before the crash
    db.execute("update deliveries set status = 'sending', updated_at = ? where chat_id = 2002", [stale])
    db["subscribers"].update(2005, {"active": 0})  # unsubscribed while the bot was down

    async def scenario(sender, fake):
        await sender.tick()  # what the JobQueue does after a restart
        await asyncio.wait_for(sender._task, 10)
        assert sends(fake) == [2003, 2004]

    run_sender(db, scenario)
    assert statuses(db) == {2001: S.SENT, 2002: S.UNKNOWN, 2003: S.SENT, 2004: S.SENT, 2005: S.CANCELLED}
    assert db["broadcasts"].get(1)["finished_at"] == NOW.isoformat(timespec="seconds")
    assert broadcasts.unfinished(db) == []


def test_a_recent_sending_row_may_belong_to_a_live_process_and_is_left_alone(db):
    broadcasts.create(db, "📣 hello", 42, CHATS[:2], NOW)
    db.execute("update deliveries set status = 'sent' where chat_id = 2001")
    db.execute("update deliveries set status = 'sending' where chat_id = 2002")  # updated just now

    async def scenario(sender, fake):
        await sender.tick()
        await asyncio.wait_for(sender._task, 10)
        assert not sends(fake)

    run_sender(db, scenario)
    assert statuses(db) == {2001: S.SENT, 2002: S.SENDING} and broadcasts.unfinished(db) == [1]

    run_sender(db, lambda sender, fake: sender.drain(), clock=lambda: NOW + timedelta(seconds=61))  # now stale
    assert statuses(db) == {2001: S.SENT, 2002: S.UNKNOWN} and broadcasts.unfinished(db) == []


def test_ticks_during_a_broadcast_start_no_second_drain_and_nobody_gets_it_twice(db):
    async def scenario(sender, fake):
        broadcast_id = sender.start_broadcast("📣 hello", 42, list(CHATS))
        sending = asyncio.create_task(sender.send_broadcast(broadcast_id))
        for _ in range(5):  # the JobQueue keeps ticking while the command waits for its broadcast
            await sender.tick()
            await asyncio.sleep(0)
        assert await asyncio.wait_for(sending, 10) == {S.SENT: 5}
        assert sends(fake) == list(CHATS)

    run_sender(db, scenario)
    assert broadcasts.unfinished(db) == []


def test_stopping_leaves_the_rest_pending_for_the_next_run(db):
    async def scenario(sender, fake):
        broadcast_id = sender.start_broadcast("📣 hello", 42, list(CHATS))

        requests = []

        def sigterm_on_second(method, params):
            requests.append(method)
            if requests.count("sendMessage") == 2:
                sender._stopping = True  # a SIGTERM arrives while the second message is in flight
            return None

        fake.fault_rule = sigterm_on_second
        assert await sender.send_broadcast(broadcast_id) == {S.SENT: 2, S.PENDING: 3}

    run_sender(db, scenario, SenderConfig(limits=NO_LIMITS, concurrency=1))
    assert list(statuses(db).values()).count(S.PENDING) == 3 and broadcasts.unfinished(db) == [1]

    async def next_run(sender, fake):
        assert await sender.send_broadcast(1) == {S.SENT: 5}
        assert len(sends(fake)) == 3  # only the three still pending

    run_sender(db, next_run)


def test_a_broadcast_with_no_subscribers_is_stored_and_finished_at_once(db):
    db.execute("update subscribers set active = 0")

    async def scenario(sender, fake):
        broadcast_id = sender.start_broadcast("📣 hello", 42, [])
        assert await sender.send_broadcast(broadcast_id) == {}
        assert not sends(fake)

    run_sender(db, scenario)
    assert db["broadcasts"].count == 1 and broadcasts.unfinished(db) == [] and statuses(db) == {}


def test_a_group_that_became_a_supergroup_during_a_broadcast_is_moved_not_crashed(db):
    from tests.support.fake_telegram import migrated_id

    db["subscribers"].insert({"chat_id": -42, "user_id": 1, "chat_type": "group", "min_level": "hot", "active": 1})

    async def scenario(sender, fake):
        fake.fault_rule = lambda m, p: "migrate" if m == "sendMessage" and int(p["chat_id"]) == -42 else None
        broadcast_id = sender.start_broadcast("📣 hello", 42, [-42, *CHATS])
        assert await sender.send_broadcast(broadcast_id) == {S.FAILED: 1, S.SENT: 5}

    run_sender(db, scenario)
    assert statuses(db)[-42] == S.FAILED and broadcasts.unfinished(db) == []
    assert db["subscribers"].get(migrated_id(-42))["active"] == 1  # the next alert or broadcast reaches it


@pytest.mark.slow  # a 429's retry_after is 1 s
def test_5xx_and_429_are_retried_by_the_outbox_and_the_broadcast_waits_for_them(db):
    async def scenario(sender, fake):
        fake.fail_next("sendMessage", "500")
        fake.fail_next("sendMessage", "429")
        broadcast_id = sender.start_broadcast("📣 hello", 42, list(CHATS))
        assert await asyncio.wait_for(sender.send_broadcast(broadcast_id), 20) == {S.SENT: 5}

    config = SenderConfig(limits=NO_LIMITS, backoff_s=0.05)
    run_sender(db, scenario, config, clock=lambda: datetime.now(SHANGHAI))
    rows = list(db.query("select chat_id, attempts from deliveries where broadcast_id = 1"))
    assert sorted(r["attempts"] for r in rows) == [1, 1, 1, 2, 2]  # two rows went round a second time, once


def test_quiet_hours_silence_a_broadcast_and_muted_kinds_do_not_apply(db):
    set_quiet(db, 2001, "private", (19, 23), "2023-11-27T19:00:00+08:00")  # 20:00 is inside
    for kind in KINDS:  # 2002 muted every alert kind; a broadcast is not one of them
        set_kind(db, 2002, "private", kind, False, "2023-11-27T19:00:00+08:00")

    async def scenario(sender, fake):
        await sender.send_broadcast(sender.start_broadcast("📣 hello", 42, [2001, 2002]))
        silent = {s.chat_id: s.params.get("disable_notification") in ("true", "True") for s in fake.sent}
        assert silent == {2001: True, 2002: False}

    run_sender(db, scenario)
    assert statuses(db) == {2001: S.SENT, 2002: S.SENT}


@pytest.mark.slow  # the first alert render loads the tokenizer
def test_one_drain_carries_alerts_and_broadcasts_and_unsubscribing_cancels_both(db):
    stamp = NOW.isoformat()
    alert = Alert(kind=AlertKind.REGULATOR_WARNING, ts=stamp, title="北交所 警示", dedupe_key="regulator:1")
    assert add_alert(db, alert, stamp) == 1
    broadcasts.create(db, "📣 hello", 42, CHATS, NOW)
    assert unsubscribe(db, 2005, stamp)

    async def scenario(sender, fake):
        stats = await sender.drain()
        assert stats.counts == {S.SENT: 8}
        assert sends(fake) == sorted([*CHATS[:4], *CHATS[:4]])

    run_sender(db, scenario)
    by_kind = {(r["alert_id"] is not None, r["chat_id"]): r["status"] for r in db["deliveries"].rows}
    assert by_kind[(True, 2005)] == by_kind[(False, 2005)] == S.CANCELLED
    assert broadcasts.unfinished(db) == []


@pytest.mark.slow
def test_a_broadcast_waits_while_the_bot_api_is_down_and_goes_out_when_it_answers(db):
    up = asyncio.Event()

    async def scenario(sender, fake):
        sender.online = up.is_set
        broadcast_id = sender.start_broadcast("📣 back soon", 42, list(CHATS))
        task = asyncio.create_task(sender.send_broadcast(broadcast_id))
        await asyncio.sleep(1.2)  # the link is down: nothing is tried, every row stays pending
        assert sends(fake) == [] and set(statuses(db).values()) == {S.PENDING} and not task.done()
        up.set()
        assert await asyncio.wait_for(task, 10) == {S.SENT: len(CHATS)}
        assert sends(fake) == sorted(CHATS)

    run_sender(db, scenario)
