"""When each job runs: pure interval decisions plus registration on a PTB JobQueue or an APScheduler scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from collections.abc import Awaitable, Callable

from sentibot.calendar import in_session, is_trading_day, next_session_start, previous_trading_day
from sentibot.timeutil import SHANGHAI

# A tick never waits longer than this to notice that a session has opened.
MAX_TICK_S = 60.0
# The daily summary (jobs.run_digest): due from DIGEST_AT on a trading day, once the day's final score is in. Until
# DIGEST_WAIT_UNTIL it also waits for the day's stock heat (the market collector fetches stock bars from 15:30, one
# cycle every off-hours interval); after that it goes out with what the history has.
DIGEST_AT = time(15, 40)
DIGEST_WAIT_UNTIL = time(17, 0)
DIGEST_TICK_S = 60.0


@dataclass(frozen=True)
class Cadence:
    """How often a job is due: session_s inside trading sessions, off_s outside (equal = around the clock)."""

    session_s: float
    off_s: float

    @property
    def tick_s(self) -> float:
        """How often the scheduler wakes the job to ask whether it is due."""
        return min(self.session_s, self.off_s, MAX_TICK_S)


def interval_at(ts: datetime, cadence: Cadence) -> float:
    """The interval that applies at ts: the session interval during trading sessions, else the off-hours one."""
    return cadence.session_s if in_session(ts) else cadence.off_s


def next_run_at(last: datetime | None, now: datetime, cadence: Cadence) -> datetime:
    """The earliest t >= last with t - last >= interval_at(t); now when the job never ran."""
    if last is None:
        return now
    by_off = last + timedelta(seconds=cadence.off_s)
    if cadence.session_s >= cadence.off_s:
        return by_off
    # Sooner only if some instant at least session_s after last lies inside a session.
    in_sess = next_session_start(last + timedelta(seconds=cadence.session_s))
    return min(by_off, in_sess)


def is_due(last: datetime | None, now: datetime, cadence: Cadence) -> bool:
    """Whether a job last run at `last` should run at `now`.

    Half a tick of slack: ticks come every tick_s but each run starts a few ms late or early, and without slack a
    run due "in 2 ms" would wait a whole extra tick (a 1 s interval would become 2 s).
    """
    return now + timedelta(seconds=cadence.tick_s / 2) >= next_run_at(last, now, cadence)


def digest_day(now: datetime) -> date | None:
    """The trading day whose summary is due at now (from DIGEST_AT to midnight, Shanghai time), else None."""
    local = now.astimezone(SHANGHAI)
    if local.time() < DIGEST_AT or not is_trading_day(local.date()):
        return None
    return local.date()


def digest_since(day: date) -> datetime:
    """Where a day's summary starts looking for notices when no earlier summary is stored: the previous trading
    day's summary time (regulator statements often come out in the evening)."""
    return datetime.combine(previous_trading_day(day), DIGEST_AT, SHANGHAI)


def digest_waits(now: datetime) -> bool:
    """Whether the summary still waits for the day's stock heat at now."""
    return now.astimezone(SHANGHAI).time() < DIGEST_WAIT_UNTIL


def misfire_grace_s(interval_s: float) -> int:
    """Grace for a late run: a busy loop delays a run, it never drops it (APScheduler's default is 1 s)."""
    return int(max(300.0, 2 * interval_s))


def job_kwargs(job_id: str, interval_s: float) -> dict[str, Any]:
    """APScheduler options every sentibot job uses: fixed id, replace on re-registration, one coalesced run.

    max_instances is above 1 so that APScheduler never drops a tick with a warning while a run is still finishing;
    the job wrapper (jobs.guarded) itself lets only one run of a job id proceed at a time.
    """
    return {"id": job_id, "replace_existing": True, "coalesce": True, "max_instances": 3,
            "misfire_grace_time": misfire_grace_s(interval_s)}


def add_to_job_queue(job_queue, job_id: str, run: Callable[[], Awaitable[None]], interval_s: float,
                     first_s: float = 0.0):
    """Register run() every interval_s on a python-telegram-bot JobQueue; re-registering replaces the job."""

    async def callback(context) -> None:  # PTB passes a CallbackContext we do not need
        await run()

    return job_queue.run_repeating(callback, interval=interval_s, first=first_s, name=job_id,
                                   job_kwargs=job_kwargs(job_id, interval_s))


def add_to_scheduler(scheduler, job_id: str, run: Callable[[], Awaitable[None]], interval_s: float,
                     first_s: float = 0.0, now: datetime | None = None):
    """Register run() every interval_s on an APScheduler AsyncIOScheduler (the no-Telegram mode)."""
    start = (now or datetime.now(scheduler.timezone)) + timedelta(seconds=first_s)
    return scheduler.add_job(run, "interval", seconds=interval_s, next_run_time=start, name=job_id,
                             **job_kwargs(job_id, interval_s))
