"""The digest job: one summary per trading day after the close, none on a holiday, only to chats that turned it on,
delivered by the outbox (quiet hours included)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

from telegram import Bot

from sentibot.alerts.outbox import NO_LIMITS, SenderConfig, drain_outbox
from sentibot.config import load_settings
from sentibot.run import jobs, schedule
from sentibot.run.jobs import Runtime
from sentibot.store import subscriptions
from sentibot.models import Notice
from sentibot.store.db import open_store, save_scores, upsert_notice
from sentibot.timeutil import SHANGHAI
from tests.support.fake_telegram import TOKEN, FakeTelegram

DAY = date(2026, 12, 2)  # a Wednesday
HOLIDAY = date(2026, 10, 1)  # National Day, a Thursday
SET_UP = "2026-11-30T09:00:00+08:00"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def runtime(tmp_path, clock: list[datetime]) -> Runtime:
    settings = load_settings({"SENTIBOT_DB": str(tmp_path / "j.db")}, env_file=None)
    return Runtime(settings=settings, db=open_store(settings.db), client=None, clock=lambda: clock[0])


def score(db, day: date, provisional: bool = False) -> None:
    save_scores(db, [{"date": day.isoformat(), "score": 64.0, "level": "hot",
                      "components": {"close": 1300.0, "provisional": provisional}}], SET_UP)


def stock_heat(db, day: date) -> None:
    db["stock_scores"].insert({"code": "920001", "date": day.isoformat(), "score": 88.0, "level": "frenzy",
                               "limit_streak": 2}, pk=("code", "date"), replace=True)


def chats(db) -> None:
    """1: on; 2: subscribed, digest off; 3: on but not subscribed; 4: on, quiet 15-18; 5: on, every kind muted."""
    for chat in (1, 2, 4, 5):
        subscriptions.subscribe(db, chat, chat, "private", None, "frenzy", SET_UP)
    for chat in (1, 3, 4, 5):
        subscriptions.set_digest(db, chat, "private", True, SET_UP)
    subscriptions.set_quiet(db, 4, "private", (15, 18), SET_UP)
    for kind in subscriptions.MUTABLE:
        subscriptions.set_kind(db, 5, "private", kind, False, SET_UP)


def digests(db) -> list[dict]:
    return list(db.query("select * from alerts where kind = 'digest' order by id"))


def recipients(db, alert_id: int) -> list[int]:
    return [r["chat_id"] for r in db.query("select chat_id from deliveries where alert_id = ? order by chat_id",
                                           [alert_id])]


def test_one_digest_per_trading_day_after_the_final_score_to_the_chats_that_turned_it_on(tmp_path):
    clock = [at(DAY, 15, 30)]
    rt = runtime(tmp_path, clock)
    chats(rt.db)
    score(rt.db, DAY, provisional=True)
    assert asyncio.run(jobs.run_digest(rt)) is None  # before 15:40
    clock[0] = at(DAY, 15, 41)
    assert asyncio.run(jobs.run_digest(rt)) is None  # the day's bars were read before the close: wait
    score(rt.db, DAY)
    assert asyncio.run(jobs.run_digest(rt)) is None  # final, but the stock heat is not in yet: wait
    stock_heat(rt.db, DAY)
    clock[0] = at(DAY, 16, 5)
    alert_id = asyncio.run(jobs.run_digest(rt))
    assert alert_id is not None and recipients(rt.db, alert_id) == [1, 4, 5]  # opted in and subscribed
    clock[0] = at(DAY, 16, 6)
    assert asyncio.run(jobs.run_digest(rt)) is None  # a second run the same day adds none
    restarted = runtime(tmp_path, [at(DAY, 21, 0)])
    assert asyncio.run(jobs.run_digest(restarted)) is None  # nor does a restart
    [row] = digests(rt.db)
    assert (row["dedupe_key"], row["level"], row["ts"]) == ("digest:2026-12-02", "hot", "2026-12-02T16:05:00+08:00")

    async def deliver():
        async with FakeTelegram() as fake:
            async with Bot(TOKEN, base_url=fake.base_url) as bot:
                await drain_outbox(bot, rt.db, lambda: at(DAY, 16, 6), config=SenderConfig(limits=NO_LIMITS))
            return fake

    fake = asyncio.run(deliver())
    sent = {s.chat_id: s for s in fake.sent}
    assert sorted(sent) == [1, 4, 5] and "BSE daily summary" in sent[1].text and "920001" in sent[1].text
    silent = {chat: s.params.get("disable_notification") in ("true", "True") for chat, s in sent.items()}
    assert silent == {1: False, 4: True, 5: False}  # chat 4's quiet hours apply as for every alert


def test_after_the_wait_the_digest_goes_without_stock_heat_and_without_a_score_not_at_all(tmp_path, caplog):
    clock = [at(DAY, 17, 1)]
    rt = runtime(tmp_path, clock)
    chats(rt.db)
    with caplog.at_level(logging.WARNING, logger="sentibot.run.service"):
        for minute in (1, 2, 3):
            clock[0] = at(DAY, 17, minute)
            assert asyncio.run(jobs.run_digest(rt)) is None
    assert [r.message for r in caplog.records].count(
        "event=digest_skipped day=2026-12-02 reason='no market score for the day'") == 1  # once, not every tick
    score(rt.db, DAY, provisional=True)  # the after-close collection never came: the summary says provisional
    alert_id = asyncio.run(jobs.run_digest(rt))
    assert alert_id is not None and "provisional: true" in digests(rt.db)[0]["reasons"]
    assert recipients(rt.db, alert_id) == [1, 4, 5]


def test_no_digest_on_a_holiday_or_a_weekend(tmp_path):
    clock = [at(HOLIDAY, 16, 0)]
    rt = runtime(tmp_path, clock)
    chats(rt.db)
    for day in (HOLIDAY, date(2026, 12, 5)):  # National Day; a Saturday
        score(rt.db, day)
        stock_heat(rt.db, day)
        for hour in (16, 18, 23):
            clock[0] = at(day, hour)
            assert asyncio.run(jobs.run_digest(rt)) is None
    assert digests(rt.db) == [] and rt.db["deliveries"].count == 0


def test_the_notices_window_starts_at_the_previous_summary(tmp_path):
    clock = [at(DAY, 16, 0)]
    rt = runtime(tmp_path, clock)
    for url, when in (("https://bse.cn/1", "2026-12-01T16:30:00+08:00"),
                      ("https://bse.cn/2", "2026-12-02T12:00:00+08:00"),
                      ("https://bse.cn/3", "2026-12-03T09:00:00+08:00")):
        upsert_notice(rt.db, Notice(url=url, source="bse.cn", published_at=when, title="警示"), SET_UP,
                      notice_class="regulator_warning")
    for day in (date(2026, 12, 1), DAY, date(2026, 12, 3)):
        score(rt.db, day)
        stock_heat(rt.db, day)
    clock[0] = at(date(2026, 12, 1), 17, 0)  # made late: notices up to 17:00 are in it
    asyncio.run(jobs.run_digest(rt))
    clock[0] = at(DAY, 15, 45)
    asyncio.run(jobs.run_digest(rt))
    clock[0] = at(date(2026, 12, 3), 15, 45)
    asyncio.run(jobs.run_digest(rt))
    counts = [r["reasons"].count("https://bse.cn/") for r in digests(rt.db)]
    assert counts == [1, 1, 1]  # each notice in exactly one summary
    assert schedule.digest_since(DAY) == at(date(2026, 12, 1), 15, 40)
    assert schedule.digest_day(at(DAY, 15, 39)) is None and schedule.digest_day(at(DAY, 23, 59)) == DAY
