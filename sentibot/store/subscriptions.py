"""Subscriber CRUD on the `subscribers` table, with each chat's settings; every value reaches SQL as a parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from sentibot.models import Alert, AlertKind, DeliveryStatus, Level
from sentibot.timeutil import SHANGHAI

LEVELS = ("warming", "hot", "frenzy")  # what /subscribe accepts; regulator warnings reach every subscriber
DEFAULT_LEVEL = "hot"
KINDS = ("heat", "cooling", "regulator", "stocks", "digest")  # per-chat choices; an alert of no kind is never muted
OPT_IN = ("digest",)  # off unless a chat turns it on (column `digest`); the other kinds are on unless muted
MUTABLE = tuple(k for k in KINDS if k not in OPT_IN)  # what muted_kinds may hold
KIND_OF_ALERT = {"frenzy": "heat", "cooling": "cooling", "regulator_warning": "regulator", "digest": "digest"}


@dataclass(frozen=True)
class ChatSettings:
    """What /subscribe shows: subscribed or not, the level, quiet hours (start, end), the muted kinds, the digest."""

    active: bool = False
    level: str = DEFAULT_LEVEL
    quiet: tuple[int, int] | None = None
    muted: frozenset[str] = frozenset()
    digest: bool = False

    def wants(self, kind: str) -> bool:
        """Whether the chat gets this kind (one of KINDS)."""
        return self.digest if kind == "digest" else kind not in self.muted


def get(db: Database, chat_id: int) -> dict | None:
    return next(db.query("select * from subscribers where chat_id = ?", [chat_id]), None)


def chat_settings(db: Database, chat_id: int) -> ChatSettings:
    row = get(db, chat_id)
    return ChatSettings() if row is None else settings_of(row)


def settings_of(row: dict) -> ChatSettings:
    """The ChatSettings of a subscribers row."""
    return ChatSettings(active=bool(row.get("active")), level=row.get("min_level") or DEFAULT_LEVEL,
                        quiet=quiet_of(row), muted=muted_of(row.get("muted_kinds")), digest=bool(row.get("digest")))


def quiet_of(row: dict) -> tuple[int, int] | None:
    start, end = row.get("quiet_start"), row.get("quiet_end")
    return (start, end) if start is not None and end is not None else None


def muted_of(raw: str | None) -> frozenset[str]:
    return frozenset(k for k in (raw or "").split(",") if k in MUTABLE)


def kind_of(alert: Alert) -> str | None:
    """The per-chat kind an alert belongs to: a stock's own alert is `stocks` (a notice naming stocks stays
    `regulator`); None for the admins' source_down, which no chat setting touches."""
    if alert.stocks and alert.kind is not AlertKind.REGULATOR_WARNING:
        return "stocks"
    return KIND_OF_ALERT.get(alert.kind.value)


def wants(row: dict, alert: Alert) -> bool:
    """Whether a chat with this subscribers row (muted_kinds, digest) gets the alert."""
    kind = kind_of(alert)
    return kind is None or settings_of(row).wants(kind)


def muted_chats(db: Database, kind: str) -> set[int]:
    """The chats that muted a kind (for recipients found outside the subscribers table: watchers, opt-ins)."""
    rows = db.query("select chat_id, muted_kinds from subscribers where muted_kinds is not null")
    return {r["chat_id"] for r in rows if kind in muted_of(r["muted_kinds"])}


def in_quiet_hours(quiet: tuple[int, int] | None, moment: datetime) -> bool:
    """Whether moment falls in the quiet hours [start, end) in Shanghai time; 22-07 runs across midnight."""
    if quiet is None:
        return False
    start, end = quiet
    hour = moment.astimezone(SHANGHAI).hour
    return start <= hour < end if start < end else (hour >= start or hour < end)


def quiet_now(db: Database, chat_id: int, moment: datetime) -> bool:
    row = next(db.query("select quiet_start, quiet_end from subscribers where chat_id = ?", [chat_id]), None)
    return row is not None and in_quiet_hours(quiet_of(row), moment)


def subscribe(db: Database, chat_id: int, user_id: int | None, chat_type: str, username: str | None,
              level: str, now: str) -> str:
    """Subscribe or change the level; returns what changed: 'new', 'again', 'level:<old>' or 'unchanged'."""
    from sentibot.store.db import (
        immediate,  # a read-then-write: take the write lock first (other processes)
    )

    Level(level)  # a programming error if the caller did not validate it
    with immediate(db):
        old = get(db, chat_id)
        if old and old["active"] and old["min_level"] == level:
            return "unchanged"
        row = {"chat_id": chat_id, "user_id": user_id, "chat_type": chat_type, "username": username,
               "min_level": level, "active": 1, "updated_at": now}
        if old is None:
            db.table("subscribers").insert(dict(row, subscribed_at=now))
            return "new"
        if old["subscribed_at"] is None:  # a row that only held settings so far
            db.table("subscribers").update(chat_id, dict(row, subscribed_at=now))
            return "new"
        db.table("subscribers").update(chat_id, row)
        return f"level:{old['min_level']}" if old["active"] else "again"


def unsubscribe(db: Database, chat_id: int, now: str) -> bool:
    """Deactivate the chat and cancel its pending deliveries; False if it was not subscribed (its settings stay)."""
    with db.atomic():
        old = get(db, chat_id)
        if not old or not old["active"]:
            return False
        db.execute("update subscribers set active = 0, updated_at = ? where chat_id = ?", [now, chat_id])
        db.execute("update deliveries set status = ?, last_error = 'unsubscribed', updated_at = ?"
                   " where chat_id = ? and status = ?",
                   [DeliveryStatus.CANCELLED, now, chat_id, DeliveryStatus.PENDING])  # alerts and broadcasts
    return True


def _settings_row(db: Database, chat_id: int, chat_type: str, now: str) -> dict:
    """The chat's row, created inactive (subscribed_at NULL) when a chat sets something before subscribing."""
    row = get(db, chat_id)
    if row is None:
        db.table("subscribers").insert({"chat_id": chat_id, "chat_type": chat_type, "min_level": DEFAULT_LEVEL,
                                  "active": 0, "updated_at": now})
        row = get(db, chat_id)
    return row  # type: ignore[return-value]


def set_quiet(db: Database, chat_id: int, chat_type: str, quiet: tuple[int, int] | None, now: str) -> bool:
    """Set (or with None clear) the chat's quiet hours; False when nothing changed."""
    from sentibot.store.db import immediate

    if quiet is not None and not (all(0 <= h <= 23 for h in quiet) and quiet[0] != quiet[1]):
        raise ValueError(f"quiet hours must be two different hours 0-23, got {quiet!r}")  # callers validate input
    with immediate(db):
        row = _settings_row(db, chat_id, chat_type, now)
        if quiet_of(row) == quiet:
            return False
        start, end = quiet if quiet else (None, None)
        db.execute("update subscribers set quiet_start = ?, quiet_end = ?, updated_at = ? where chat_id = ?",
                   [start, end, now, chat_id])
    return True


def set_kind(db: Database, chat_id: int, chat_type: str, kind: str, on: bool, now: str) -> bool:
    """Turn one alert kind on or off for the chat; False when nothing changed. Concurrent edits each keep theirs."""
    from sentibot.store.db import immediate

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "digest":
        return set_digest(db, chat_id, chat_type, on, now)
    with immediate(db):  # read-modify-write of the list under the write lock: two taps never lose one another
        row = _settings_row(db, chat_id, chat_type, now)
        muted = muted_of(row["muted_kinds"])
        new = muted - {kind} if on else muted | {kind}
        if new == muted:
            return False
        db.execute("update subscribers set muted_kinds = ?, updated_at = ? where chat_id = ?",
                   [",".join(k for k in MUTABLE if k in new) or None, now, chat_id])
    return True


def set_digest(db: Database, chat_id: int, chat_type: str, on: bool, now: str) -> bool:
    """Turn the chat's daily summary on or off (stored 1 or NULL: absence is off); False when nothing changed."""
    from sentibot.store.db import immediate

    with immediate(db):
        row = _settings_row(db, chat_id, chat_type, now)
        if bool(row.get("digest")) == on:
            return False
        db.execute("update subscribers set digest = ?, updated_at = ? where chat_id = ?",
                   [1 if on else None, now, chat_id])
    return True


def counts(db: Database) -> dict:
    """Active and inactive subscribers."""
    rows = db.query("select active, count(*) as n from subscribers group by active")
    found = {r["active"]: r["n"] for r in rows}
    return {"active": found.get(1, 0), "inactive": found.get(0, 0)}
