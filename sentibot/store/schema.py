"""The SQLite schema: one sqlite-utils Migrations set, applied in order by store.open_store."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("sentibot")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("posts").create(
        {"source": str, "post_id": str, "bar": str, "title": str, "published_at": str, "reads": int,
         "comments": int, "author_id": str, "author_name": str, "kind": str, "url": str,
         "first_seen": str, "updated_at": str},
        pk=("source", "post_id"),
    )
    db.table("posts").create_index(["bar", "published_at"])
    db.table("posts").create_index(["published_at"])
    db.table("observations").create(
        {"source": str, "subject": str, "metric": str, "ts": str, "value": float, "origin": str, "updated_at": str},
        pk=("source", "subject", "metric", "ts"),
    )
    db.table("observations").create_index(["ts"])
    db.table("bars").create(
        {"code": str, "date": str, "open": float, "high": float, "low": float, "close": float, "volume": float,
         "amount": float, "turnover_rate": float, "origin": str, "updated_at": str},
        pk=("code", "date"),
    )
    db.table("bars").create_index(["date"])
    db.table("notices").create(
        {"url": str, "source": str, "published_at": str, "title": str, "text": str, "content_hash": str,
         "notice_class": str, "severity": int, "triggers": str, "origin": str, "revision": int,
         "first_seen": str, "updated_at": str},
        pk="url",
    )
    db.table("notices").create_index(["published_at"])
    db.table("notices").create_index(["notice_class", "published_at"])
    db.table("notice_revisions").create(
        {"url": str, "revision": int, "content_hash": str, "title": str, "text": str, "seen_at": str},
        pk=("url", "revision"),
    )
    db.table("scores").create(
        {"date": str, "score": float, "level": str, "components": str, "computed_at": str}, pk="date"
    )
    db.table("alerts").create(
        {"id": int, "kind": str, "ts": str, "level": str, "score": float, "title": str, "reasons": str,
         "dedupe_key": str, "audience": str, "created_at": str},
        pk="id",
    )
    db.table("alerts").create_index(["dedupe_key"], unique=True)
    db.table("alerts").create_index(["ts"])
    db.table("subscribers").create(
        {"chat_id": int, "user_id": int, "chat_type": str, "username": str, "min_level": str, "active": int,
         "subscribed_at": str, "updated_at": str},
        pk="chat_id",
    )
    db.table("deliveries").create(
        {"alert_id": int, "chat_id": int, "status": str, "attempts": int, "next_attempt_at": str,
         "last_error": str, "message_id": int, "sent_at": str, "updated_at": str},
        pk=("alert_id", "chat_id"),
        foreign_keys=[("alert_id", "alerts", "id")],
    )
    db.table("deliveries").create_index(["status", "next_attempt_at"])
    db.table("source_health").create(
        {"source": str, "status": str, "detail": str, "last_attempt_at": str, "last_success_at": str,
         "consecutive_blocks": int, "consecutive_failures": int, "paused_until": str, "unhealthy_since": str,
         "down_alerted": int},
        pk="source",
    )
    db.table("source_attempts").create(
        {"id": int, "source": str, "ts": str, "outcome": str, "detail": str, "items": int}, pk="id"
    )
    db.table("source_attempts").create_index(["source", "ts"])
    db.table("cursors").create({"source": str, "key": str, "value": str, "updated_at": str}, pk=("source", "key"))


@migrations()
def m002_found_alert_kind_index(db: Database) -> None:
    # /warnings and `history --kind` read alerts of one kind in time order.
    db.table("alerts").create_index(["kind", "ts"], if_not_exists=True)

@migrations()
def m002_coll1_universe(db: Database) -> None:
    # The BSE stock list (sources/universe.py): Guba bars and the text dictionary read it.
    db.table("universe").create(
        {"code": str, "name": str, "old_code": str, "market_cap": float, "listed": int, "updated_at": str},
        pk="code",
    )


@migrations()
def m003_post_sentiment(db: Database) -> None:
    # The sentiment label of each post's title (sentibot.text.tokenizer), computed once: a Guba cycle re-derives the bullish
    # share of every post of the day, and re-scoring unchanged titles was a third of the cycle. NULL = not scored yet.
    db.table("posts").add_column("sentiment", str)


@migrations()
def m004_broadcasts(db: Database) -> None:
    # An admin's /broadcast and each recipient's outcome: kept for review, and a broadcast cut short by a restart
    # resumes with the recipients still pending (the same at-most-once marks as deliveries).
    db.table("broadcasts").create(
        {"id": int, "text": str, "admin_id": int, "created_at": str, "finished_at": str}, pk="id"
    )
    db.table("broadcast_deliveries").create(
        {"broadcast_id": int, "chat_id": int, "status": str, "updated_at": str},
        pk=("broadcast_id", "chat_id"),
        foreign_keys=[("broadcast_id", "broadcasts", "id")],
    )
    db.table("broadcast_deliveries").create_index(["status"])


@migrations()
def m005_chat_language(db: Database) -> None:
    # A chat's language (sentibot.i18n): its /lang choice, and the Telegram language_code of the user who last
    # subscribed it, so alerts reach every recipient in its language even if nobody there typed /lang.
    db.table("chat_prefs").create({"chat_id": int, "language": str, "telegram_language": str, "updated_at": str},
                            pk="chat_id")


@migrations()
def m006_notice_stocks(db: Database) -> None:
    # The stocks a notice names (920xxx codes, JSON list), stored with it and carried by its regulator alert
    # (DESIGN.md's alert JSON has `stocks`). NULL on older rows = not extracted: read as an empty list.
    db.table("notices").add_column("stocks", str)
    db.table("alerts").add_column("stocks", str)


@migrations()
def m007_subscriber_settings(db: Database) -> None:
    # Per-chat alert settings (store/subscriptions.py): quiet hours in Shanghai time (alerts sent silently; NULL =
    # none) and the alert kinds a chat muted (comma-separated; NULL = none, so a kind added later reaches everyone).
    db.table("subscribers").add_column("quiet_start", int)
    db.table("subscribers").add_column("quiet_end", int)
    db.table("subscribers").add_column("muted_kinds", str)


@migrations()
def m008_heat_explained(db: Database) -> None:
    # The first /heat a chat sees explains what the score means; later ones do not repeat it.
    db.table("chat_prefs").add_column("heat_explained_at", str)


@migrations()
def m009_stock_heat(db: Database) -> None:
    # Stock heat (score/stock_rescore.py): one row per stock and scored day; /top and /stock read only these.
    db.table("stock_scores").create(
        {"code": str, "date": str, "score": float, "level": str, "attention_ratio": float, "forum_ratio": float,
         "popularity_ratio": float, "turnover_ratio": float, "turnover_rate": float, "limit_streak": int,
         "coupling": float, "close": float, "computed_at": str},
        pk=("code", "date"),
    )
    db.table("stock_scores").create_index(["date", "score"])
    # A chat's watchlist (store/watchlist.py): its stock alerts and the regulator alerts naming these stocks.
    db.table("watches").create({"chat_id": int, "code": str, "added_at": str}, pk=("chat_id", "code"))
    db.table("watches").create_index(["code"])
    # Chats that asked for every stock's alerts at a level (`/subscribe stocks frenzy`).
    db.table("stock_optins").create({"chat_id": int, "min_level": str, "updated_at": str}, pk="chat_id")
    # alerts.stocks (the stocks an alert is about) comes from m006_notice_stocks


@migrations()
def m010_one_outbox(db: Database) -> None:
    # One outbox (alerts/outbox.py): a deliveries row is one alert or one broadcast to one chat, so both go through
    # the same claim, settle, stale-row, cancel and retry steps. SQLite cannot change a primary key or add a CHECK,
    # so the table is rebuilt; every alert delivery and broadcast recipient is copied over with its status.
    db.execute("""
        create table deliveries_new (
            id integer primary key,
            alert_id integer references alerts(id),
            broadcast_id integer references broadcasts(id),
            chat_id integer not null,
            status text not null,
            attempts integer not null default 0,
            next_attempt_at text,
            last_error text,
            message_id integer,
            sent_at text,
            updated_at text,
            check ((alert_id is null) <> (broadcast_id is null))
        )""")
    db.execute("insert into deliveries_new (alert_id, chat_id, status, attempts, next_attempt_at, last_error,"
               " message_id, sent_at, updated_at) select alert_id, chat_id, status, coalesce(attempts, 0),"
               " next_attempt_at, last_error, message_id, sent_at, updated_at from deliveries"
               " order by alert_id, chat_id")
    # broadcast rows kept no attempts: one for a row that was claimed, none for one still pending
    db.execute("insert into deliveries_new (broadcast_id, chat_id, status, attempts, next_attempt_at, sent_at,"
               " updated_at) select broadcast_id, chat_id, status, case when status = 'pending' then 0 else 1 end,"
               " updated_at, case when status = 'sent' then updated_at end, updated_at from broadcast_deliveries"
               " order by broadcast_id, chat_id")
    db.execute("drop table deliveries")
    db.execute("drop table broadcast_deliveries")
    db.execute("alter table deliveries_new rename to deliveries")
    db.table("deliveries").create_index(["alert_id", "chat_id"], unique=True)
    db.table("deliveries").create_index(["broadcast_id", "chat_id"], unique=True)
    db.table("deliveries").create_index(["status", "next_attempt_at"])
    db.table("deliveries").create_index(["chat_id", "status"])  # a block or /unsubscribe settles a chat's rows


@migrations()
def m011_digest(db: Database) -> None:
    # The daily summary (/digest on|off) is an opt-in: 1 = on, NULL = off, so existing and new chats start without it
    # (muted_kinds works the other way round: absence there means a kind is on).
    db.table("subscribers").add_column("digest", int)


KNOWN_MIGRATIONS = {m.name for m in migrations._migrations}
