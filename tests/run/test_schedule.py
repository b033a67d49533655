"""Schedule decisions (pure) and job registration on the real PTB JobQueue and APScheduler."""

import asyncio
from datetime import datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.ext import ApplicationBuilder

from sentibot.run import schedule
from sentibot.run.schedule import Cadence
from sentibot.timeutil import SHANGHAI

FAST = Cadence(session_s=300, off_s=1800)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("ts, interval", [
    ("2023-11-27T10:00:00", 300),   # in session
    ("2023-11-27T12:00:00", 1800),  # lunch break
    ("2023-11-27T20:00:00", 1800),
    ("2023-11-25T10:00:00", 1800),  # Saturday
    ("2023-10-07T10:00:00", 1800),  # make-up workday, closed
])
def test_interval_at(ts, interval):
    assert schedule.interval_at(at(ts), FAST) == interval


@pytest.mark.parametrize("last, expected", [
    (None, "2023-11-27T08:00:00"),                          # never ran: now
    ("2023-11-27T10:00:00", "2023-11-27T10:05:00"),         # in session
    ("2023-11-27T11:28:00", "2023-11-27T11:58:00"),         # session ends: off-hours interval from last
    ("2023-11-27T12:40:00", "2023-11-27T13:00:00"),         # lunch: the afternoon open comes first
    ("2023-11-27T12:58:00", "2023-11-27T13:03:00"),         # at least session_s after the last run
    ("2023-11-27T09:10:00", "2023-11-27T09:30:00"),         # morning open
    ("2023-11-27T07:00:00", "2023-11-27T07:30:00"),         # night: every off_s
    ("2023-10-07T10:00:00", "2023-10-07T10:30:00"),         # closed make-up workday
])
def test_next_run_at(last, expected):
    now = at("2023-11-27T08:00:00")
    assert schedule.next_run_at(at(last) if last else None, now, FAST) == at(expected)


def test_around_the_clock_cadence_ignores_sessions():
    notices = Cadence(600, 600)
    assert schedule.next_run_at(at("2023-11-27T22:00:00"), at("2023-11-27T22:00:00"), notices) == at("2023-11-27T22:10:00")
    assert notices.tick_s == 60  # woken every minute, runs when due


def test_is_due():
    last = at("2023-11-27T10:00:00")
    assert not schedule.is_due(last, at("2023-11-27T10:04:00"), FAST)
    assert schedule.is_due(last, at("2023-11-27T10:05:00"), FAST)
    assert schedule.is_due(None, at("2023-11-27T10:00:00"), FAST)


def test_is_due_allows_half_a_tick_of_jitter():
    every_second = Cadence(1, 1)
    last = at("2023-11-27T10:00:00")
    early = datetime.fromisoformat("2023-11-27T10:00:00.997").replace(tzinfo=SHANGHAI)
    assert schedule.is_due(last, early, every_second)  # the next tick, 3 ms early: due, not one tick later
    assert not schedule.is_due(last, datetime.fromisoformat("2023-11-27T10:00:00.4").replace(tzinfo=SHANGHAI),
                               every_second)
    assert schedule.is_due(last, at("2023-11-27T10:04:31"), FAST)  # 30 s slack with a 60 s tick


def test_tick_is_bounded_so_a_session_open_is_noticed_soon():
    assert Cadence(300, 1800).tick_s == 60
    assert Cadence(1, 5).tick_s == 1


def test_job_kwargs_never_skip_a_late_run():
    kw = schedule.job_kwargs("collect_fast", 300)
    assert kw["id"] == "collect_fast" and kw["replace_existing"] and kw["coalesce"] and kw["max_instances"] > 1
    assert kw["misfire_grace_time"] >= 600  # APScheduler's default of 1 s would drop runs on a busy loop
    assert schedule.misfire_grace_s(1) == 300


def test_ptb_job_queue_registration_replaces_instead_of_duplicating():
    async def scenario():
        app = ApplicationBuilder().token("123:TEST").build()
        runs = []

        async def run():
            runs.append(1)

        await app.job_queue.start()
        try:
            for _ in range(3):  # e.g. start-up code running twice
                schedule.add_to_job_queue(app.job_queue, "collect_fast", run, interval_s=0.05)
            schedule.add_to_job_queue(app.job_queue, "send_outbox", run, interval_s=3600, first_s=3600)
            await asyncio.sleep(0.3)
            jobs = app.job_queue.scheduler.get_jobs()
            ids = sorted(job.id for job in jobs)
            assert ids == ["collect_fast", "send_outbox"]
            fast = app.job_queue.scheduler.get_job("collect_fast")
            assert fast.coalesce and fast.misfire_grace_time == 300
        finally:
            await app.job_queue.stop(wait=False)
        return runs

    assert len(asyncio.run(scenario())) >= 2  # the job really ran


def test_apscheduler_registration_replaces_instead_of_duplicating():
    async def scenario():
        scheduler = AsyncIOScheduler(timezone=SHANGHAI)
        scheduler.start()
        runs = []

        async def run():
            runs.append(1)

        try:
            for _ in range(3):
                schedule.add_to_scheduler(scheduler, "collect_notices", run, interval_s=0.05)
            await asyncio.sleep(0.3)
            assert [job.id for job in scheduler.get_jobs()] == ["collect_notices"]
        finally:
            scheduler.shutdown(wait=False)
        return runs

    assert len(asyncio.run(scenario())) >= 2
