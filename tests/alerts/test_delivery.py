"""The outbox sender against the fake Bot API: faults, limits, crash and restart. Nothing lost, nothing sent twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from tests.support.fake_telegram import TOKEN, FakeTelegram
from sentibot.alerts.outbox import NO_LIMITS, Limits, SenderConfig, drain_outbox
from sentibot.models import Alert, AlertKind
from sentibot.store.db import add_alert, open_store
from sentibot.store.subscriptions import unsubscribe
from tests.support.paths import TESTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PTB's own RetryAfter.__init__ warns
NOW = "2023-11-27T20:00:00+08:00"


def make_db(path: Path, private: int, groups: int = 0, level: str = "hot"):
    db = open_store(path)
    rows = [{"chat_id": 10_000 + i, "user_id": 10_000 + i, "chat_type": "private", "min_level": level, "active": 1}
            for i in range(private)]
    rows += [{"chat_id": -1_000_000 - i, "user_id": 1, "chat_type": "supergroup", "min_level": level, "active": 1}
             for i in range(groups)]
    db["subscribers"].insert_all(rows, batch_size=500)
    return db


def alert(n: int = 1, title: str = "北交所 <监管> 警示 & 提示") -> Alert:
    return Alert(kind=AlertKind.REGULATOR_WARNING, ts=f"2023-11-27T19:{n:02d}:00+08:00", title=title,
                 reasons=("source: bse.cn",), dedupe_key=f"regulator_warning:https://www.bse.cn/{n}.html")


def statuses(db) -> Counter:
    return Counter({r["status"]: r["n"] for r in db.query("select status, count(*) n from deliveries group by 1")})


def sends(fake: FakeTelegram) -> list:
    return [c for c in fake.calls if c.method == "sendMessage"]


def max_in_window(times: list[float], window: float) -> int:
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def per_chat_gaps(calls) -> dict[int, list[float]]:
    by_chat = defaultdict(list)
    for c in calls:
        by_chat[c.chat_id].append(c.ts)
    return {chat: [b - a for a, b in zip(sorted(ts), sorted(ts)[1:])] for chat, ts in by_chat.items()}


def expected_interval(limits: Limits, chat: int) -> float:
    """Computed here, not by the code under test: groups are negative ids."""
    return 60 / limits.group_per_min if chat < 0 else 1 / limits.private_per_s


def fault_rule(seed: int = 7):
    """Deterministic per (chat, attempt): 10% 429, 5% 5xx, 2% timeouts after the message was accepted."""
    attempts: Counter = Counter()

    def rule(method, params):
        if method != "sendMessage":
            return None
        chat = int(params["chat_id"])
        attempts[chat] += 1
        roll = random.Random(f"{seed}:{chat}:{attempts[chat]}").random()
        return "429" if roll < 0.10 else "500" if roll < 0.15 else "hang_after_accept" if roll < 0.17 else None

    return rule


@pytest.mark.slow
def test_fan_out_to_2000_with_faults_loses_nothing_and_duplicates_nothing(tmp_path):
    limits = Limits(overall_per_s=500, private_per_s=10, group_per_min=300)  # scaled up: the logic is the same
    config = SenderConfig(limits=limits, send_timeout_s=0.4, backoff_s=0.05, max_attempts=30)
    db = make_db(tmp_path / "fan.db", private=1900, groups=100)
    assert add_alert(db, alert(), NOW) is not None
    assert add_alert(db, alert(), NOW) is None  # the dedupe key: the same condition is stored once
    chats = [r["chat_id"] for r in db.query("select chat_id from subscribers")]
    blocked = set(random.Random(3).sample(chats, 60))  # 3% blocked the bot

    async def main():
        async with FakeTelegram(hang_s=1.0, retry_after=1) as fake:
            fake.blocked |= blocked
            fake.fault_rule = fault_rule()
            async with Bot(TOKEN, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=16)) as bot:
                stats = await drain_outbox(bot, db, config=config, wait_retries=True)
            return fake, stats

    fake, stats = asyncio.run(main())
    final = statuses(db)
    assert set(final) <= {"sent", "unknown", "blocked"}, final
    received = Counter(s.chat_id for s in fake.sent)
    assert max(received.values()) == 1  # no duplicates, not even among the unknown ones
    rows = {r["chat_id"]: r for r in db.query("select * from deliveries")}
    lost = [c for c in chats if c not in blocked and received[c] == 0]
    assert lost == []
    assert {c for c, r in rows.items() if r["status"] == "blocked"} == blocked
    assert all(db["subscribers"].get(c)["active"] == 0 for c in blocked)
    assert db["subscribers"].count_where("active = 1") == 2000 - 60
    unknown = [c for c, r in rows.items() if r["status"] == "unknown"]
    assert unknown and all(received[c] == 1 for c in unknown)  # timed out after being accepted: delivered once
    assert stats["sent"] == final["sent"] and stats["retried"] > 200
    assert all(r["message_id"] for r in rows.values() if r["status"] == "sent")
    # limits, from the fake server's timestamps of every sendMessage call (refused ones count too)
    calls = sends(fake)
    assert max_in_window([c.ts for c in calls], 1.0) <= limits.overall_per_s * 1.05 + 2
    for chat, gaps in per_chat_gaps(calls).items():
        assert min(gaps, default=9) >= expected_interval(limits, chat) * 0.9, (chat, gaps)


@pytest.mark.slow
def test_per_chat_spacing_and_order_with_several_alerts(tmp_path):
    limits = Limits(overall_per_s=200, private_per_s=5, group_per_min=60)
    db = make_db(tmp_path / "spacing.db", private=50, groups=5)
    for n in range(1, 4):
        add_alert(db, alert(n, title=f"alert {n}"), NOW)

    async def main():
        async with FakeTelegram() as fake:
            async with Bot(TOKEN, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=16)) as bot:
                await drain_outbox(bot, db, config=SenderConfig(limits=limits), wait_retries=True)
            return fake

    fake = asyncio.run(main())
    assert statuses(db) == Counter(sent=165)
    # The overall pacer binds here. The fake stamps requests as it reads them on the same loop, so a stall of a few
    # ms bunches correctly paced sends (23 in 0.1 s was seen on a busy machine); 0.2 s with a slack of 5 absorbs
    # that, and an unpaced burst (55 first messages at once) still fails it.
    assert max_in_window([c.ts for c in sends(fake)], 0.2) <= 200 * 0.2 + 5
    for chat, gaps in per_chat_gaps(sends(fake)).items():
        assert len(gaps) == 2 and min(gaps) >= expected_interval(limits, chat) * 0.9, (chat, gaps)
    for chat in (10_000, -1_000_000):
        assert [s.text.count(f"alert {n}") for n, s in enumerate(fake.sent_to(chat), 1)] == [1, 1, 1]


@pytest.mark.slow
def test_400_fails_once_hang_is_unknown_5xx_retries_unsubscribed_is_cancelled(tmp_path):
    db = make_db(tmp_path / "outcomes.db", private=4)
    add_alert(db, alert(), NOW)
    unsubscribe(db, 10_003, NOW)
    config = SenderConfig(limits=Limits(100, 100, 600), send_timeout_s=0.3, backoff_s=0.05)

    async def main():
        async with FakeTelegram(hang_s=1.0) as fake:
            fake.fault_rule = lambda m, p: {"10000": "400", "10001": "hang"}.get(p.get("chat_id"))
            async with Bot(TOKEN, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=16)) as bot:
                fake.fault_rule = _first_call_5xx_for(10_002, fake.fault_rule)
                await drain_outbox(bot, db, config=config, wait_retries=True)
                again = await drain_outbox(bot, db, config=config, wait_retries=True)
            return fake, again

    fake, again = asyncio.run(main())
    rows = {r["chat_id"]: r for r in db.query("select * from deliveries")}
    assert rows[10_000]["status"] == "failed" and rows[10_000]["attempts"] == 1 and "400" in rows[10_000]["last_error"]
    assert rows[10_001]["status"] == "unknown" and rows[10_001]["attempts"] == 1
    assert rows[10_002]["status"] == "sent" and rows[10_002]["attempts"] == 2
    assert rows[10_003]["status"] == "cancelled"
    assert [c.chat_id for c in sends(fake)].count(10_001) == 1 and not fake.sent_to(10_001)  # never re-sent
    assert again.counts == {}


def _first_call_5xx_for(chat_id: int, rule):
    seen = []

    def wrapped(method, params):
        if method == "sendMessage" and int(params["chat_id"]) == chat_id and not seen:
            seen.append(1)
            return "500"
        return rule(method, params)

    return wrapped


@pytest.mark.slow
def test_kill_minus_9_mid_fan_out_then_restart_sends_the_rest_once(tmp_path):
    db_path = tmp_path / "kill.db"
    db = make_db(db_path, private=1500)
    add_alert(db, alert(), NOW)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(TESTS.parent)]))

    async def drain_process(base_url: str, stale_s: float):
        return await asyncio.create_subprocess_exec(
            sys.executable, str(TESTS / "support" / "outbox_driver.py"), str(db_path), base_url, "300", str(stale_s), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def main():
        async with FakeTelegram() as fake:
            first = await drain_process(fake.base_url, 60)
            deadline = time.monotonic() + 30
            while len(fake.sent) < 300 and time.monotonic() < deadline and first.returncode is None:
                await asyncio.sleep(0.002)
            first.send_signal(signal.SIGKILL)
            await first.wait()
            assert 300 <= len(fake.sent) < 1500, "the first sender was not killed mid-fan-out"
            middle = statuses(db)
            assert middle["pending"] > 0
            second = await drain_process(fake.base_url, 0)
            out, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 0, err.decode()
            return fake, middle

    fake, middle = asyncio.run(main())
    final = statuses(db)
    received = Counter(s.chat_id for s in fake.sent)
    assert set(final) <= {"sent", "unknown"} and final["sent"] >= 1500 - 32
    assert max(received.values()) == 1  # nothing delivered twice across the crash
    unknown = [r["chat_id"] for r in db.query("select chat_id from deliveries where status = 'unknown'")]
    assert len(unknown) == middle["sending"]  # exactly the rows in flight at the kill, never re-sent
    assert all(received[c] == 1 for c in (set(range(10_000, 11_500)) - set(unknown)))


def test_cooldown_keeps_a_flapping_condition_from_spamming(tmp_path):
    db = make_db(tmp_path / "cool.db", private=3)
    frenzy = lambda day: Alert(kind=AlertKind.FRENZY, ts=f"2023-11-{day}T15:00:00+08:00", title="frenzy",  # noqa: E731
                               level="frenzy", score=90.0)
    assert add_alert(db, frenzy(27), "2023-11-27T15:05:00+08:00", cooldown_s=86400 * 2) is not None
    # the next day the level flaps back to frenzy: a new dedupe key, but inside the cooldown
    assert add_alert(db, frenzy(28), "2023-11-28T15:05:00+08:00", cooldown_s=86400 * 2) is None
    assert add_alert(db, frenzy(30), "2023-11-30T15:05:00+08:00", cooldown_s=86400 * 2) is not None
    assert add_alert(db, frenzy(28), "2023-11-28T15:05:00+08:00") is not None  # cooldown is opt-in
    assert db["alerts"].count == 3 and db["deliveries"].count == 9


@pytest.mark.slow
def test_a_group_that_became_a_supergroup_moves_its_subscription_and_gets_the_next_alert(tmp_path):
    from tests.support.fake_telegram import migrated_id

    db = make_db(tmp_path / "migrate.db", private=1, groups=1)
    group, supergroup = -1_000_000, migrated_id(-1_000_000)
    add_alert(db, alert(1), NOW)
    config = SenderConfig(limits=NO_LIMITS)

    async def main():
        async with FakeTelegram() as fake:
            fake.fault_rule = lambda m, p: "migrate" if m == "sendMessage" and int(p["chat_id"]) == group else None
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                await drain_outbox(bot, db, config=config)
                add_alert(db, alert(2), NOW)  # the next alert goes to the supergroup
                await drain_outbox(bot, db, config=config)
            return fake

    fake = asyncio.run(main())
    rows = {(r["alert_id"], r["chat_id"]): r for r in db.query("select * from deliveries")}
    assert rows[(1, group)]["status"] == "failed" and rows[(1, group)]["last_error"] == f"chat migrated to {supergroup}"
    assert rows[(2, supergroup)]["status"] == "sent" and (2, group) not in rows
    assert sorted(s.chat_id for s in fake.sent) == sorted([10_000, 10_000, supergroup])
    assert db["subscribers"].get(supergroup)["active"] == 1 and db["subscribers"].count_where("chat_id = ?", [group]) == 0


@pytest.mark.slow
def test_each_recipient_gets_its_language_and_each_language_is_rendered_once(tmp_path, monkeypatch):
    """1,000 recipients: odd chats chose Chinese (/lang), even ones subscribed from an English Telegram; the last
    one is unknown to chat_prefs and gets SENTIBOT_LANGUAGE (the sender's default, zh here)."""
    from sentibot.alerts import outbox
    from sentibot.store import chats

    db = make_db(tmp_path / "o.db", private=1000)
    for i in range(999):
        if i % 2:
            chats.set_language(db, 10_000 + i, "zh", NOW)
        else:
            chats.remember_telegram_language(db, 10_000 + i, "en-GB", NOW)
    add_alert(db, alert(), NOW)
    rendered = Counter()
    real = outbox.render

    def counting(row, lang="en", db=None, bot_username=None):  # instrumentation, not a fake: the real render runs
        rendered[(row["alert_id"], lang)] += 1
        return real(row, lang, db, bot_username)

    monkeypatch.setattr(outbox, "render", counting)

    async def main():
        async with FakeTelegram() as fake:
            async with Bot(TOKEN, base_url=fake.base_url, request=HTTPXRequest(connection_pool_size=8)) as bot:
                await drain_outbox(bot, db, config=SenderConfig(limits=NO_LIMITS, default_language="zh"))
            return {s.chat_id: s.text for s in fake.sent if s.method == "sendMessage"}

    texts = asyncio.run(main())
    assert statuses(db) == Counter(sent=1000)
    assert rendered == Counter({(1, "zh"): 1, (1, "en"): 1})
    for i in range(1000):
        text = texts[10_000 + i]
        want = "监管警示" if i % 2 or i == 999 else "Regulator warning"
        assert want in text, (i, text)
    assert "北交所 &lt;监管&gt; 警示 &amp; 提示" in texts[10_001] and "bse.cn 发布于" in texts[10_001]
