"""A chat's watchlist and the "every stock at a level" opt-in; every value reaches SQL as a parameter."""

from __future__ import annotations

from sqlite_utils import Database

from sentibot.models import DeliveryStatus, Level

WATCH_MAX = 30  # stocks per chat: enough for a portfolio, and one chat cannot grow the table without bound
OPTIN_LEVELS = ("hot", "frenzy")  # a stock entering hot or frenzy raises an alert; calm/warming do not
OPTIN_DEFAULT = "frenzy"


def watchlist(db: Database, chat_id: int) -> list[str]:
    """The codes a chat watches, in the order it added them."""
    return [r["code"] for r in db.query("select code from watches where chat_id = ? order by rowid",
                                        [chat_id])]


def watch(db: Database, chat_id: int, code: str, now: str, cap: int = WATCH_MAX) -> str:
    """Add a stock: 'added', 'already' or 'full' (the chat is at the cap; nothing changed)."""
    with db.atomic():
        if next(db.query("select 1 from watches where chat_id = ? and code = ?", [chat_id, code]), None):
            return "already"
        count = next(db.query("select count(*) as n from watches where chat_id = ?", [chat_id]))["n"]
        if count >= cap:
            return "full"
        db.table("watches").insert({"chat_id": chat_id, "code": code, "added_at": now}, pk=("chat_id", "code"))
    return "added"


def unwatch(db: Database, chat_id: int, code: str, now: str) -> bool:
    """Remove a stock and cancel the chat's pending alerts about it; False if it was not watched."""
    with db.atomic():
        gone = db.execute("delete from watches where chat_id = ? and code = ?", [chat_id, code]).rowcount
        if gone:
            db.execute(
                "update deliveries set status = ?, last_error = 'unwatched', updated_at = ?"
                " where chat_id = ? and status = ? and alert_id in (select a.id from alerts a,"
                " json_each(coalesce(a.stocks, '[]')) s where a.audience = 'stocks' and s.value = ?)",
                [DeliveryStatus.CANCELLED, now, chat_id, DeliveryStatus.PENDING, code])
    return bool(gone)


def optin(db: Database, chat_id: int, level: str, now: str) -> str:
    """Every stock's alerts at `level` and above: 'new', 'unchanged' or 'level:<old>'."""
    Level(level)
    with db.atomic():
        old = next(db.query("select min_level from stock_optins where chat_id = ?", [chat_id]), None)
        if old and old["min_level"] == level:
            return "unchanged"
        db.table("stock_optins").upsert({"chat_id": chat_id, "min_level": level, "updated_at": now}, pk="chat_id")
    return f"level:{old['min_level']}" if old else "new"


def optout(db: Database, chat_id: int) -> bool:
    """Stop every-stock alerts (a watchlist's alerts continue); False if the chat had not opted in."""
    return bool(db.execute("delete from stock_optins where chat_id = ?", [chat_id]).rowcount)


def optin_level(db: Database, chat_id: int) -> str | None:
    row = next(db.query("select min_level from stock_optins where chat_id = ?", [chat_id]), None)
    return row["min_level"] if row else None
