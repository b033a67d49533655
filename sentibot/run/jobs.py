"""The service's jobs: collection per source group, scoring after updates, outbox delivery (Telegram or console)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from collections.abc import Awaitable, Callable

from sqlite_utils import Database

from sentibot.alerts.digest import build_digest, digest_alert, load_day
from sentibot.alerts.outbox import render
from sentibot.collect.cycle import CollectContext, run_collection
from sentibot.score.rescore import rescore
from sentibot.store import db as store
from sentibot.config import Settings
from sentibot.models import DeliveryStatus, Outcome
from sentibot.run import schedule
from sentibot.run.schedule import Cadence, is_due

log = logging.getLogger("sentibot.run.service")

FAST_SOURCES = ("guba", "market")  # session-aware: every few minutes in sessions, less often outside
NOTICE_SOURCES = ("notices",)  # around the clock: regulator statements come out in the evening
# Every other registered source is search/attention interest, collected once a day (collect_search).

# Credentials a source cannot work without (settings field names); the rest only need their URL setting.
REQUIRED_SETTINGS = {"baidu_index": ("baidu_cookie",), "wechat_index": ("wechat_openid", "wechat_search_key")}
CONSOLE = "console"  # the cursor of console delivery (no Telegram token; rows become DeliveryStatus.CONSOLE)


@dataclass(frozen=True)
class CollectJob:
    """A collection job: its fixed id, the sources it collects and when it is due."""

    id: str
    sources: tuple[str, ...]
    cadence: Cadence


@dataclass
class Runtime:
    """What every job needs, built once at start-up (IO objects passed in, never global)."""

    settings: Settings
    db: Database
    client: Any  # sentibot.collect.http.PoliteClient
    clock: Callable[[], datetime]
    sender: Any = None  # sentibot.alerts.outbox.Sender (Telegram); None = console delivery
    last_run: dict[str, datetime | None] = field(default_factory=dict)
    inflight: set = field(default_factory=set)
    running: set = field(default_factory=set)  # job ids with a run in progress
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    backfilled: set = field(default_factory=set)  # sources the day-one backfill attempted at this start
    digest_skipped: date | None = None  # the last day whose summary had no market score to sum up (logged once)


def collect_jobs(settings: Settings, registered: list[str]) -> list[CollectJob]:
    """The collection jobs for the registered sources, with their cadences from the settings."""
    off = settings.off_hours_interval_s
    jobs = [
        CollectJob("collect_guba", ("guba",), Cadence(settings.guba_interval_s, off)),
        CollectJob("collect_market", ("market",), Cadence(settings.market_interval_s, off)),
        CollectJob("collect_notices", NOTICE_SOURCES, Cadence(settings.notices_interval_s, settings.notices_interval_s)),
    ]
    known = set(FAST_SOURCES) | set(NOTICE_SOURCES)
    search = tuple(name for name in registered if name not in known)
    jobs.append(CollectJob("collect_search", search, Cadence(settings.search_interval_s, settings.search_interval_s)))
    kept = []
    for job in jobs:
        sources = tuple(name for name in job.sources if name in registered)
        if sources:
            kept.append(CollectJob(job.id, sources, job.cadence))
    return kept


def source_configuration(settings: Settings, registered: list[str]) -> tuple[list[str], list[str]]:
    """(configured sources, not-configured sources with the missing setting names)."""
    configured, missing = [], []
    for name in registered:
        lacking = [f"SENTIBOT_{attr.upper()}" for attr in REQUIRED_SETTINGS.get(name, ()) if not getattr(settings, attr)]
        if lacking:
            missing.append(f"{name}(needs {'+'.join(lacking)})")
        else:
            configured.append(name)
    return configured, missing


def last_attempts(db: Database, job: CollectJob) -> datetime | None:
    """When a job's sources were last attempted (the oldest of them), so a restart keeps the cadence."""
    rows = {r["source"]: r["last_attempt_at"] for r in db.query("select source, last_attempt_at from source_health")}
    stamps = [rows.get(name) for name in job.sources]
    if not stamps or any(s is None for s in stamps):
        return None
    return min(datetime.fromisoformat(str(s)) for s in stamps)


async def guarded(rt: Runtime, job_id: str, body: Callable[[], Awaitable[object]]) -> None:
    """Run a job body as its own task (so shutdown can cancel it); an error is logged, never fatal."""
    if rt.stopping.is_set():
        return
    if job_id in rt.running:  # still busy from an earlier tick: this tick has nothing to add
        log.debug("event=job_busy job=%s", job_id)
        return
    task = asyncio.ensure_future(body())
    rt.inflight.add(task)
    rt.running.add(job_id)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # we ourselves were cancelled
        log.warning("event=job_cancelled job=%s reason=shutdown", job_id)
    except Exception as exc:
        log.exception("event=job_failed job=%s error=%r", job_id, f"{type(exc).__name__}: {exc}")
    finally:
        rt.inflight.discard(task)
        rt.running.discard(job_id)


async def run_collect_job(rt: Runtime, job: CollectJob) -> list:
    """Collect the job's sources if due; rescore after any update. Returns the CollectResults (empty if not due)."""
    now = rt.clock()
    if not is_due(rt.last_run.get(job.id), now, job.cadence):
        return []
    rt.last_run[job.id] = now
    ctx = CollectContext(client=rt.client, db=rt.db, settings=rt.settings, now=now)
    results = await run_collection(list(job.sources), ctx)
    for r in results:
        level = logging.INFO if r.outcome in (Outcome.OK, Outcome.EMPTY, Outcome.NOT_CONFIGURED) else logging.WARNING
        log.log(level, "event=collected job=%s source=%s outcome=%s items=%d detail=%r",
                job.id, r.source, r.outcome.value, r.items, r.detail)
    if any(r.outcome is Outcome.OK and r.items for r in results):
        rescore_now(rt)
    return results


def rescore_now(rt: Runtime) -> list:
    """Recompute scores and add new alerts (deduplicated by the store); returns the new alerts."""
    now = rt.clock()
    started = time.perf_counter()
    alerts = rescore(rt.db, now, admin_ids=rt.settings.admin_ids, cooldown_s=rt.settings.alert_cooldown_s)
    alerts += rescore_stocks(rt, now)
    log.info("event=rescored took_ms=%.0f new_alerts=%d", (time.perf_counter() - started) * 1000, len(alerts))
    for alert in alerts:
        log.info("event=alert_new kind=%s level=%s ts=%s key=%s title=%r",
                 alert.kind.value, alert.level, alert.ts, alert.dedupe_key, alert.title)
    return alerts


def rescore_stocks(rt: Runtime, now) -> list:
    """Stock heat after the market's: each stock's alerts go to its watchers and the every-stock opt-ins."""
    from sentibot.score import stock_rescore

    return stock_rescore.rescore(rt.db, now, admin_ids=rt.settings.admin_ids, cooldown_s=rt.settings.alert_cooldown_s)


async def run_digest(rt: Runtime) -> int | None:
    """The day's summary, once per trading day after the close: stores one `digest` alert (deduplicated by day, so
    a restart or a second run adds none) for the outbox to deliver; returns its id, or None when not (yet) due."""
    now = rt.clock()
    day = schedule.digest_day(now)
    if day is None:
        return None
    key = f"digest:{day.isoformat()}"
    if next(rt.db.query("select 1 from alerts where dedupe_key = ?", [key]), None):
        return None
    stamp = now.isoformat(timespec="seconds")
    # notices since the last summary, at most since the previous trading day's (a week offline is not "the day")
    previous = next(rt.db.query("select max(ts) as ts from alerts where kind = 'digest' and ts < ?", [stamp]))["ts"]
    since = max(previous or "", schedule.digest_since(day).isoformat(timespec="seconds"))
    digest = build_digest(load_day(rt.db, day.isoformat(), since, stamp))
    if schedule.digest_waits(now) and (digest is None or digest.provisional or not digest.stocks):
        return None  # the after-close collection and rescore are not through yet
    if digest is None:
        if rt.digest_skipped != day:  # said once a day, not once a tick
            rt.digest_skipped = day
            log.warning("event=digest_skipped day=%s reason='no market score for the day'", day)
        return None
    alert_id = store.add_alert(rt.db, digest_alert(digest, stamp), stamp)
    log.info("event=digest_new day=%s id=%s level=%s stocks=%d notices=%d", day, alert_id, digest.level,
             len(digest.stocks), digest.notice_count)
    return alert_id


async def send_outbox(rt: Runtime) -> None:
    """Deliver pending alerts: through the Telegram sender (drains in the background), else to the log."""
    if rt.sender is None:
        deliver_to_console(rt.db, rt.clock())
    else:
        await rt.sender.tick()


def start_console_cursor(db: Database, now: datetime) -> int:
    """Console delivery starts after the newest alert stored so far (old history is not replayed to the log)."""
    cursor = store.get_cursor(db, CONSOLE, "last_alert_id")
    if cursor is None:
        newest = next(db.query("select max(id) as id from alerts"))["id"] or 0
        store.set_cursor(db, CONSOLE, "last_alert_id", str(newest), now.isoformat(timespec="seconds"))
        return newest
    return int(cursor)


def deliver_to_console(db: Database, now: datetime) -> int:
    """Write each alert not yet logged to the log; mark its pending deliveries as delivered to the console."""
    stamp = now.isoformat(timespec="seconds")
    last = int(store.get_cursor(db, CONSOLE, "last_alert_id") or 0)
    rows = list(db.query("select * from alerts where id > ? order by id", [last]))
    for row in rows:
        alert = store.alert_from_row(row)
        log.warning("event=alert_console id=%d kind=%s level=%s ts=%s title=%r text=%r", row["id"], alert.kind.value,
                    alert.level, alert.ts, alert.title, render(row))
        with db.atomic():
            db.execute("update deliveries set status = ?, sent_at = ?, updated_at = ? where alert_id = ? and status = ?",
                       [DeliveryStatus.CONSOLE, stamp, stamp, row["id"], DeliveryStatus.PENDING])
            store.set_cursor(db, CONSOLE, "last_alert_id", str(row["id"]), stamp)
    return len(rows)
