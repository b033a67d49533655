"""The bot's side of languages: the language of an update, /lang, and Chinese words that work as commands."""

from __future__ import annotations

from sqlite_utils import Database
from telegram import Update

from sentibot import i18n, timeutil
from sentibot.store import chats

LANGUAGE_INPUT = {"zh": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh", "简体": "zh", "简体中文": "zh",
                  "en": "en", "english": "en", "英文": "en", "英语": "en"}
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}  # each in its own language, as language pickers show them


def update_language(update: Update, context) -> str:
    """The language to answer this update in: the chat's /lang choice, else the user's Telegram language, else
    SENTIBOT_LANGUAGE (or the locale)."""
    chat, user = update.effective_chat, update.effective_user
    chosen = chats.chosen_language(context.bot_data["db"], chat.id) if chat else None
    return i18n.resolve(chosen, user.language_code if user else None, context.bot_data["default_language"])


def parse_language(text: str) -> str | None:
    """zh or en from what a user types after /lang (zh, EN, 中文, English...), or None."""
    return LANGUAGE_INPUT.get(text.strip().casefold())


async def cmd_lang(update: Update, context) -> None:
    from sentibot.bot.application import reply  # the one reply path (split, HTML)

    db: Database = context.bot_data["db"]
    lang = update_language(update, context)
    if not context.args:
        await reply(update, i18n.h(lang, "This chat's language: {language}. /lang zh switches to Chinese (中文), "
                                         "/lang en to English.", language=LANGUAGE_NAMES[lang]))
        return
    chosen = parse_language(context.args[0])
    if chosen is None:
        await reply(update, i18n.h(lang, "“{value}” is not a language I speak. Use /lang zh (中文) or /lang en "
                                         "(English).", value=_clip(context.args[0])))
        return
    chat = update.effective_chat
    if chat is None:  # not a chat update: nothing to store the choice for
        return
    if chats.set_language(db, chat.id, chosen, timeutil.now_iso()):
        # said in the new language; Telegram's command menu follows each user's app language, not this choice
        await reply(update, i18n.h(chosen, "Done: this chat now gets replies and alerts in {language}.",
                                   language=LANGUAGE_NAMES[chosen]))
    else:
        await reply(update, i18n.h(chosen, "This chat already gets {language}; nothing changed.",
                                   language=LANGUAGE_NAMES[chosen]))


def _clip(value: str, size: int = 40) -> str:
    return value if len(value) <= size else value[:size] + "…"


def word_command(text: str, words: dict[str, str], chat_type: str, bot_username: str | None,
                 reply_to_bot: bool = False) -> tuple[str, list[str]] | None:
    """(command, args) when a message is a Chinese command word (热度, 个股 富士达): in private chats, and in groups
    only when it addresses the bot (a leading @bot_username, or a reply to the bot)."""
    parts = text.split()
    if not parts:
        return None
    if chat_type != "private":
        mention = f"@{bot_username}".casefold() if bot_username else None
        if mention and parts[0].casefold() == mention:
            parts = parts[1:]
        elif not reply_to_bot:
            return None
    if not parts:
        return None
    name = words.get(parts[0])
    return (name, parts[1:]) if name else None
