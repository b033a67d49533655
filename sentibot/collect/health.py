"""Source health: every attempt's outcome, pauses after repeated blocks, source_down alerts and recoveries."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlite_utils import Database

from sentibot.store import db as store
from sentibot.alerts.rules import source_down_alert
from sentibot.config import Settings
from sentibot.models import Outcome

log = logging.getLogger(__name__)

BLOCKS_BEFORE_PAUSE = 3
HEALTHY = (Outcome.OK, Outcome.EMPTY)
DEFAULT_SETTINGS = Settings()


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="seconds")


def _row(db: Database, source: str) -> dict:
    row = next(db.query("select * from source_health where source = ?", [source]), None)
    return row or {"source": source, "status": "unknown", "detail": "", "last_attempt_at": None,
                   "last_success_at": None, "consecutive_blocks": 0, "consecutive_failures": 0,
                   "paused_until": None, "unhealthy_since": None, "down_alerted": 0}


def paused_until(db: Database, source: str, now: datetime) -> str | None:
    """The end of the source's current pause, or None when it may be fetched now."""
    until = _row(db, source)["paused_until"]
    return until if until and datetime.fromisoformat(until) > now else None


def record_attempt(db: Database, source: str, outcome: Outcome, detail: str, items: int, now: datetime,
                   settings: Settings = DEFAULT_SETTINGS) -> dict:
    """Record one attempt and update the source's health; returns the new health row."""
    outcome = Outcome(outcome)
    row = _row(db, source)
    stamp = _iso(now)
    note = detail
    if outcome in HEALTHY:
        if row["unhealthy_since"]:
            outage = now - datetime.fromisoformat(row["unhealthy_since"])
            note = f"recovered after {_span(outage)} (unhealthy since {row['unhealthy_since']})"
            log.warning("source %s %s", source, note)
        row.update(status=outcome.value, last_success_at=stamp, consecutive_blocks=0, consecutive_failures=0,
                   paused_until=None, unhealthy_since=None, down_alerted=0)
    elif outcome is Outcome.BLOCKED:
        blocks = row["consecutive_blocks"] + 1
        row.update(status="blocked", consecutive_blocks=blocks, unhealthy_since=row["unhealthy_since"] or stamp)
        if blocks >= BLOCKS_BEFORE_PAUSE:
            pause = settings.block_pause_s * 2 ** (blocks - BLOCKS_BEFORE_PAUSE)
            row.update(status="paused", paused_until=_iso(now + timedelta(seconds=pause)))
            note = f"{detail}; {blocks} blocks in a row, paused {_span(timedelta(seconds=pause))}"
            log.warning("source %s %s", source, note)
    elif outcome is Outcome.FAILED:
        row.update(status="failed", consecutive_failures=row["consecutive_failures"] + 1,
                   unhealthy_since=row["unhealthy_since"] or stamp)
    elif outcome is Outcome.NOT_CONFIGURED:
        row.update(status=outcome.value)
    row.update(detail=note, last_attempt_at=stamp)
    with db.atomic():
        db.table("source_attempts").insert({"source": source, "ts": stamp, "outcome": outcome.value, "detail": note,
                                      "items": items})
        _maybe_alert(db, row, now, settings)
        db.table("source_health").upsert(row, pk="source")
    return row


def _maybe_alert(db: Database, row: dict, now: datetime, settings: Settings) -> None:
    since = row["unhealthy_since"]
    if not since or row["down_alerted"]:
        return
    if (now - datetime.fromisoformat(since)).total_seconds() < settings.source_down_after_s:
        return
    alert = source_down_alert(row["source"], since, row["detail"])
    store.add_alert(db, alert, _iso(now), settings.admin_ids)
    row["down_alerted"] = 1
    log.warning("source %s down since %s: %s", row["source"], since, row["detail"])


def source_status(db: Database) -> list[dict]:
    """One dict per known source (the source_health table), by name."""
    return list(db.query("select * from source_health order by source"))


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
