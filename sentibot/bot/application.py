"""The Telegram bot: commands (defined once in COMMANDS), the Application wiring, and serving with the outbox sender."""

from __future__ import annotations

import asyncio
import logging
import signal
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Callable, Coroutine
from typing import Any

from sqlite_utils import Database
from telegram import BotCommand, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ChatAction, ParseMode
from telegram.request import BaseRequest, HTTPXRequest
from telegram.ext import (AIORateLimiter, Application, CallbackQueryHandler, CommandHandler, ContextTypes,
                          MessageHandler, filters)

from sentibot import i18n
from sentibot.alerts import broadcasts
from sentibot.bot import settings as chat_settings
from sentibot.bot.lang import cmd_lang, update_language, word_command
from sentibot.views import replies
from sentibot import timeutil
from sentibot.store import chats, subscriptions
from sentibot.config import Settings
from sentibot.alerts.outbox import Limits, Sender, SenderConfig
from sentibot.errors import ConfigError, SentibotError
from sentibot.logs import protect_token
from sentibot.tls import tls_context
from sentibot.i18n import N_
from sentibot.views.replies import clip
from sentibot.telegram_html import escape as e
from sentibot.telegram_html import split_message, text_limit, units
from sentibot.bot import stocks as stock_commands
from sentibot.store import watchlist as watches
from sentibot.views import stocks as stock_views

log = logging.getLogger(__name__)
CONNECTION_POOL = 8  # connections to the Bot API (DESIGN.md: cap a client's pool at 8); see build_application
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str  # arguments shown in /help (a msgid, translated like the description)
    description: str  # a msgid: sentibot.i18n translates it for /help and each language's menu
    admin: bool = False
    words: tuple[str, ...] = ()  # Chinese words that work as this command (热度, 订阅...)


COMMANDS: tuple[Command, ...] = (
    Command("start", "", N_("what this bot does"), words=("开始",)),
    Command("help", "", N_("the command list"), words=("帮助",)),
    Command("subscribe", N_("[warming|hot|frenzy]"),
            N_("get alerts at this level and above (default hot) + regulator warnings"), words=("订阅",)),
    Command("unsubscribe", "", N_("stop all alerts"), words=("退订",)),
    Command("heat", "", N_("current heat level, score and its components"), words=("热度",)),
    Command("chart", "", N_("chart of the last 90 days"), words=("图表",)),
    Command("top", "[n]", N_("the n hottest BSE stocks (default {top_default}, at most {top_most})"),
            words=("排行", "热榜")),
    Command("stock", N_("<code|name>"), N_("one stock's heat, alerts and notices, with a chart button"),
            words=("个股",)),
    Command("watch", N_("<code|name>"), N_("send a stock's alerts here (at most {cap} stocks per chat)"),
            words=("关注", "自选")),
    Command("unwatch", N_("<code|name>"), N_("stop a stock's alerts"), words=("取消关注",)),
    Command("watchlist", "", N_("the stocks this chat watches; /subscribe stocks [hot|frenzy] adds every stock at "
                                "that level"), words=("自选股", "关注列表")),
    Command("history", "[n]", N_("the last n alerts (default {default}, at most {most})"), words=("预警", "历史")),
    Command("warnings", "", N_("recent regulator warnings with links"), words=("监管", "警示")),
    Command("status", "", N_("health of each data source and its last successful collection"), words=("状态",)),
    Command("lang", "zh|en", N_("this chat's language: Chinese (中文) or English"), words=("语言",)),
    Command("quiet", N_("[HH-HH|off]"), N_("quiet hours in Shanghai time: alerts arrive silently"), words=("免打扰",)),
    Command("alerts", N_("[kind on|off]"), N_("choose the alert kinds: heat, cooling, regulator, stocks, digest"),
            words=("预警类型",)),
    Command("digest", N_("[on|off]"), N_("one summary after the close on each trading day (off until turned on)"),
            words=("日报", "摘要")),
    Command("id", "", N_("your Telegram user id and this chat's id"), words=("我的id",)),
    Command("broadcast", N_("<text>"), N_("send a message to every subscriber"), admin=True),
    Command("sources", "", N_("source counters and the outbox"), admin=True),
)
WORDS = {word: c.name for c in COMMANDS for word in c.words}  # word -> command, for bot.lang.word_command
_VALUES = {"default": replies.HISTORY_DEFAULT, "most": replies.HISTORY_MAX,  # numbers inside descriptions
           "top_default": stock_views.TOP_DEFAULT, "top_most": stock_views.TOP_MAX, "cap": watches.WATCH_MAX}

INTRO = N_("<b>sentibot</b> watches retail attention on the Beijing Stock Exchange (北交所, index 北证50) — forum "
           "posts and search interest against turnover — and warns subscribers when it heats into a frenzy or when "
           "a regulator steps in.")


def describe(lang: str, command: Command) -> str:
    """The command's description in lang (plain text: the menu and /help)."""
    return i18n.t(lang, command.description, **_VALUES)


def _help_line(lang: str, c: Command) -> str:
    usage = e(i18n.t(lang, c.usage)) if c.usage else ""
    return f"/{c.name} {usage}".rstrip() + f" — {e(describe(lang, c))}"


def help_text(lang: str = "en", admin: bool = False) -> str:
    lines = [i18n.h(lang, INTRO), "", i18n.h(lang, "<b>Commands</b>")]
    lines += [_help_line(lang, c) for c in COMMANDS if not c.admin]
    lines += ["", i18n.h(lang, "Words work too, without the slash: {words}.", words="、".join(WORDS))]
    if admin:
        lines += ["", i18n.h(lang, "<b>Admin</b>")] + [_help_line(lang, c) for c in COMMANDS if c.admin]
    return "\n".join(lines)


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Reply in HTML, split under Telegram's length limit at line boundaries; buttons go on the last part."""
    chunks = split_message(text)
    for n, chunk in enumerate(chunks, 1):
        await update.effective_message.reply_text(chunk, parse_mode=ParseMode.HTML, do_quote=False,
                                                  link_preview_options=LinkPreviewOptions(is_disabled=True),
                                                  reply_markup=markup if n == len(chunks) else None)


def _db(context) -> Database:
    return context.bot_data["db"]


def _is_admin(update: Update, context) -> bool:
    user = update.effective_user
    return bool(user) and user.id in context.bot_data["settings"].admin_ids


async def cmd_start(update: Update, context) -> None:
    payload = context.args[0] if context.args else ""
    if payload.startswith("stock_") and "stock" in HANDLERS:  # a t.me deep link from an alert's named stock
        context.args = [payload[len("stock_"):]]
        await HANDLERS["stock"](update, context)
        return
    lang = update_language(update, context)
    await reply(update, help_text(lang, _is_admin(update, context)) + "\n\n"
                + i18n.h(lang, "Start with /subscribe or /heat."))


async def cmd_help(update: Update, context) -> None:
    await reply(update, help_text(update_language(update, context), _is_admin(update, context)))


async def cmd_subscribe(update: Update, context) -> None:
    lang = update_language(update, context)
    if stock_commands.is_stock_subscription(context.args):
        if await chat_settings.guard(update, context, lang):  # a group's administrators only
            await stock_commands.subscribe_stocks(update, context)
        return
    if not context.args:  # shows the chat's setting with buttons; never changes it
        await chat_settings.show_panel(update, context, lang)
        return
    raw = context.args[0]
    level = i18n.parse_level(raw)  # 狂热, frenzy, FRENZY
    if level not in subscriptions.LEVELS:
        names = {k: i18n.level_name(lang, k) for k in subscriptions.LEVELS}
        await reply(update, i18n.h(lang, "“{value}” is not a level. Use /subscribe {warming}, /subscribe {hot} "
                                         "(the default) or /subscribe {frenzy}.", value=clip(raw), **names))
        return
    if not await chat_settings.guard(update, context, lang):  # a group's administrators only
        return
    chat, user = update.effective_chat, update.effective_user
    db, now = _db(context), timeutil.now_iso()
    change = subscriptions.subscribe(db, chat.id, user.id if user else None, chat.type,
                                     user.username if user else None, level, now)
    chats.remember_telegram_language(db, chat.id, user.language_code if user else None, now)
    name = i18n.level_name(lang, level)
    if change == "new":
        text = i18n.h(lang, "Subscribed: this chat gets alerts at level <b>{level}</b> and above, plus every "
                            "regulator warning.\n/unsubscribe stops them.", level=name)
    elif change == "again":
        text = i18n.h(lang, "Subscribed again: this chat gets alerts at level <b>{level}</b> and above, plus every "
                            "regulator warning.\n/unsubscribe stops them.", level=name)
    elif change == "unchanged":
        text = i18n.h(lang, "Already subscribed at level <b>{level}</b>; nothing changed.\n/unsubscribe stops "
                            "them.", level=name)
    else:
        text = i18n.h(lang, "Changed the level from <b>{old}</b> to <b>{level}</b>: this chat gets alerts at that "
                            "level and above, plus every regulator warning.\n/unsubscribe stops them.",
                      old=i18n.level_name(lang, change.split(":", 1)[1]), level=name)
    await reply(update, text)


async def cmd_unsubscribe(update: Update, context) -> None:
    lang = update_language(update, context)
    if not await chat_settings.guard(update, context, lang):  # a group's administrators only
        return
    if stock_commands.is_stock_subscription(context.args):
        await stock_commands.unsubscribe_stocks(update, context)
        return
    if subscriptions.unsubscribe(_db(context), update.effective_chat.id, timeutil.now_iso()):
        await reply(update, i18n.h(lang, "Unsubscribed: this chat gets no more alerts. /subscribe brings them back."))
    else:
        await reply(update, i18n.h(lang, "This chat was not subscribed; nothing changed. /subscribe starts alerts."))


class HeatCache:
    """The /heat text per language, recomputed only when the database changed (any connection, any table)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._texts: dict[str, str] = {}

    def text(self, db: Database, lang: str = "en") -> str:
        from sentibot.views.heat import format_heat, heat_snapshot

        key = (db.execute("PRAGMA data_version").fetchone()[0], db.conn.total_changes, timeutil.now().minute)
        if key != self._key:
            self._texts, self._key = {}, key
        if lang not in self._texts:
            self._texts[lang] = format_heat(heat_snapshot(db), html=True, lang=lang)
        return self._texts[lang]


async def cmd_heat(update: Update, context) -> None:
    from sentibot.views.heat import heat_explanation

    lang, db = update_language(update, context), _db(context)
    text = context.bot_data["heat_cache"].text(db, lang)
    chat = update.effective_chat
    if chat is not None and chats.first_heat(db, chat.id, timeutil.now_iso()):
        text = f"{text}\n\n{heat_explanation(lang)}"  # a chat's first /heat says what the score means
    await reply(update, text, markup=chat_settings.heat_keyboard(lang))


def _db_path(db: Database) -> str:
    return next(r for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main")[2]


def _render_chart(db_path: str, out: Path, lang: str) -> tuple[Path, str]:
    """Render on a separate read connection (this runs in a worker thread); the PNG and its caption."""
    from sentibot.views.chart import chart_caption, render_chart

    conn = sqlite3.connect(db_path, timeout=10)
    try:
        db = Database(conn)
        return render_chart(db, out, days=90, lang=lang), chart_caption(db, lang, days=90)
    finally:
        conn.close()


async def cmd_chart(update: Update, context) -> None:
    await update.effective_chat.send_action(ChatAction.UPLOAD_PHOTO)
    lang, db = update_language(update, context), _db(context)
    key = (db.execute("PRAGMA data_version").fetchone()[0], db.conn.total_changes, lang)
    cache = context.bot_data["chart_cache"].setdefault(lang, {})  # one PNG per language: its labels differ
    # a stat and a read of one small local PNG: not worth a thread hop
    if cache.get("key") != key or not Path(cache.get("path", "")).is_file():  # noqa: ASYNC240
        out = Path(context.bot_data["chart_dir"]) / f"chart_{lang}.png"
        try:
            path, caption = await asyncio.to_thread(_render_chart, _db_path(db), out, lang)
            cache.update(path=str(path), caption=caption, key=key)
        except SentibotError as exc:  # e.g. no scores yet
            await reply(update, e(str(exc)))
            return
        except Exception:
            log.exception("chart rendering failed")
            await reply(update, i18n.h(lang, "Sorry, the chart could not be drawn right now; the error was logged."))
            return
    with open(cache["path"], "rb") as fh:  # noqa: ASYNC230
        await update.effective_message.reply_photo(fh, caption=cache["caption"], do_quote=False)


async def cmd_history(update: Update, context) -> None:
    lang = update_language(update, context)
    n, note = replies.parse_history_arg(context.args, lang)
    if n is None:
        await reply(update, note)
        return
    text = replies.history_text(_db(context), n, lang)
    await reply(update, f"{text}\n{note}" if note else text)


async def cmd_warnings(update: Update, context) -> None:
    await reply(update, replies.warnings_text(_db(context), lang=update_language(update, context)))


async def cmd_status(update: Update, context) -> None:
    """Each source healthy or not and how fresh, in words; the internals are in the admins' /sources."""
    from sentibot.views.status import user_status_text

    await reply(update, user_status_text(_db(context), update_language(update, context), timeutil.now()))


async def cmd_broadcast(update: Update, context) -> None:
    lang = update_language(update, context)
    parts = update.effective_message.text.split(None, 1)
    body = parts[1].strip() if len(parts) > 1 else ""
    if not body:
        await reply(update, i18n.h(lang, "Usage: /broadcast &lt;text&gt; — sends the text to every active "
                                         "subscriber."))
        return
    text = f"📣 {e(body)}"
    if (length := units(text)) > text_limit():
        await reply(update, i18n.h(lang, "Too long to send as one message ({length} characters once escaped); "
                                         "keep it under {limit}. Nothing was sent.",
                                   length=format(length, ","), limit=format(text_limit(), ",")))
        return
    chats_ = [r["chat_id"] for r in _db(context).query("select chat_id from subscribers where active = 1")]
    sender = context.bot_data.get("sender") or Sender(context.bot, _db(context), context.bot_data["sender_config"])
    broadcast_id = sender.start_broadcast(text, update.effective_user.id, chats_)  # stored: a restart resumes it
    log.info("admin %s broadcasts #%s to %s subscribers", update.effective_user.id, broadcast_id, len(chats_))
    await reply(update, i18n.hn(lang, "Broadcasting #{id} to {n} subscriber…", "Broadcasting #{id} to {n} "
                                "subscribers…", len(chats_), id=broadcast_id))
    recipients = await sender.send_broadcast(broadcast_id)  # through the outbox drain, like alerts
    outcomes = replies.outcomes_text(lang, recipients)
    if broadcasts.is_finished(_db(context), broadcast_id):
        await reply(update, i18n.h(lang, "Broadcast #{id} done: {outcomes}.", id=broadcast_id, outcomes=outcomes))
    else:
        await reply(update, i18n.h(lang, "Broadcast #{id} paused, the bot is stopping: {outcomes}. The other "
                                         "subscribers get it when the bot runs again.",
                                   id=broadcast_id, outcomes=outcomes))


async def cmd_sources(update: Update, context) -> None:
    from sentibot.collect.guba.collector import forum_status  # which bar is read as the BSE 50 forum (issue 15)

    db = _db(context)
    forum = e(forum_status(db, context.bot_data["settings"]))
    await reply(update, f"{replies.sources_text(db, update_language(update, context))}\n{forum}")


def admin_only(name: str, handler: Handler) -> Handler:
    """Admin commands check the sender's user id (never the chat), refuse politely and log the refusal."""

    async def guarded(update: Update, context) -> None:
        if _is_admin(update, context):
            await handler(update, context)
            return
        user = update.effective_user
        log.warning("refused /%s from user %s in chat %s: not an admin", name, user.id if user else "?",
                    update.effective_chat.id)
        await reply(update, i18n.h(update_language(update, context),
                                   "Sorry, /{command} is only for this bot's administrators.", command=name))

    return guarded


async def unknown(update: Update, context) -> None:
    """Chinese command words run their command; unknown commands get a hint; commands addressed to another bot and
    plain group chatter are ignored."""
    message = update.effective_message
    if not message or not message.text:
        return
    word = message.text.split(None, 1)[0] if message.text.strip() else ""
    is_command = word.startswith("/")
    if is_command and "@" in word and word.split("@", 1)[1].lower() != (context.bot.username or "").lower():
        return
    if not is_command:
        replied = message.reply_to_message
        to_bot = bool(replied and replied.from_user and replied.from_user.id == context.bot.id)
        found = word_command(message.text, WORDS, update.effective_chat.type, context.bot.username, to_bot)
        if found:
            name, context.args = found
            command = next(c for c in COMMANDS if c.name == name)
            handler = admin_only(name, HANDLERS[name]) if command.admin else HANDLERS[name]
            await handler(update, context)
            return
    if not is_command and update.effective_chat.type != "private":
        return
    lang = update_language(update, context)
    if is_command:
        await reply(update, i18n.h(lang, "I don't know {command}. /help lists them.", command=clip(word, 30)))
    else:
        await reply(update, i18n.h(lang, "I answer commands. /help lists them."))


async def on_error(update: object, context) -> None:
    log.error("handler failed: %s", context.error, exc_info=context.error)


HANDLERS: dict[str, Handler] = {
    "start": cmd_start, "help": cmd_help, "subscribe": cmd_subscribe, "unsubscribe": cmd_unsubscribe,
    "heat": cmd_heat, "chart": cmd_chart, "history": cmd_history, "warnings": cmd_warnings, "status": cmd_status,
    "broadcast": cmd_broadcast, "sources": cmd_sources, "lang": cmd_lang,
    "quiet": chat_settings.cmd_quiet, "alerts": chat_settings.cmd_alerts, "id": chat_settings.cmd_id,
    "digest": chat_settings.cmd_digest,
    "top": stock_commands.cmd_top, "stock": stock_commands.cmd_stock, "watch": stock_commands.cmd_watch,
    "unwatch": stock_commands.cmd_unwatch, "watchlist": stock_commands.cmd_watchlist,
}


async def register_commands(application: Application) -> None:
    """setMyCommands from COMMANDS once per language: zh for language_code=zh, English as the default menu (admin
    commands stay out of the public menu)."""
    for lang in i18n.LANGUAGES:
        menu = [BotCommand(c.name, describe(lang, c)[:256]) for c in COMMANDS if not c.admin]
        await application.bot.set_my_commands(menu, language_code=None if lang == i18n.SOURCE_LANGUAGE else lang)


def build_application(settings: Settings, db: Database, *, limits: Limits = Limits(),
                      concurrent_updates: int = 64, chart_dir: Path | None = None,
                      sender_config: SenderConfig | None = None, request: BaseRequest | None = None) -> Application:
    """The PTB Application with every command, AIORateLimiter at `limits` (none if all are 0), base URL from settings.

    `request` replaces PTB's HTTP transport (for both calls and getUpdates), through PTB's own builder option.
    """
    if not settings.telegram_token:
        raise ConfigError("SENTIBOT_TELEGRAM_TOKEN: not set; the bot needs a token from @BotFather")
    protect_token(settings.telegram_token)
    base = settings.telegram_api_url
    # A pool of 8 (DESIGN.md: cap an httpx client at 8): a burst of replies reuses warm connections instead of
    # opening 50, and httpcore checks every pooled connection on every request. `bench_bot.py --pools` compares
    # sizes (docs/bot.md). A long pool timeout makes a burst queue rather than fail.
    builder = (Application.builder().token(str(settings.telegram_token)).base_url(base)
               .base_file_url(base[:-3] + "file/bot" if base.endswith("/bot") else base)
               .concurrent_updates(concurrent_updates)
               .post_init(register_commands))  # the menu, on every start: sentibot bot and sentibot run alike
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # The Bot API alone goes through SENTIBOT_TELEGRAM_PROXY; the collectors keep SENTIBOT_HTTP_PROXY (or none).
        # PTB's defaults otherwise (timeouts), with the process's one TLS trust store instead of a fresh load each.
        proxy, tls = settings.telegram_proxy, {"verify": tls_context()}
        builder = builder.request(HTTPXRequest(connection_pool_size=CONNECTION_POOL, pool_timeout=10.0, proxy=proxy,
                                               httpx_kwargs=tls))
        builder = builder.get_updates_request(HTTPXRequest(proxy=proxy, httpx_kwargs=tls))
    if limits.overall_per_s or limits.group_per_min:
        # max_retries=0: a 429 reaches the caller (the sender reschedules that row) instead of pausing every request
        builder = builder.rate_limiter(AIORateLimiter(
            overall_max_rate=limits.overall_per_s, overall_time_period=1,
            group_max_rate=limits.group_per_min, group_time_period=60, max_retries=0))  # type: ignore[arg-type]
    application = builder.build()
    language = i18n.default_language(settings.language)
    application.bot_data.update(db=db, settings=settings, heat_cache=HeatCache(), chart_cache={},
                                default_language=language,
                                sender_config=replace(sender_config or SenderConfig(limits=limits),
                                                      default_language=language),
                                chart_dir=str(chart_dir or Path(_db_path(db)).parent))
    for command in COMMANDS:
        handler = HANDLERS[command.name]
        application.add_handler(CommandHandler(command.name, admin_only(command.name, handler) if command.admin
                                               else handler))
    application.add_handler(CallbackQueryHandler(stock_commands.on_chart_button, pattern=stock_commands.CHART_DATA))
    # the same updates the CommandHandlers take (messages, edits): a command posted in a channel gets no reply
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGES & (filters.TEXT | filters.COMMAND), unknown))
    application.add_handler(CallbackQueryHandler(chat_settings.on_callback))  # the /subscribe and /heat buttons
    application.add_error_handler(on_error)
    return application


async def serve(settings: Settings, db: Database, *, limits: Limits = Limits(),
                sender_config: SenderConfig | None = None, stop: asyncio.Event | None = None,
                poll_timeout_s: float | None = None) -> None:
    """`sentibot bot`: answer commands and run the outbox sender until stopped (SIGINT/SIGTERM or `stop`).

    The same lifecycle as `sentibot run` (bot/lifecycle.py): while the Bot API cannot be reached it retries with
    back-off, and the alerts wait in the outbox until it answers.
    """
    from sentibot.bot.lifecycle import BotLink

    sender_config = sender_config or SenderConfig(limits=limits)
    application = build_application(settings, db, limits=limits, sender_config=sender_config)
    link = BotLink(application, settings, poll_timeout_s=poll_timeout_s)
    sender_config = application.bot_data["sender_config"]  # with the settings' default language
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    sender = Sender(application.bot, db, sender_config, online=lambda: link.online)
    application.bot_data["sender"] = sender
    serving = asyncio.ensure_future(link.serve(stop))
    ticks = asyncio.ensure_future(_tick_sender(sender, settings.sender_interval_s, stop))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([serving, stopped], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await ticks
        await sender.stop()
    finally:
        stop.set()
        stopped.cancel()
        await serving  # tears the Application down; raises ConfigError for a rejected token
    if link.conflict:
        raise SentibotError("another instance is polling this bot token (Telegram answered 409 Conflict); "
                            "stop it or use another token")


async def _tick_sender(sender: Sender, interval_s: float, stop: asyncio.Event) -> None:
    """The outbox sender's clock, independent of the Application (which only runs once Telegram answers)."""
    while not stop.is_set():
        await sender.tick()
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            pass
