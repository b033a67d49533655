"""The SQLite history: connection, locking, migrating (schema.py) and idempotent writes (sqlite-utils)."""

from __future__ import annotations

import hashlib
import json
import operator
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from collections.abc import Iterable, Iterator

from sqlite_utils import Database

from sentibot.errors import StoreError
from sentibot.models import Alert, AlertKind, Bar, DeliveryStatus, Level, Notice, Observation, Post
from sentibot.store.schema import KNOWN_MIGRATIONS, migrations
from sentibot.timeutil import SHANGHAI

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 10.0  # how long a writer waits for another process's write lock
BATCH = 100  # rows per upsert statement; sqlite-utils caps a statement at 999 variables


def _check_path(path: Path, create: bool) -> None:
    """Refuse a path that is not a usable SQLite file, before anything touches it."""
    if path.is_dir():
        raise StoreError(f"database {path}: is a directory, expected a SQLite file")
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists():
        try:
            with path.open("rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise StoreError(f"database {path}: cannot read it: {exc.strerror or exc}") from None
        if head and head != SQLITE_MAGIC:
            raise StoreError(f"database {path}: not a SQLite database (left untouched)")
        # WAL needs the file and its directory (for the -wal and -shm files) to be writable.
        if not os.access(path, os.W_OK):
            raise StoreError(f"database {path}: file is not writable")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"database {path}: directory {parent} is not writable (WAL needs it)")
        return
    if not create:
        raise StoreError(f"database {path}: does not exist")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"database {path}: cannot create directory {parent}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StoreError(f"database {path}: directory {parent} is not writable")


def open_store(path: str | Path, *, migrate: bool = True, create: bool = True) -> Database:
    """Open (creating if needed) the history at path, with WAL, a busy timeout and the schema applied.

    Raises StoreError (one line) for a directory, a non-SQLite or corrupt file, a database of another application
    or of a newer sentibot, an unwritable path, or (create=False) a missing file. Nothing is written before the
    file has been checked, so a refused file is left byte-for-byte untouched.
    """
    path = Path(path).expanduser()
    _check_path(path, create)
    conn = None
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        db = Database(conn)
        # Read-only checks first: these fail on a corrupt header or schema without writing anything.
        conn.execute("PRAGMA schema_version").fetchone()
        tables = set(db.table_names())
        if migrate:
            _refuse_foreign(db, tables, path)
            _refuse_newer(db, path)
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        _enable_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")  # with WAL a crash (kill -9) never loses a committed write
        if migrate:
            _migrate(db)
    except sqlite3.OperationalError as exc:  # locked past the busy timeout, cannot open, disk full, ...
        _close(conn)
        raise StoreError(f"database {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        _close(conn)
        raise StoreError(f"database {path}: {exc} (corrupt or not a SQLite file? left untouched)") from None
    except OSError as exc:
        _close(conn)
        raise StoreError(f"database {path}: {exc.strerror or exc}") from None
    except StoreError:
        _close(conn)
        raise
    return db


def _enable_wal(db: Database) -> None:
    """Switch the file to WAL, waiting out an opener that is switching it at the same instant.

    Both connections then need to upgrade their lock, and SQLite answers one of them "database is locked" at once,
    without calling the busy handler (waiting could deadlock). That one retries until the busy timeout; by then
    the other has usually switched the file, and the loop ends on reading "wal".
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while db.journal_mode != "wal":
        try:
            db.enable_wal()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        conn.close()


def _refuse_foreign(db: Database, tables: set[str], path: Path) -> None:
    """A SQLite file with tables but no sentibot schema belongs to another program: do not add ours to it."""
    # Our first step and its record commit together, so a sentibot database always has at least one applied step.
    if tables and not migrations.applied(db):
        shown = ", ".join(sorted(tables)[:3])
        raise StoreError(
            f"database {path}: not a sentibot database (has tables {shown} but no sentibot schema; left untouched)"
        )


def _refuse_newer(db: Database, path: Path) -> None:
    applied = {m.name for m in migrations.applied(db)}
    unknown = sorted(applied - KNOWN_MIGRATIONS)
    if unknown:
        raise StoreError(
            f"database {path}: written by a newer sentibot (schema step {unknown[-1]}); upgrade sentibot to open it"
        )


def _migrate(db: Database) -> None:
    """Apply pending migrations under one write lock, so two processes starting at once cannot both apply them."""
    if not migrations.pending(db):
        return
    with immediate(db):
        migrations.apply(db)  # each step nests as a savepoint inside this transaction


def schema_version(db: Database) -> list[str]:
    """Names of the applied schema steps, oldest first."""
    return [m.name for m in migrations.applied(db)]


@contextmanager
def immediate(db: Database) -> Iterator[Database]:
    """A write transaction that takes the lock at BEGIN (waiting up to the busy timeout).

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY under WAL if another process
    wrote in between; taking the lock first makes read-then-write sequences safe across processes.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise


def _batched(db: Database, table: str, rows: Iterable[dict], pk) -> int:
    """Upsert rows in batches inside one transaction; returns the row count."""
    rows = list(rows)
    with db.atomic():
        for start in range(0, len(rows), BATCH):
            db.table(table).upsert_all(rows[start:start + BATCH], pk=pk, batch_size=BATCH)
    return len(rows)


POST_COLUMNS = ("source", "post_id", "bar", "title", "published_at", "reads", "comments", "author_id",
                "author_name", "kind", "url", "first_seen", "updated_at")
_UPSERT_POST = (
    f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({', '.join('?' for _ in POST_COLUMNS)}) "
    "ON CONFLICT(source, post_id) DO UPDATE SET "
    # Only what changes between visits is refreshed; a page without counts does not erase known ones.
    "reads = coalesce(excluded.reads, posts.reads), comments = coalesce(excluded.comments, posts.comments), "
    "title = excluded.title, kind = excluded.kind, updated_at = excluded.updated_at, "
    # an edited title is scored again
    "sentiment = CASE WHEN posts.title = excluded.title THEN posts.sentiment END"
)
_post_values = operator.attrgetter(*POST_COLUMNS[:-2])  # a Post's fields in column order, as a tuple
_UPSERT_OBSERVATION = (
    "INSERT INTO observations (source, subject, metric, ts, value, origin, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(source, subject, metric, ts) DO UPDATE SET value = excluded.value, origin = excluded.origin, "
    "updated_at = excluded.updated_at"
)


def upsert_posts(db: Database, posts: Iterable[Post], now: str) -> int:
    """Insert new posts and refresh title/reads/comments of known ones; first_seen is kept. Returns the count."""
    # One C-level attrgetter over POST_COLUMNS, not asdict (a deep copy of every field): this runs for every page.
    rows = [_post_values(p) + (now, now) for p in posts]
    with db.atomic():
        db.conn.executemany(_UPSERT_POST, rows)
    return len(rows)


def upsert_observations(db: Database, observations: Iterable[Observation], now: str) -> int:
    """Insert or refresh attention values keyed by (source, subject, metric, ts), in one transaction.

    One executemany: a Guba sweep writes thousands of hourly values, and sqlite-utils' upsert_all was ~5x slower.
    """
    rows = [(o.source, o.subject, o.metric, o.ts, o.value, o.origin, now) for o in observations]
    with db.atomic():
        db.conn.executemany(_UPSERT_OBSERVATION, rows)
    return len(rows)


def upsert_bars(db: Database, bars: Iterable[Bar], now: str) -> int:
    """Insert or refresh daily market bars keyed by (code, date)."""
    names = [f.name for f in fields(Bar)]  # flat records: asdict's recursive deep copy was half of a 24k-bar import
    rows = ({**{n: getattr(b, n) for n in names}, "updated_at": now} for b in bars)
    return _batched(db, "bars", rows, ("code", "date"))


def content_hash(title: str, text: str) -> str:
    """A short digest of a notice's content, to notice edits."""
    return hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:16]


def upsert_notice(db: Database, notice: Notice, now: str, notice_class: str = "other", severity: int = 0,
                  triggers: Iterable[str] = ()) -> str:
    """Store a notice once per URL; returns 'new', 'edited' (content changed, revision kept) or 'unchanged'."""
    digest = content_hash(notice.title, notice.text)
    row = dict(asdict(notice), content_hash=digest, notice_class=notice_class, severity=severity,
               triggers=json.dumps(list(triggers), ensure_ascii=False), updated_at=now,
               stocks=json.dumps(list(notice.stocks)))
    with immediate(db):
        old = next(db.query("select content_hash, revision from notices where url = ?", [notice.url]), None)
        if old and old["content_hash"] == digest:
            return "unchanged"  # the stocks derive from title and text: unchanged too
        revision = (old["revision"] + 1) if old else 1
        db.table("notice_revisions").insert({"url": notice.url, "revision": revision, "content_hash": digest,
                                       "title": notice.title, "text": notice.text, "seen_at": now})
        if old:
            db.table("notices").update(notice.url, dict(row, revision=revision))
            return "edited"
        db.table("notices").insert(dict(row, revision=1, first_seen=now))
        return "new"


def save_scores(db: Database, rows: Iterable[dict], now: str) -> int:
    """Store daily scores: dicts with date, score, level and components (a dict)."""
    prepared = ({"date": r["date"], "score": r["score"], "level": r["level"],
                 "components": json.dumps(r.get("components", {}), ensure_ascii=False, default=str),
                 "computed_at": now} for r in rows)
    return _batched(db, "scores", prepared, "date")


def _level_rank(level: str | None) -> int:
    """Rank of a level name; a missing or unknown subscriber level counts as calm (gets everything)."""
    try:
        return Level(level).rank
    except ValueError:
        return 0


def _recipients(db: Database, alert: Alert, admin_ids: Iterable[int]) -> list[int]:
    if alert.kind is AlertKind.SOURCE_DOWN:
        return sorted(set(admin_ids))
    from sentibot.store.subscriptions import muted_chats, wants  # (subscriptions imports this module)

    if alert.stocks and alert.kind is not AlertKind.REGULATOR_WARNING:
        muted = muted_chats(db, "stocks")  # a stock's own alert: its watchers and the "all stocks" opt-ins
        return [chat for chat in stock_recipients(db, alert) if chat not in muted]
    active = [r for r in db.query("select chat_id, min_level, muted_kinds, digest from subscribers where active = 1"
                                  " order by chat_id") if wants(r, alert)]
    if alert.kind is AlertKind.FRENZY and alert.level in {lv.value for lv in Level}:
        rank = Level(alert.level).rank
        return [r["chat_id"] for r in active if _level_rank(r["min_level"]) <= rank]
    chats = [r["chat_id"] for r in active]  # regulator warnings and cooling reach every subscriber
    if alert.stocks:  # ... and a notice naming a stock reaches its watchers, subscribed or not
        chats = sorted(set(chats) | set(watchers(db, alert.stocks)))
    return chats


def watchers(db: Database, codes: Iterable[str]) -> list[int]:
    """Chats watching any of these stocks."""
    codes = list(codes)
    if not codes or not db["watches"].exists():
        return []
    marks = ",".join("?" * len(codes))
    return [r["chat_id"] for r in db.query(f"select distinct chat_id from watches where code in ({marks})", codes)]


def stock_recipients(db: Database, alert: Alert) -> list[int]:
    """A stock alert goes to the stock's watchers and to chats opted in to every stock at or below its level."""
    chats = set(watchers(db, alert.stocks))
    if alert.level in {lv.value for lv in Level} and db["stock_optins"].exists():
        rank = Level(alert.level).rank
        chats |= {r["chat_id"] for r in db.query("select chat_id, min_level from stock_optins")
                  if _level_rank(r["min_level"]) <= rank}
    return sorted(chats)


def in_cooldown(db: Database, alert: Alert, now: str, cooldown_s: float) -> bool:
    """True if an alert of the same kind and level happened less than cooldown_s before or after this one.

    Event times (ts) are compared, not insertion times: a transition that a later rescore re-evaluates stays
    inside the cooldown of the alert it repeats, instead of going out once the wall clock has moved on.
    """
    if cooldown_s <= 0:
        return False
    moment = _instant(alert.ts or now)
    # per stock: a stock's alert is only in the cooldown of the same stock's (market alerts have no stocks)
    for row in db.query("select ts from alerts where kind = ? and coalesce(level, '') = ?"
                        " and coalesce(stocks, '[]') = ? order by id desc limit 20",
                        [alert.kind.value, alert.level or "", _stocks_json(alert.stocks)]):
        if abs((moment - _instant(row["ts"])).total_seconds()) < cooldown_s:
            return True
    return False


def _instant(stamp: str) -> datetime:
    """An ISO timestamp as an aware datetime (naive ones are taken as Asia/Shanghai)."""
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def add_alert(db: Database, alert: Alert, now: str, admin_ids: Iterable[int] = (),
              cooldown_s: float = 0.0) -> int | None:
    """Write an alert and one pending delivery per recipient in one transaction; None if its dedupe key exists
    or (cooldown_s > 0) an alert of the same kind and level was added within cooldown_s of now."""
    key = alert.dedupe_key or f"{alert.kind.value}:{alert.ts}:{alert.level}"
    audience = "admins" if alert.kind is AlertKind.SOURCE_DOWN else "subscribers"
    if alert.stocks and alert.kind is not AlertKind.REGULATOR_WARNING:
        audience = "stocks"  # watchers and opt-ins, who need no /subscribe
    with immediate(db):
        if next(db.query("select 1 from alerts where dedupe_key = ?", [key]), None):
            return None
        if in_cooldown(db, alert, now, cooldown_s):
            return None
        alert_id = db.table("alerts").insert({
            "kind": alert.kind.value, "ts": alert.ts, "level": alert.level, "score": alert.score,
            "title": alert.title, "reasons": json.dumps(list(alert.reasons), ensure_ascii=False),
            "dedupe_key": key, "audience": audience, "created_at": now,
            "stocks": json.dumps(list(alert.stocks))}).last_pk
        db.table("deliveries").insert_all(
            {"alert_id": alert_id, "chat_id": chat_id, "status": DeliveryStatus.PENDING.value, "attempts": 0,
             "next_attempt_at": now, "updated_at": now} for chat_id in _recipients(db, alert, admin_ids))
    return alert_id


def alert_from_row(row: dict) -> Alert:
    """The Alert of a stored alerts row."""
    return Alert(kind=AlertKind(row["kind"]), ts=row["ts"], title=row["title"], level=row["level"] or "",
                 score=row["score"], reasons=tuple(json.loads(row["reasons"] or "[]")),
                 dedupe_key=row["dedupe_key"], stocks=tuple(json.loads(row.get("stocks") or "[]")))


def _stocks_json(codes: Iterable[str]) -> str:
    return json.dumps(list(codes))


def get_cursor(db: Database, source: str, key: str) -> str | None:
    """The stored resume point of a source (e.g. the newest post id seen), or None."""
    row = next(db.query("select value from cursors where source = ? and key = ?", [source, key]), None)
    return row["value"] if row else None


def set_cursor(db: Database, source: str, key: str, value: str, now: str) -> None:
    """Store the resume point of a source."""
    db.table("cursors").upsert({"source": source, "key": key, "value": value, "updated_at": now}, pk=("source", "key"))
