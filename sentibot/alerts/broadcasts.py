"""Admin broadcasts in SQLite: one row per broadcast and one per recipient, so none is lost to a restart.

Each recipient row is marked 'sending' (committed) before its request and gets its outcome after it, as alert
deliveries do (sentibot.alerts.outbox). A row left 'sending' by a process that died becomes 'unknown' and is never
re-sent; rows still 'pending' are sent when the sender next runs. Statuses: pending, sending, sent, unknown,
failed, blocked, cancelled (the chat unsubscribed before its turn).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from collections.abc import Awaitable, Callable, Iterable

from sqlite_utils import Database

from sentibot.store.db import immediate


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def create(db: Database, text: str, admin_id: int, chat_ids: Iterable[int], now: datetime) -> int:
    """Store a broadcast and a pending row for each recipient, in one transaction; its id."""
    stamp = _stamp(now)
    with immediate(db):
        broadcast_id = db.table("broadcasts").insert({"text": text, "admin_id": admin_id, "created_at": stamp,
                                                "finished_at": None}).last_pk
        assert isinstance(broadcast_id, int)  # an INTEGER PRIMARY KEY rowid
        db.table("broadcast_deliveries").insert_all(
            ({"broadcast_id": broadcast_id, "chat_id": chat_id, "status": "pending", "updated_at": stamp}
             for chat_id in chat_ids), pk=("broadcast_id", "chat_id"))
    return broadcast_id


def unfinished(db: Database) -> list[int]:
    """Ids of the broadcasts with recipients not yet settled, oldest first."""
    return [r["id"] for r in db.query("select id from broadcasts where finished_at is null order by id")]


def settle_interrupted(db: Database, broadcast_id: int, now: datetime, stale_s: float) -> int:
    """Rows 'sending' for stale_s or longer were cut off mid-request by a dead process: they become 'unknown'."""
    cursor = db.execute(
        "update broadcast_deliveries set status = 'unknown', updated_at = ? where broadcast_id = ?"
        " and status = 'sending' and updated_at <= ?",
        [_stamp(now), broadcast_id, _stamp(now - timedelta(seconds=stale_s))])
    return max(cursor.rowcount, 0)


def is_finished(db: Database, broadcast_id: int) -> bool:
    return db.table("broadcasts").get(broadcast_id)["finished_at"] is not None


def counts(db: Database, broadcast_id: int) -> dict[str, int]:
    """{status: recipients} of one broadcast."""
    return {r["status"]: r["n"] for r in db.query(
        "select status, count(*) as n from broadcast_deliveries where broadcast_id = ? group by status",
        [broadcast_id])}


async def send(db: Database, broadcast_id: int, send_one: Callable[[int, str], Awaitable[str]],
               clock: Callable[[], datetime], stopping: Callable[[], bool] = lambda: False) -> dict[str, int]:
    """Send a stored broadcast to its pending recipients, one at a time; the outcome counts of this call.

    send_one(chat_id, text) makes the request and returns its outcome (sent, blocked, failed, unknown). The
    broadcast is finished when no recipient is pending or sending any more.
    """
    text = db.table("broadcasts").get(broadcast_id)["text"]
    done: dict[str, int] = {}
    cancelled = db.execute(
        "update broadcast_deliveries set status = 'cancelled', updated_at = ? where broadcast_id = ?"
        " and status = 'pending' and chat_id not in (select chat_id from subscribers where active = 1)",
        [_stamp(clock()), broadcast_id]).rowcount
    if cancelled > 0:
        done["cancelled"] = cancelled
    pending = [r["chat_id"] for r in db.query("select chat_id from broadcast_deliveries where broadcast_id = ?"
                                              " and status = 'pending' order by chat_id", [broadcast_id])]
    for chat_id in pending:
        if stopping():
            break
        claimed = db.execute("update broadcast_deliveries set status = 'sending', updated_at = ?"
                             " where broadcast_id = ? and chat_id = ? and status = 'pending'",
                             [_stamp(clock()), broadcast_id, chat_id]).rowcount
        if claimed != 1:
            continue
        outcome = await send_one(chat_id, text)
        db.execute("update broadcast_deliveries set status = ?, updated_at = ? where broadcast_id = ? and chat_id = ?",
                   [outcome, _stamp(clock()), broadcast_id, chat_id])
        done[outcome] = done.get(outcome, 0) + 1
    finish_if_settled(db, broadcast_id, clock())
    return done


def finish_if_settled(db: Database, broadcast_id: int, now: datetime) -> bool:
    """Mark the broadcast finished once no recipient is pending or sending; whether it is finished."""
    left = counts(db, broadcast_id)
    if left.get("pending") or left.get("sending"):
        return False
    db.execute("update broadcasts set finished_at = ? where id = ? and finished_at is null", [_stamp(now), broadcast_id])
    return True
