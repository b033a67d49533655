"""Subscriber CRUD on the `subscribers` table; every value reaches SQL as a parameter."""

from __future__ import annotations

from sqlite_utils import Database

from sentibot.models import Level

LEVELS = ("warming", "hot", "frenzy")  # what /subscribe accepts; regulator warnings reach every subscriber
DEFAULT_LEVEL = "hot"


def get(db: Database, chat_id: int) -> dict | None:
    return next(db.query("select * from subscribers where chat_id = ?", [chat_id]), None)


def subscribe(db: Database, chat_id: int, user_id: int | None, chat_type: str, username: str | None,
              level: str, now: str) -> str:
    """Subscribe or change the level; returns what changed: 'new', 'again', 'level:<old>' or 'unchanged'."""
    Level(level)  # a programming error if the caller did not validate it
    with db.atomic():
        old = get(db, chat_id)
        if old and old["active"] and old["min_level"] == level:
            return "unchanged"
        row = {"chat_id": chat_id, "user_id": user_id, "chat_type": chat_type, "username": username,
               "min_level": level, "active": 1, "updated_at": now}
        if old is None:
            db.table("subscribers").insert(dict(row, subscribed_at=now))
            return "new"
        db.table("subscribers").update(chat_id, row)
        return f"level:{old['min_level']}" if old["active"] else "again"


def unsubscribe(db: Database, chat_id: int, now: str) -> bool:
    """Deactivate the chat and cancel its pending deliveries; False if it was not subscribed."""
    with db.atomic():
        old = get(db, chat_id)
        if not old or not old["active"]:
            return False
        db.execute("update subscribers set active = 0, updated_at = ? where chat_id = ?", [now, chat_id])
        db.execute("update deliveries set status = 'cancelled', last_error = 'unsubscribed', updated_at = ?"
                   " where chat_id = ? and status = 'pending'", [now, chat_id])
    return True


def counts(db: Database) -> dict:
    """Active and inactive subscribers."""
    rows = db.query("select active, count(*) as n from subscribers group by active")
    found = {r["active"]: r["n"] for r in rows}
    return {"active": found.get(1, 0), "inactive": found.get(0, 0)}
