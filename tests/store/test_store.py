"""The SQLite history on real files: schema, migrations, refusals that leave files untouched, upserts, kill -9."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from sentibot.store import db as store
from sentibot.errors import StoreError
from sentibot.models import Alert, AlertKind, Bar, Notice, Observation, Post
from sentibot.store.schema import migrations
from sentibot.store.db import (
    add_alert,
    get_cursor,
    open_store,
    save_scores,
    schema_version,
    set_cursor,
    upsert_bars,
    upsert_notice,
    upsert_observations,
    upsert_posts,
)

TABLES = {"posts", "observations", "bars", "notices", "notice_revisions", "scores", "alerts", "subscribers",
          "deliveries", "source_health", "source_attempts", "cursors", "_sqlite_migrations"}
ALL_STEPS = [m.name for m in migrations._migrations]


def _schema(db: Database) -> list[tuple]:
    return db.execute("select type, name, sql from sqlite_master order by name").fetchall()


def _post(post_id="1", reads=10, comments=2, title="北交所要起飞了", **kw) -> Post:
    return Post(source="guba", post_id=post_id, bar="zs899050", title=title,
                published_at="2023-11-15T10:00:00+08:00", reads=reads, comments=comments, **kw)


# --- schema and migrations -------------------------------------------------------------------------------------

def test_new_database_has_schema_wal_and_busy_timeout(tmp_path):
    db = open_store(tmp_path / "sub" / "dir" / "h.db")  # missing directories are created
    assert TABLES <= set(db.table_names())
    assert db.journal_mode == "wal"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == ALL_STEPS


@pytest.mark.parametrize("table,columns", [
    ("alerts", ["ts"]), ("alerts", ["kind", "ts"]), ("alerts", ["dedupe_key"]),
    ("deliveries", ["status", "next_attempt_at"]),
    ("notices", ["notice_class", "published_at"]), ("notices", ["published_at"]),
    ("posts", ["bar", "published_at"]), ("bars", ["date"]), ("observations", ["ts"]),
    ("source_attempts", ["source", "ts"]),
])
def test_indexes_for_bot_and_scoring_queries(tmp_path, table, columns):
    db = open_store(tmp_path / "h.db")
    assert columns in [ix.columns for ix in db[table].indexes]


def test_primary_keys_serve_keyed_lookups(tmp_path):
    db = open_store(tmp_path / "h.db")
    assert db["observations"].pks == ["source", "subject", "metric", "ts"]
    assert db["posts"].pks == ["source", "post_id"]
    assert db["bars"].pks == ["code", "date"]
    plan = db.execute("explain query plan select value from observations where source = ? and subject = ? "
                      "and metric = ? and ts >= ?", ["baidu_index", "北交所", "北证50", "2023-11-01"]).fetchall()
    assert "USING INDEX" in str(plan) or "USING PRIMARY KEY" in str(plan)


def test_opening_twice_is_a_no_op(tmp_path):
    path = tmp_path / "h.db"
    first = open_store(path)
    schema, steps = _schema(first), list(first["_sqlite_migrations"].rows)
    first.close()
    second = open_store(path)
    assert _schema(second) == schema
    assert list(second["_sqlite_migrations"].rows) == steps


def test_a_wal_switch_refused_at_once_is_retried(tmp_path, monkeypatch):
    """Two openers switching a new file to WAL at the same instant: SQLite refuses one at once ("database is
    locked", no busy wait, as waiting could deadlock). The opener retries; another error is not retried."""
    real = Database.enable_wal
    refusals = {"n": 2}

    def enable_wal(self):
        if refusals["n"]:
            refusals["n"] -= 1
            raise sqlite3.OperationalError("database is locked")
        return real(self)

    monkeypatch.setattr(Database, "enable_wal", enable_wal)
    db = open_store(tmp_path / "new.db")
    assert db.journal_mode == "wal" and refusals["n"] == 0
    db.close()

    def broken(self):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Database, "enable_wal", broken)
    with pytest.raises(StoreError, match="disk I/O error"):
        open_store(tmp_path / "other.db")


def test_processes_starting_at_once_apply_the_schema_once(tmp_path):
    """Several openers racing on a new file (threads stand in for processes): one applies, the others wait."""
    for round_ in range(4):
        path = tmp_path / f"race{round_}.db"
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def opener(barrier=barrier, path=path, errors=errors):  # bound now: the loop rebinds them each round
            barrier.wait()
            try:
                open_store(path).close()
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=opener) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert [r["name"] for r in Database(path)["_sqlite_migrations"].rows] == ALL_STEPS


@pytest.mark.parametrize("stop_before", ALL_STEPS[1:])
def test_older_database_is_upgraded_in_place(tmp_path, stop_before):
    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before=stop_before)  # the database an earlier sentibot left behind
    old["posts"].insert({"source": "guba", "post_id": "7", "title": "old post", "first_seen": "then"})
    old["alerts"].insert({"kind": "frenzy", "ts": "2023-11-15", "title": "old", "dedupe_key": "k"})
    old.close()
    assert stop_before not in schema_version(Database(path))
    db = open_store(path)
    assert schema_version(db) == ALL_STEPS
    assert db["posts"].get(("guba", "7"))["first_seen"] == "then"
    assert db["alerts"].count == 1
    assert ["kind", "ts"] in [ix.columns for ix in db["alerts"].indexes]


def test_newer_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "new.db"
    open_store(path).close()
    db = Database(path)
    db["_sqlite_migrations"].insert({"migration_set": "sentibot", "name": "m999_future_step", "applied_at": "x"})
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"newer sentibot \(schema step m999_future_step\); upgrade sentibot"):
        open_store(path)
    assert path.read_bytes() == before


# --- files that must be refused, byte for byte untouched -------------------------------------------------------

def _corrupt_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("create table t(x)")
    conn.executemany("insert into t values (?)", [(i,) for i in range(500)])
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    data[100:300] = bytes(random.Random(1).randrange(256) for _ in range(200))  # page 1 b-tree: the schema
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_text("date,close\n2023-11-15,1000\n"), "not a SQLite database"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)), "not a SQLite database"),
    (lambda p: p.write_bytes(store.SQLITE_MAGIC + bytes(range(256)) * 20), "file is not a database"),
    (_corrupt_sqlite, "malformed"),
])
def test_corrupt_or_foreign_file_is_refused_and_left_untouched(tmp_path, make, message):
    path = tmp_path / "bad.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError) as info:
        open_store(path)
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db"]  # no -wal/-shm left behind either


@pytest.mark.parametrize("other_migrations", [False, True])
def test_database_of_another_program_is_refused_untouched(tmp_path, other_migrations):
    path = tmp_path / "other.db"
    db = Database(path)
    db["customers"].insert({"id": 1, "name": "x"}, pk="id")
    if other_migrations:  # another sqlite-utils application with its own migrations set
        db["_sqlite_migrations"].insert({"id": 1, "migration_set": "shop", "name": "m001", "applied_at": "x"})
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a sentibot database .*customers"):
        open_store(path)
    assert path.read_bytes() == before


def test_empty_file_becomes_a_database(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    assert schema_version(open_store(path)) == ALL_STEPS


def test_directory_is_refused(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        open_store(tmp_path)


def test_missing_file_with_create_false(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_path_below_a_regular_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(StoreError, match=r"cannot create directory .*blocker"):
        open_store(blocker / "data" / "h.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: chmod does not deny root, so nothing to observe")
def test_unwritable_file_and_directory_are_clear_errors(tmp_path):
    path = tmp_path / "ro.db"
    open_store(path).close()
    path.chmod(0o444)
    try:
        with pytest.raises(StoreError, match="file is not writable"):
            open_store(path)
    finally:
        path.chmod(0o644)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="is not writable"):
            open_store(locked / "h.db")
    finally:
        locked.chmod(0o755)


# --- idempotent writes -----------------------------------------------------------------------------------------

def test_same_posts_twice_no_duplicates_counts_refreshed_first_seen_kept(tmp_path):
    db = open_store(tmp_path / "h.db")
    page = [_post(str(i), reads=i, comments=0) for i in range(250)]  # more than one batch
    assert upsert_posts(db, page, "2023-11-15T10:00:00+08:00") == 250
    again = [_post(str(i), reads=i + 100, comments=1) for i in range(250)] + [_post("new", reads=1)]
    upsert_posts(db, again, "2023-11-15T10:05:00+08:00")
    assert db["posts"].count == 251
    row = db["posts"].get(("guba", "3"))
    assert (row["reads"], row["comments"]) == (103, 1)
    assert row["first_seen"] == "2023-11-15T10:00:00+08:00"
    assert row["updated_at"] == "2023-11-15T10:05:00+08:00"
    assert db["posts"].get(("guba", "new"))["first_seen"] == "2023-11-15T10:05:00+08:00"


def test_post_upsert_covers_every_post_field_and_column(tmp_path):
    fields = [f.name for f in dataclasses.fields(Post)]
    assert list(store.POST_COLUMNS) == fields + ["first_seen", "updated_at"]
    derived = {"sentiment"}  # the title's label, written by the Guba derivation, not by the upsert
    assert set(store.POST_COLUMNS) | derived == {c.name for c in open_store(tmp_path / "h.db")["posts"].columns}


def test_page_without_counts_keeps_known_counts(tmp_path):
    db = open_store(tmp_path / "h.db")
    upsert_posts(db, [_post(reads=50, comments=5)], "t1")
    upsert_posts(db, [_post(reads=None, comments=None, title="edited title")], "t2")
    row = db["posts"].get(("guba", "1"))
    assert (row["reads"], row["comments"], row["title"]) == (50, 5, "edited title")


def test_observations_bars_scores_upserts(tmp_path):
    db = open_store(tmp_path / "h.db")
    obs = [Observation("baidu_index", "北交所", "北证50", f"2023-11-{d:02d}", d * 100.0) for d in range(1, 31)]
    upsert_observations(db, obs, "t1")
    upsert_observations(db, obs[:5] + [Observation("baidu_index", "北交所", "北证50", "2023-11-01", 7.0)], "t2")
    assert db["observations"].count == 30
    assert db["observations"].get(("baidu_index", "北交所", "北证50", "2023-11-01"))["value"] == 7.0
    bar = Bar(code="899050", date="2023-11-15", close=1200.0, amount=3.1e10)
    upsert_bars(db, [bar], "t1")
    upsert_bars(db, [Bar(code="899050", date="2023-11-15", close=1210.0, amount=3.2e10, volume=5.0)], "t2")
    assert db["bars"].count == 1
    assert db["bars"].get(("899050", "2023-11-15"))["close"] == 1210.0
    save_scores(db, [{"date": "2023-11-15", "score": 2.5, "level": "hot", "components": {"z": 1.5}}], "t1")
    save_scores(db, [{"date": "2023-11-15", "score": 3.5, "level": "frenzy"}], "t2")
    assert db["scores"].count == 1
    assert db["scores"].get("2023-11-15")["level"] == "frenzy"


def test_notice_new_unchanged_edited(tmp_path):
    db = open_store(tmp_path / "h.db")
    notice = Notice(url="https://www.bse.cn/a.html", source="bse", published_at="2023-11-17T18:00:00+08:00",
                    title="关于加强交易监管的通知", text="理性投资")
    assert upsert_notice(db, notice, "t1", "regulator_warning", 2, ["监管"]) == "new"
    assert upsert_notice(db, notice, "t2", "regulator_warning", 2, ["监管"]) == "unchanged"
    edited = Notice(url=notice.url, source="bse", published_at=notice.published_at, title=notice.title,
                    text="理性投资，注意风险")
    assert upsert_notice(db, edited, "t3", "regulator_warning", 3) == "edited"
    row = db["notices"].get(notice.url)
    assert (row["revision"], row["severity"], row["first_seen"], row["text"]) == (2, 3, "t1", edited.text)
    assert db["notices"].count == 1 and db["notice_revisions"].count == 2


def _subscribe(db: Database, chat_id: int, min_level: str | None) -> None:
    db["subscribers"].insert({"chat_id": chat_id, "user_id": chat_id, "chat_type": "private",
                              "min_level": min_level, "active": 1})


def test_add_alert_dedupes_and_fans_out_deliveries(tmp_path):
    db = open_store(tmp_path / "h.db")
    _subscribe(db, 1, "calm")
    _subscribe(db, 2, "frenzy")
    _subscribe(db, 3, None)  # never set: treated as calm, not a crash
    _subscribe(db, 4, "bogus")
    db["subscribers"].insert({"chat_id": 5, "min_level": "calm", "active": 0})
    hot = Alert(AlertKind.FRENZY, "2023-11-15T15:00:00+08:00", "北交所升温", level="hot", score=2.1,
                reasons=("posts x3",))
    alert_id = add_alert(db, hot, "now")
    assert alert_id is not None
    assert add_alert(db, hot, "later") is None  # same dedupe key
    assert db["alerts"].count == 1
    assert sorted(r["chat_id"] for r in db["deliveries"].rows) == [1, 3, 4]
    assert {r["status"] for r in db["deliveries"].rows} == {"pending"}
    down = Alert(AlertKind.SOURCE_DOWN, "2023-11-15T16:00:00+08:00", "guba down", dedupe_key="source_down:guba:1")
    down_id = add_alert(db, down, "now", admin_ids=[99, 98, 99])
    assert sorted(r["chat_id"] for r in db["deliveries"].rows_where("alert_id = ?", [down_id])) == [98, 99]
    assert db["alerts"].get(down_id)["audience"] == "admins"
    assert store.alert_from_row(db["alerts"].get(alert_id)) == Alert(
        AlertKind.FRENZY, hot.ts, hot.title, "hot", 2.1, ("posts x3",), "frenzy:2023-11-15T15:00:00+08:00:hot")


def test_failed_alert_write_leaves_nothing(tmp_path):
    db = open_store(tmp_path / "h.db")
    _subscribe(db, 1, "calm")
    db.execute("create trigger no_deliveries before insert on deliveries begin select raise(abort, 'boom'); end")
    with pytest.raises(sqlite3.IntegrityError):
        add_alert(db, Alert(AlertKind.COOLING, "2023-11-20", "cooling"), "now")
    assert db["alerts"].count == 0 and not db.conn.in_transaction


def test_cursors(tmp_path):
    db = open_store(tmp_path / "h.db")
    assert get_cursor(db, "guba", "zs899050") is None
    set_cursor(db, "guba", "zs899050", "100", "t1")
    set_cursor(db, "guba", "zs899050", "120", "t2")
    assert get_cursor(db, "guba", "zs899050") == "120"


def test_two_connections_write_alternately(tmp_path):
    """A second process's open store can write while the first holds its connection (WAL + busy timeout)."""
    path = tmp_path / "h.db"
    a, b = open_store(path), open_store(path)
    for i in range(20):
        upsert_posts(a if i % 2 else b, [_post(str(i))], f"t{i}")
        add_alert(b if i % 2 else a, Alert(AlertKind.COOLING, f"2023-11-{i + 1:02d}", "c"), "now")
    assert a["posts"].count == 20 and b["alerts"].count == 20


# --- kill -9 in the middle of writes ----------------------------------------------------------------------------

WRITER = """
import os
import sys
from sentibot.models import Alert, AlertKind, Observation, Post
from sentibot.store.db import add_alert, open_store, upsert_observations, upsert_posts
db = open_store(sys.argv[1])
db["subscribers"].upsert({"chat_id": 1, "min_level": "calm", "active": 1}, pk="chat_id")
print("ready", flush=True)
i = 0
while True:
    i += 1
    run = f"{os.getpid()}-{i}"  # new rows on every round, not only updates
    posts = [Post("guba", f"{run}-{j}", "zs899050", "北交所" * 20, "2023-11-15T10:00:00+08:00", reads=j)
             for j in range(300)]
    upsert_posts(db, posts, run)
    upsert_observations(db, [Observation("guba", "北交所", "posts", f"{run}-{j}", j) for j in range(300)], run)
    add_alert(db, Alert(AlertKind.COOLING, run, "c"), run)
"""


@pytest.mark.slow
def test_kill_9_during_writes_never_corrupts(tmp_path):
    path = tmp_path / "h.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    rng = random.Random(20231117)
    for round_ in range(5):
        proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if round_ == 0:
            time.sleep(rng.uniform(0.05, 0.25))  # may land during creation or migration
        else:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            time.sleep(rng.uniform(0.02, 0.25))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        if not path.exists():
            continue
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.close()
        db = open_store(path)  # and the next start-up works on it
        assert schema_version(db) == ALL_STEPS
        # each call is one transaction: whole pages of 300 or nothing, every alert with its delivery
        assert db["posts"].count % 300 == 0 and db["observations"].count % 300 == 0
        assert db.execute("select count(*) from alerts a where not exists "
                          "(select 1 from deliveries d where d.alert_id = a.id)").fetchone()[0] == 0
        db.close()


def test_every_post_field_lands_in_its_own_column(tmp_path):
    db = open_store(tmp_path / "fields.db")
    post = Post(source="guba", post_id="p1", bar="830799", title="标题", published_at="2023-11-27T10:00:00+08:00",
                reads=11, comments=22, author_id="a1", author_name="名字", kind="qa", url="https://x/p1")
    upsert_posts(db, [post], "2023-11-27T10:05:00+08:00")
    row = db["posts"].get(("guba", "p1"))
    assert {f.name: row[f.name] for f in dataclasses.fields(Post)} == dataclasses.asdict(post)


def test_chat_languages_choice_then_subscriber_language_then_default(tmp_path):
    from sentibot.store import chats

    db = open_store(tmp_path / "lang.db")
    assert chats.chosen_language(db, 1) is None
    assert chats.set_language(db, 1, "zh", "2023-11-27T20:00:00+08:00") is True
    assert chats.set_language(db, 1, "zh", "2023-11-27T20:01:00+08:00") is False
    chats.remember_telegram_language(db, 1, "en", "2023-11-27T20:02:00+08:00")  # the choice still wins
    chats.remember_telegram_language(db, 2, "zh-hans", "2023-11-27T20:02:00+08:00")
    chats.remember_telegram_language(db, 3, "de", "2023-11-27T20:02:00+08:00")
    chats.remember_telegram_language(db, 4, None, "2023-11-27T20:02:00+08:00")  # nothing to keep
    assert db["chat_prefs"].count == 3
    ids = [1, 2, 3, 4] + list(range(10, 1200))  # more than one batch of SQL variables
    found = chats.recipient_languages(db, ids, "zh")
    assert [found[i] for i in (1, 2, 3, 4)] == ["zh", "zh", "en", "zh"] and len(found) == len(ids)
    with pytest.raises(ValueError):
        chats.set_language(db, 1, "fr", "2023-11-27T20:03:00+08:00")
