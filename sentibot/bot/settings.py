"""Subscriber controls: the /subscribe panel and its buttons, /quiet, /alerts, /digest, /id, /heat refresh, group
admins."""

from __future__ import annotations

import logging
import re
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from sentibot import i18n, timeutil
from sentibot.bot.lang import update_language
from sentibot.i18n import N_
from sentibot.store import chats, subscriptions
from sentibot.store.subscriptions import ChatSettings
from sentibot.views.replies import clip, parse_int

log = logging.getLogger(__name__)
ADMIN_STATUSES = {"creator", "administrator"}
MEMBER_CACHE_S = 60.0  # a flood of taps asks getChatMember once a minute per user, not once per tap
CALLBACK = re.compile(r"(sub|kind|heat):([a-z]{1,12})")  # everything else is refused before it is looked at
KIND_NAMES = {"heat": N_("heat rises"), "cooling": N_("cooling"), "regulator": N_("regulator warnings"),
              "stocks": N_("stock alerts"), "digest": N_("daily summary")}
KIND_WORDS = {"regulator_warning": "regulator", "frenzy": "heat", "监管": "regulator", "热度": "heat", "降温": "cooling",
              "stock": "stocks", "个股": "stocks", "summary": "digest", "日报": "digest", "摘要": "digest"}
SWITCH = {"on": True, "开": True, "开启": True, "打开": True, "off": False, "关": False, "关闭": False}
QUIET = re.compile(r"(\d{1,2})(?::00)?-(\d{1,2})(?::00)?")  # 22-07, 22:00-07:00 (ASCII digits: see parse_quiet)


def _db(context):
    return context.bot_data["db"]


# --- who may change a chat's settings ------------------------------------------------------------------------------
async def may_change(update: Update, context) -> bool:
    """Private chats: the user. Groups: its administrators only (getChatMember); an anonymous admin posts as the
    group itself (sender_chat is the chat), which only administrators can do."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == "private":
        return True
    message = update.message
    if message and message.sender_chat and message.sender_chat.id == chat.id:
        return True
    user = update.effective_user
    if user is None:
        return False
    cache = context.bot_data.setdefault("member_cache", {})
    key, now = (chat.id, user.id), time.monotonic()
    if key in cache and cache[key][1] > now:
        return cache[key][0]
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:  # cannot check: refuse (the refusal says so) rather than let anyone change it
        log.warning("getChatMember for user %s in chat %s failed: %s", user.id, chat.id, exc)
        return False
    allowed = member.status in ADMIN_STATUSES
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (allowed, now + MEMBER_CACHE_S)
    return allowed


def refusal(lang: str) -> str:
    return i18n.h(lang, "Sorry, only this group's administrators can change its alerts.")


async def guard(update: Update, context, lang: str) -> bool:
    """True when the sender may change this chat's settings; otherwise replies with a polite one-line refusal."""
    if await may_change(update, context):
        return True
    from sentibot.bot.application import reply

    await reply(update, refusal(lang))
    return False


# --- the /subscribe panel --------------------------------------------------------------------------------------------
def quiet_text(lang: str, quiet: tuple[int, int] | None) -> str:
    if quiet is None:
        return i18n.h(lang, "Quiet hours: none (/quiet 22-07 sends alerts silently from 22:00 to 07:00).")
    start, end = (f"{hour:02d}" for hour in quiet)
    return i18n.h(lang, "Quiet hours: {start}:00–{end}:00 Shanghai time, alerts arrive silently (/quiet off ends "
                        "them).", start=start, end=end)


def panel_text(lang: str, s: ChatSettings) -> str:
    """The chat's current settings, as /subscribe shows them."""
    if s.active:
        head = i18n.h(lang, "This chat gets alerts at level <b>{level}</b> and above.",
                      level=i18n.level_name(lang, s.level))
    else:
        head = i18n.h(lang, "This chat is not subscribed: tap a level to start alerts.")
    marks = [("✅ " if s.wants(k) else "🔕 ") + i18n.t(lang, KIND_NAMES[k]) for k in subscriptions.KINDS]
    kinds = ("、" if lang == "zh" else ", ").join(marks)
    return "\n".join([head, i18n.h(lang, "Alert kinds: {kinds}.", kinds=kinds), quiet_text(lang, s.quiet),
                      i18n.h(lang, "Tap to change; /alerts cooling off or /quiet 22-07 work as commands too.")])


def panel_keyboard(lang: str, s: ChatSettings) -> InlineKeyboardMarkup:
    levels = [InlineKeyboardButton(("• " if s.active and s.level == lv else "") + i18n.level_name(lang, lv),
                                   callback_data=f"sub:{lv}") for lv in subscriptions.LEVELS]
    levels.append(InlineKeyboardButton(("• " if not s.active else "") + i18n.t(lang, "off"), callback_data="sub:off"))
    kinds = [InlineKeyboardButton(("✅ " if s.wants(k) else "🔕 ") + i18n.t(lang, KIND_NAMES[k]),
                                  callback_data=f"kind:{k}") for k in subscriptions.KINDS]
    return InlineKeyboardMarkup([levels, kinds[:3], kinds[3:]])  # five kinds in one row are too narrow on a phone


async def show_panel(update: Update, context, lang: str) -> None:
    from sentibot.bot.application import reply

    chat = update.effective_chat
    if chat is None:
        return
    s = subscriptions.chat_settings(_db(context), chat.id)
    await reply(update, panel_text(lang, s), markup=panel_keyboard(lang, s))


# --- /quiet and /alerts ------------------------------------------------------------------------------------------------
def parse_quiet(raw: str) -> tuple[int, int] | None:
    """(start, end) hours from 22-07 or 22:00-07:00; None when it is not that (① or ２２ included: ASCII only)."""
    match = QUIET.fullmatch(raw.strip())
    if not match:
        return None
    start, end = parse_int(match.group(1)), parse_int(match.group(2))
    if start is None or end is None or start > 23 or end > 23 or start == end:
        return None
    return start, end


async def cmd_quiet(update: Update, context) -> None:
    from sentibot.bot.application import reply

    lang = update_language(update, context)
    db, chat = _db(context), update.effective_chat
    if chat is None:
        return
    if not context.args:
        await reply(update, quiet_text(lang, subscriptions.chat_settings(db, chat.id).quiet))
        return
    raw = context.args[0]
    off = raw.strip().lower() in ("off", "none", "关", "关闭")
    quiet = None if off else parse_quiet(raw)
    if quiet is None and not off:
        await reply(update, i18n.h(lang, "“{value}” is not a time range. Use /quiet HH-HH in Shanghai time, e.g. "
                                         "/quiet 22-07, or /quiet off.", value=clip(raw)))
        return
    if not await guard(update, context, lang):
        return
    subscriptions.set_quiet(db, chat.id, chat.type, quiet, timeutil.now_iso())
    await reply(update, quiet_text(lang, quiet))


def parse_kind(raw: str, lang: str) -> str | None:
    word = raw.strip().casefold()
    for kind in subscriptions.KINDS:
        if word in (kind, i18n.t(lang, KIND_NAMES[kind]).casefold(), i18n.t("zh", KIND_NAMES[kind])):
            return kind
    return KIND_WORDS.get(word)


async def cmd_alerts(update: Update, context) -> None:
    """/alerts shows the kinds; /alerts KIND on|off turns one on or off."""
    from sentibot.bot.application import reply

    lang = update_language(update, context)
    db, chat = _db(context), update.effective_chat
    if chat is None:
        return
    args = context.args or []
    if not args:
        await show_panel(update, context, lang)
        return
    kind = parse_kind(args[0], lang)
    switch = args[1].strip().lower() if len(args) > 1 else ""
    on = SWITCH.get(switch)
    if kind is None or on is None:
        await reply(update, i18n.h(lang, "Use /alerts KIND on|off with KIND heat, cooling, regulator, stocks or "
                                         "digest, e.g. /alerts cooling off."))
        return
    if not await guard(update, context, lang):
        return
    subscriptions.set_kind(db, chat.id, chat.type, kind, on, timeutil.now_iso())
    await show_panel(update, context, lang)


def digest_text(lang: str, s: ChatSettings) -> str:
    """The chat's daily summary setting, as /digest says it."""
    if not s.digest:
        return i18n.h(lang, "Daily summary: off. /digest on sends one summary after the close on each trading day: "
                            "the day's heat, the limit board, the hottest stocks and the regulator warnings.")
    text = i18n.h(lang, "Daily summary: on. After the close on each trading day this chat gets one summary: the "
                        "day's heat, the limit board, the hottest stocks and the regulator warnings. /digest off "
                        "stops it.")
    if not s.active:
        text += "\n" + i18n.h(lang, "This chat is not subscribed yet: /subscribe to receive it.")
    return text


async def cmd_digest(update: Update, context) -> None:
    """/digest says the chat's setting; /digest on|off changes it (a group's administrators only)."""
    from sentibot.bot.application import reply

    lang = update_language(update, context)
    db, chat = _db(context), update.effective_chat
    if chat is None:
        return
    if not context.args:
        await reply(update, digest_text(lang, subscriptions.chat_settings(db, chat.id)))
        return
    on = SWITCH.get(context.args[0].strip().lower())
    if on is None or len(context.args) > 1:
        await reply(update, i18n.h(lang, "“{value}” is not on or off. Use /digest on or /digest off.",
                                   value=clip(" ".join(context.args))))
        return
    if not await guard(update, context, lang):
        return
    subscriptions.set_digest(db, chat.id, chat.type, on, timeutil.now_iso())
    await reply(update, digest_text(lang, subscriptions.chat_settings(db, chat.id)))


async def cmd_id(update: Update, context) -> None:
    from sentibot.bot.application import reply

    lang = update_language(update, context)
    user, chat = update.effective_user, update.effective_chat
    text = i18n.h(lang, "Your Telegram user id: <code>{user}</code>\nThis chat's id: <code>{chat}</code>\nAn "
                        "operator puts user ids in SENTIBOT_ADMIN_IDS to allow /broadcast and /sources.",
                  user=user.id if user else "-", chat=chat.id if chat else "-")
    await reply(update, text)


# --- buttons ---------------------------------------------------------------------------------------------------------
def heat_keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("🔄 " + i18n.t(lang, "Refresh"), callback_data="heat:refresh")]])


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """(action, value) of a button's data, or None: data is input like any other (anyone can send any bytes)."""
    match = CALLBACK.fullmatch(data or "")
    if not match:
        return None
    action, value = match.groups()
    allowed = {"sub": (*subscriptions.LEVELS, "off"), "kind": subscriptions.KINDS, "heat": ("refresh",)}[action]
    return (action, value) if value in allowed else None


async def on_callback(update: Update, context) -> None:
    """A tap on a button: validate the data, check the group's admins, change the setting, edit the message."""
    query = update.callback_query
    if query is None:
        return
    lang = update_language(update, context)
    parsed = parse_callback(query.data)
    chat = update.effective_chat
    if parsed is None or chat is None or query.message is None:
        log.debug("refused callback data %r", (query.data or "")[:64])
        await query.answer(i18n.t(lang, "This button is out of date; send the command again."))
        return
    action, value = parsed
    db = _db(context)
    if action == "heat":
        text = context.bot_data["heat_cache"].text(db)
        await query.answer()
        await _edit(query, text, heat_keyboard(lang))
        return
    if not await may_change(update, context):
        await query.answer(i18n.t(lang, "Sorry, only this group's administrators can change its alerts."),
                           show_alert=True)
        return
    now = timeutil.now_iso()
    user = update.effective_user
    if action == "sub" and value == "off":
        subscriptions.unsubscribe(db, chat.id, now)
    elif action == "sub":
        subscriptions.subscribe(db, chat.id, user.id if user else None, chat.type,
                                user.username if user else None, value, now)
        chats.remember_telegram_language(db, chat.id, user.language_code if user else None, now)
    else:
        current = subscriptions.chat_settings(db, chat.id)
        subscriptions.set_kind(db, chat.id, chat.type, value, not current.wants(value), now)
    s = subscriptions.chat_settings(db, chat.id)
    await query.answer()
    await _edit(query, panel_text(lang, s), panel_keyboard(lang, s))


async def _edit(query, text: str, markup: InlineKeyboardMarkup) -> None:
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():  # a second tap on the same button changes nothing: fine
            raise
