"""Day one: on a history without BSE 50 bars, `sentibot run` backfills first, then scores, so a fresh install has a
heat within minutes instead of after three months of forward collection.

The backfill goes through the collectors' own `since` path (sentibot.collect.cycle), which keeps a per-code and
per-bar resume cursor: an interrupted backfill resumes where it stopped at the next start, with the same start date.
A cursor records when it has finished, so it never runs twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, timedelta

from sqlite_utils import Database

from sentibot.models import BSE50_CODE, Outcome
from sentibot.store import db as store

log = logging.getLogger("sentibot.run.backfill")

CURSOR = ("backfill", "day_one")  # cursors table (source, key): "started:<since>" or "done:<since>"
# Trading days the score can use: 20-day ratios, 14-day RSI, a 60-day lead-lag and a 20-day window before it,
# with room to spare; about 135 trading days fit in 200 calendar days.
LOOKBACK_DAYS = 200
# Sources that serve history: the BSE 50 and stock bars (kline), the search indexes (date ranges) and Eastmoney's
# popularity window. Guba's forum is left to forward collection: paging back through ~50 bars at the polite
# interval would take hours and is the first thing its anti-bot layer blocks.
SOURCES = ("market", "baidu_index", "wechat_index", "em_rank")
REQUIRED = ("market",)  # the backfill is finished once these succeeded; the rest are best effort
PROGRESS_EVERY_S = 5.0


def state(db: Database) -> tuple[str, date | None]:
    """('done' | 'started' | 'none', its start date)."""
    raw = store.get_cursor(db, *CURSOR) or ""
    status, _, since = raw.partition(":")
    return (status or "none"), (date.fromisoformat(since) if since else None)


def needed(db: Database) -> date | None:
    """The date to backfill from, or None: a fresh history (no index bars) or a backfill that was interrupted."""
    status, since = state(db)
    if status == "done":
        return None
    if status == "started":
        return since
    has_bars = next(db.query("select 1 from bars where code = ? limit 1", [BSE50_CODE]), None)
    return None if has_bars else date.min


class Progress:
    """Counts the collectors' units of work and logs a progress line every few seconds."""

    def __init__(self, total: int):
        self.done, self.total = 0, total
        self.started = self.last = time.monotonic()

    def __call__(self, units: int) -> None:
        self.done += units
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_S:
            self.last = now
            self.line()

    def line(self) -> None:
        total = max(self.total, self.done)
        log.info("event=backfill_progress done=%d total=%d elapsed_s=%.0f", self.done, total,
                 time.monotonic() - self.started)


async def run(rt, sources: tuple[str, ...] = SOURCES) -> bool:
    """Backfill when needed (see `needed`), then rescore; True when a backfill ran to its end.

    Every listed source is attempted (one not configured says so, as in a cycle), so the backfill stands for that
    start-up's first collection of them.
    """
    from sentibot.collect.cycle import REGISTRY, CollectContext, backfill_units, run_collection
    from sentibot.run import jobs

    since = needed(rt.db)
    if since is None:
        return False
    now = rt.clock()
    if since == date.min:
        since = now.date() - timedelta(days=LOOKBACK_DAYS)
    stamp = now.isoformat(timespec="seconds")
    store.set_cursor(rt.db, *CURSOR, f"started:{since.isoformat()}", stamp)
    names = [s for s in sources if s in REGISTRY]
    configured, _ = jobs.source_configuration(rt.settings, names)
    total = sum(backfill_units(name, rt.db, rt.settings) for name in configured)
    log.info("event=backfill_start since=%s sources=%s reason='no BSE 50 bars yet: backfilling before the first "
             "score'", since, ",".join(configured))
    rt.backfilled = set(names)
    progress = Progress(total)
    ctx = CollectContext(client=rt.client, db=rt.db, settings=rt.settings, now=now, progress=progress)
    results = await run_collection(names, ctx, since)
    progress.line()
    for r in results:
        log.info("event=backfill_source source=%s outcome=%s items=%d detail=%r", r.source, r.outcome.value, r.items,
                 r.detail)
    finished = all(r.outcome in (Outcome.OK, Outcome.EMPTY) for r in results if r.source in REQUIRED)
    if finished:
        store.set_cursor(rt.db, *CURSOR, f"done:{since.isoformat()}", rt.clock().isoformat(timespec="seconds"))
    log.info("event=backfill_end finished=%s elapsed_s=%.0f%s", finished, time.monotonic() - progress.started,
             "" if finished else " effect='resumes at the next start'")
    jobs.rescore_now(rt)
    return finished


async def run_until_stopped(rt, stop: asyncio.Event, collect_jobs: list | None = None) -> None:
    """The day-one backfill, cut short (and resumable) when stop is set; a failure is logged, never fatal.

    A collection job whose sources the backfill has just attempted counts it as its run, so a start-up asks each
    source once, not twice.
    """
    task = asyncio.ensure_future(run(rt))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not task.done():
        task.cancel()
        log.info("event=backfill_interrupted effect='resumes at the next start'")
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception as exc:  # the service still starts; the backfill resumes at the next start
        log.exception("event=backfill_failed error=%r", f"{type(exc).__name__}: {exc}")
    attempted: set[str] = getattr(rt, "backfilled", set())
    for job in collect_jobs or ():
        if attempted and set(job.sources) <= attempted:
            rt.last_run[job.id] = rt.clock()
