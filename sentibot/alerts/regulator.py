"""Regulator-warning alerts, raised in one place: from the notices as stored (class, stocks) and the stored heat."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from collections.abc import Iterable

from sqlite_utils import Database

from sentibot.alerts.rules import regulator_alert
from sentibot.models import Alert, Notice
from sentibot.store.db import add_alert
from sentibot.text.notice_class import REGULATOR_WARNING, NoticeClass
from sentibot.timeutil import SHANGHAI

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=72)  # older warnings are stored, not pushed: a first run must not replay history


def heat_at(db: Database, published_at: str) -> tuple[str, float | None]:
    """The stored heat level and score of the last scored day up to the notice's day ('' and None if none)."""
    row = next(db.query("select level, score from scores where date <= ? order by date desc limit 1",
                        [published_at[:10]]), None)
    return (row["level"] or "", row["score"]) if row else ("", None)


def _notice(row: dict) -> tuple[Notice, NoticeClass]:
    notice = Notice(url=row["url"], source=row["source"], published_at=row["published_at"], title=row["title"],
                    text=row["text"] or "", origin=row["origin"] or "collected",
                    stocks=tuple(json.loads(row.get("stocks") or "[]")))
    return notice, NoticeClass(row["notice_class"], row["severity"] or 0, tuple(json.loads(row["triggers"] or "[]")))


def due(db: Database, since: str, until: str) -> list[Alert]:
    """A regulator_warning alert for every stored notice of that class published in [since, until], oldest first.

    The class, triggers and stocks are the ones stored with the notice (classified once, when it was stored); the
    heat is the stored score of its day, so the alert reads the same whichever job gets there first.
    """
    out = []
    for row in db.query("select * from notices where notice_class = ? and published_at >= ? and published_at <= ? "
                        "order by published_at, url", [REGULATOR_WARNING, since, until]):
        notice, cls = _notice(row)
        level, score = heat_at(db, notice.published_at)
        out.append(regulator_alert(notice, cls, level=level, score=None if score is None else round(score, 1)))
    return out


def raise_due(db: Database, now: datetime, admin_ids: Iterable[int] = (), max_age: timedelta = MAX_AGE) -> list[int]:
    """Add (once per notice URL) the alerts of regulator warnings published in the last max_age; their ids."""
    now = now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)  # notices are +08:00
    stamp = now.isoformat(timespec="seconds")
    added = []
    for alert in due(db, (now - max_age).isoformat(timespec="seconds"), stamp):
        alert_id = add_alert(db, alert, stamp, admin_ids)  # deduped by URL: a warning is alerted once
        if alert_id is not None:
            log.warning("regulator warning alerted: %s (%s)", alert.title, alert.dedupe_key.split(":", 1)[1])
            added.append(alert_id)
    return added
