"""Per-chat preferences (table chat_prefs): the /lang choice and the subscriber's Telegram language."""

from __future__ import annotations

from sqlite_utils import Database

from sentibot import i18n


def _row(db: Database, chat_id: int) -> dict | None:
    return next(db.query("select * from chat_prefs where chat_id = ?", [chat_id]), None)


def chosen_language(db: Database, chat_id: int) -> str | None:
    """The chat's /lang choice, or None when it never chose."""
    row = _row(db, chat_id)
    return row["language"] if row else None


def set_language(db: Database, chat_id: int, lang: str, now: str) -> bool:
    """Store the chat's /lang choice; False when it was already that language."""
    if lang not in i18n.LANGUAGES:
        raise ValueError(f"language must be one of {i18n.LANGUAGES}, got {lang!r}")  # callers validate input
    with db.atomic():
        if chosen_language(db, chat_id) == lang:
            return False
        db.execute("insert into chat_prefs (chat_id, language, updated_at) values (?, ?, ?) on conflict(chat_id)"
                   " do update set language = excluded.language, updated_at = excluded.updated_at",
                   [chat_id, lang, now])
    return True


def remember_telegram_language(db: Database, chat_id: int, code: str | None, now: str) -> None:
    """Keep the language_code of the user who subscribes a chat: alerts sent later have no user to ask."""
    if not code:
        return
    db.execute("insert into chat_prefs (chat_id, telegram_language, updated_at) values (?, ?, ?) on conflict(chat_id)"
               " do update set telegram_language = excluded.telegram_language, updated_at = excluded.updated_at",
               [chat_id, code[:35], now])


def recipient_languages(db: Database, chat_ids: list[int], default: str) -> dict[int, str]:
    """The language of each recipient chat (its choice, else its subscriber's Telegram language, else default)."""
    found = {}
    for start in range(0, len(chat_ids), 500):  # under SQLite's 999 variables
        part = chat_ids[start:start + 500]
        marks = ",".join("?" * len(part))
        for r in db.query(f"select chat_id, language, telegram_language from chat_prefs where chat_id in ({marks})",
                          part):
            found[r["chat_id"]] = i18n.resolve(r["language"], r["telegram_language"], default)
    return {chat_id: found.get(chat_id, i18n.resolve(None, None, default)) for chat_id in chat_ids}


def first_heat(db: Database, chat_id: int, now: str) -> bool:
    """True (and remembered) the first time a chat asks for /heat, which then explains what the score means."""
    with db.atomic():
        row = _row(db, chat_id)
        if row and row.get("heat_explained_at"):
            return False
        db.execute("insert into chat_prefs (chat_id, heat_explained_at, updated_at) values (?, ?, ?) on conflict"
                   "(chat_id) do update set heat_explained_at = excluded.heat_explained_at", [chat_id, now, now])
    return True
