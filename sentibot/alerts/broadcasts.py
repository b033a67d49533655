"""Admin broadcasts: a `broadcasts` row (text, admin, created, finished) and one outbox row per recipient.

Sending is the outbox's (sentibot.alerts.outbox): the same claim, settle, stale-row, cancel and retry steps as
alerts, so a broadcast cut short by a restart resumes with the recipients still pending and never re-sends one.
Broadcasts honour a chat's quiet hours (sent silently) but not its muted kinds: a broadcast is not an alert kind.
"""

from __future__ import annotations

from datetime import datetime
from collections.abc import Iterable

from sqlite_utils import Database

from sentibot.models import DeliveryStatus
from sentibot.store.db import immediate

OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)  # a broadcast with rows in these is not finished


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def create(db: Database, text: str, admin_id: int, chat_ids: Iterable[int], now: datetime) -> int:
    """Store a broadcast and a pending outbox row per recipient in one transaction; its id (finished if none)."""
    stamp = _stamp(now)
    with immediate(db):
        broadcast_id = db.table("broadcasts").insert({"text": text, "admin_id": admin_id, "created_at": stamp,
                                                      "finished_at": None}).last_pk
        assert isinstance(broadcast_id, int)  # an INTEGER PRIMARY KEY rowid
        db.table("deliveries").insert_all(
            {"broadcast_id": broadcast_id, "chat_id": chat_id, "status": DeliveryStatus.PENDING.value,
             "attempts": 0, "next_attempt_at": stamp, "updated_at": stamp} for chat_id in dict.fromkeys(chat_ids))
        finish_settled(db, now)
    return broadcast_id


def unfinished(db: Database) -> list[int]:
    """Ids of the broadcasts with recipients not yet settled, oldest first."""
    return [r["id"] for r in db.query("select id from broadcasts where finished_at is null order by id")]


def is_finished(db: Database, broadcast_id: int) -> bool:
    return db.table("broadcasts").get(broadcast_id)["finished_at"] is not None


def counts(db: Database, broadcast_id: int) -> dict[str, int]:
    """{status: recipients} of one broadcast."""
    return {r["status"]: r["n"] for r in db.query(
        "select status, count(*) as n from deliveries where broadcast_id = ? group by status", [broadcast_id])}


def finish_settled(db: Database, now: datetime) -> int:
    """Mark finished every broadcast with no recipient pending or sending any more; how many were marked."""
    cursor = db.execute(
        "update broadcasts set finished_at = ? where finished_at is null and not exists (select 1 from deliveries d"
        " where d.broadcast_id = broadcasts.id and d.status in (?, ?))", [_stamp(now), *OPEN])
    return max(cursor.rowcount, 0)
