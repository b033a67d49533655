"""The bot's stock commands: /top, /stock (with a chart button), /watch, /unwatch, /watchlist, and the every-stock
opt-in of /subscribe stocks. Thin shells: parse, call one core function (views/, store/), format, reply."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from pathlib import Path

from sqlite_utils import Database
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ParseMode

from sentibot import i18n, timeutil
from sentibot.bot import settings as chat_settings
from sentibot.bot.lang import update_language
from sentibot.errors import SentibotError
from sentibot.store import watchlist as watches
from sentibot.store.stock_names import Stock, StockInputError, names, resolve
from sentibot.views import replies
from sentibot.views import stocks as views
from sentibot.telegram_html import escape as e
from sentibot.telegram_html import split_message

log = logging.getLogger(__name__)
CHART_PREFIX = "stockchart:"  # callback data of the /stock chart button: stockchart:<920xxx>
CHART_DATA = re.compile(r"^stockchart:(\d{6})$")
ARGS_MAX = 10  # stocks one /watch or /unwatch message may name
ARG_CHARS = 300  # longer arguments are refused before any lookup
STOCK_WORDS = ("stocks", "stock", "个股", "股票")  # `/subscribe stocks [hot|frenzy]`


def _message(update: Update) -> Message:
    assert update.effective_message is not None  # CommandHandler only passes updates with a message
    return update.effective_message


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """application.reply plus an optional inline keyboard on the last chunk (application imports this module, so
    importing its reply here would be circular)."""
    chunks = split_message(text)
    for i, chunk in enumerate(chunks):
        await _message(update).reply_text(
            chunk, parse_mode=ParseMode.HTML, do_quote=False, link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_markup=markup if i == len(chunks) - 1 else None)


def _db(context) -> Database:
    return context.bot_data["db"]


def _arg_text(update: Update) -> str:
    parts = (_message(update).text or "").split(None, 1)
    return parts[1].strip() if len(parts) > 1 else ""


class TopCache:
    """/top texts by n, recomputed only when the database changed (like /heat's cache)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._texts: dict[tuple[int, str], str] = {}

    def text(self, db: Database, n: int, lang: str = "en") -> str:
        key = (db.execute("PRAGMA data_version").fetchone()[0], db.conn.total_changes)
        if key != self._key:
            self._key, self._texts = key, {}
        if (n, lang) not in self._texts:
            self._texts[(n, lang)] = views.format_top(views.top(db, n), html=True, day=views.latest_dates(db)[0],
                                                      lang=lang)
        return self._texts[(n, lang)]


def parse_top_arg(args: list[str], lang: str = "en") -> tuple[int | None, str]:
    """(n, note) for /top [n]; n None means the argument was not a number (note says why)."""
    if not args:
        return views.TOP_DEFAULT, ""
    raw = args[0]
    if not raw.isdecimal() or not raw.isascii() or int(raw) == 0:
        return None, i18n.h(lang, "“{value}” is not a number of stocks. Use /top or /top N with N from 1 to {most}, "
                                  "e.g. /top 5.", value=replies.clip(raw), most=views.TOP_MAX)
    if int(raw) > views.TOP_MAX:
        return views.TOP_MAX, i18n.h(lang, "(showing the top {most}, the most /top shows)", most=views.TOP_MAX)
    return int(raw), ""


async def cmd_top(update: Update, context) -> None:
    lang = update_language(update, context)
    n, note = parse_top_arg(context.args or [], lang)
    if n is None:
        await _reply(update, note)
        return
    cache = context.bot_data.setdefault("top_cache", TopCache())
    text = cache.text(_db(context), n, lang)
    await _reply(update, f"{text}\n{note}" if note else text)


def _resolve(db: Database, raw: str, lang: str) -> tuple[Stock | None, str]:
    try:
        return resolve(db, raw), ""
    except StockInputError as exc:
        return None, exc.text(lang, html=True)


def _too_long(lang: str, raw: str) -> str:
    return i18n.h(lang, "That is {n} characters; name at most {most} stocks by code or name, e.g. /watch 920526 "
                        "志晟信息.", n=format(len(raw), ","), most=ARGS_MAX)


async def cmd_stock(update: Update, context) -> None:
    lang = update_language(update, context)
    raw = _arg_text(update)
    if not raw:
        await _reply(update, i18n.h(lang, "Usage: /stock &lt;code|name&gt;, e.g. /stock 920526 or /stock 凯华材料"))
        return
    if len(raw) > ARG_CHARS:
        await _reply(update, _too_long(lang, raw))
        return
    stock, problem = _resolve(_db(context), raw, lang)
    if stock is None:
        await _reply(update, problem)
        return
    snap = views.stock_snapshot(_db(context), stock)
    chart = InlineKeyboardButton(i18n.t(lang, "📈 chart"), callback_data=CHART_PREFIX + stock.code)
    button = InlineKeyboardMarkup([[chart]]) if snap.row else None
    if stock.code in watches.watchlist(_db(context), _chat_id(update)):
        hint = i18n.h(lang, "/unwatch {code} stops its alerts here", code=stock.code)
    else:
        hint = i18n.h(lang, "/watch {code} sends its alerts to this chat", code=stock.code)
    await _reply(update, views.format_stock(snap, html=True, lang=lang) + "\n" + hint, button)


def _stock_args(update: Update, lang: str) -> tuple[list[str], str]:
    """The stocks a /watch or /unwatch message names (spaces, commas or 、 between them) and a note, if any."""
    raw = _arg_text(update)
    if len(raw) > ARG_CHARS:
        return [], _too_long(lang, raw)
    items = [p for p in re.split(r"[\s,，、;；]+", raw) if p]
    note = i18n.h(lang, "(only the first {most} were read)", most=ARGS_MAX) if len(items) > ARGS_MAX else ""
    return items[:ARGS_MAX], note


async def _each_stock(update: Update, context, lang: str, usage: str, act) -> list[str] | None:
    """The shared shell of /watch and /unwatch: parse, guard the group, resolve each stock, one line per stock from
    act(db, chat, stock); None when it already replied (usage, or a refusal)."""
    items, note = _stock_args(update, lang)
    if not items:
        await _reply(update, note or usage)
        return None
    if not await chat_settings.guard(update, context, lang):  # in a group, its administrators only
        return None
    db, chat = _db(context), _chat_id(update)
    lines = []
    for raw in items:
        stock, problem = _resolve(db, raw, lang)
        lines.append(f"✗ {problem}" if stock is None else act(db, chat, stock))
    return lines + ([note] if note else [])


async def cmd_watch(update: Update, context) -> None:
    lang = update_language(update, context)

    def watch(db: Database, chat: int, stock: Stock) -> str:
        outcome = watches.watch(db, chat, stock.code, timeutil.now_iso())
        if outcome == "added":
            return i18n.h(lang, "✓ watching {stock}", stock=stock.label)
        if outcome == "already":
            return i18n.h(lang, "· already watching {stock}", stock=stock.label)
        return i18n.h(lang, "✗ {stock} not added: this chat watches {cap} stocks, the most it can; /unwatch "
                            "one first", stock=stock.label, cap=watches.WATCH_MAX)

    usage = i18n.h(lang, "Usage: /watch &lt;code|name&gt; ... — up to {cap} stocks per chat; "
                         "their alerts and the regulator notices naming them come here.", cap=watches.WATCH_MAX)
    lines = await _each_stock(update, context, lang, usage, watch)
    if lines is not None:
        await _reply(update, "\n".join(lines) + "\n" + i18n.h(lang, "/watchlist shows them all."))


async def cmd_unwatch(update: Update, context) -> None:
    lang = update_language(update, context)

    def unwatch(db: Database, chat: int, stock: Stock) -> str:
        if watches.unwatch(db, chat, stock.code, timeutil.now_iso()):
            return i18n.h(lang, "✓ stopped watching {stock}", stock=stock.label)
        return i18n.h(lang, "· {stock} was not on this chat's watchlist", stock=stock.label)

    usage = i18n.h(lang, "Usage: /unwatch &lt;code|name&gt; ... — /watchlist shows what this chat watches.")
    lines = await _each_stock(update, context, lang, usage, unwatch)
    if lines is not None:
        await _reply(update, "\n".join(lines))


def watchlist_text(db: Database, chat_id: int, lang: str = "en") -> str:
    """The chat's watched stocks with their newest level and score, and its every-stock opt-in."""
    codes = watches.watchlist(db, chat_id)
    level = watches.optin_level(db, chat_id)
    optin = "\n" + i18n.h(lang, "Every stock's alerts at <b>{level}</b> and above also come here (/unsubscribe "
                                "stocks stops them).", level=i18n.level_name(lang, level)) if level else ""
    if not codes:
        return i18n.h(lang, "This chat watches no stocks yet. /watch &lt;code|name&gt; adds one (up to {cap}).",
                      cap=watches.WATCH_MAX) + optin
    labels = names(db)
    latest = {}
    if db["stock_scores"].exists():
        marks = ",".join("?" * len(codes))
        latest = {r["code"]: r for r in db.query(
            f"select code, level, score, max(date) as date from stock_scores where code in ({marks}) group by code",
            codes)}
    lines = [i18n.h(lang, "<b>Watchlist</b> ({n} of {cap})", n=len(codes), cap=watches.WATCH_MAX)]
    for code in codes:
        r = latest.get(code)
        if r:
            level = r["level"] or "calm"
            score = "n/a" if r["score"] is None else format(r["score"], ".0f")
            state = f"{views.LEVEL_ICON.get(level, '')} {e(i18n.level_name(lang, level))} {score} ({e(r['date'])})"
        else:
            state = i18n.h(lang, "no score yet")
        lines.append(f"• {e(labels.get(code, code))} {e(code)}: {state}")
    return "\n".join(lines) + optin


async def cmd_watchlist(update: Update, context) -> None:
    await _reply(update, watchlist_text(_db(context), _chat_id(update), update_language(update, context)))


def is_stock_subscription(args: list[str] | None) -> bool:
    return bool(args) and args is not None and args[0].lower() in STOCK_WORDS


async def subscribe_stocks(update: Update, context) -> None:
    """/subscribe stocks [hot|frenzy]: every stock entering that level or above, beyond the watchlist."""
    lang = update_language(update, context)
    args = (context.args or [])[1:]
    raw = args[0] if args else watches.OPTIN_DEFAULT
    level = i18n.parse_level(raw)  # 狂热, frenzy, FRENZY
    if level not in watches.OPTIN_LEVELS:
        await _reply(update, i18n.h(lang, "“{value}” is not a stock alert level. Use /subscribe stocks {frenzy} (the "
                                          "default) or /subscribe stocks {hot}.", value=replies.clip(raw),
                                    frenzy=i18n.level_name(lang, "frenzy"), hot=i18n.level_name(lang, "hot")))
        return
    change = watches.optin(_db(context), _chat_id(update), level, timeutil.now_iso())
    name = i18n.level_name(lang, level)
    if change == "new":
        text = i18n.h(lang, "Subscribed to every BSE stock entering <b>{level}</b> or above.", level=name)
    elif change == "unchanged":
        text = i18n.h(lang, "Already subscribed to every BSE stock entering <b>{level}</b> or above; nothing "
                            "changed.", level=name)
    else:
        text = i18n.h(lang, "Changed from {old}: this chat now gets every BSE stock entering <b>{level}</b> or above.",
                      old=i18n.level_name(lang, change.split(":", 1)[1]), level=name)
    await _reply(update, text + "\n" + i18n.h(lang, "/unsubscribe stocks stops them; /watch keeps single stocks."))


async def unsubscribe_stocks(update: Update, context) -> None:
    lang = update_language(update, context)
    if watches.optout(_db(context), _chat_id(update)):
        await _reply(update, i18n.h(lang, "Stopped every-stock alerts; watched stocks (/watchlist) still alert here."))
    else:
        await _reply(update, i18n.h(lang, "This chat had not subscribed to every stock's alerts; nothing changed."))


def _render(db_path: str, stock: Stock, out: Path) -> Path:
    """On a separate read connection: this runs in a worker thread."""
    from sentibot.views.stock_chart import render_stock_chart

    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return render_stock_chart(Database(conn), stock, out)
    finally:
        conn.close()


async def on_chart_button(update: Update, context) -> None:
    """The /stock chart button: the stock's chart as a photo in the same chat."""
    query = update.callback_query
    if query is None:
        return
    match = CHART_DATA.match(query.data or "")
    if not match:  # PTB hands this handler data its pattern does not match (empty data): the settings answer it
        await chat_settings.on_callback(update, context)
        return
    await query.answer()
    if update.effective_chat is None:
        return
    db = _db(context)
    lang = update_language(update, context)
    stock, problem = _resolve(db, match.group(1), lang)
    chat = update.effective_chat
    if stock is None:
        await context.bot.send_message(chat.id, problem, parse_mode=ParseMode.HTML)
        return
    await chat.send_action(ChatAction.UPLOAD_PHOTO)
    path = next(r for r in db.execute("PRAGMA database_list").fetchall() if r[1] == "main")[2]
    out = Path(context.bot_data["chart_dir"]) / f"stock_{stock.code}.png"
    try:
        drawn = await asyncio.to_thread(_render, path, stock, out)
    except SentibotError:  # no scores to chart yet
        await context.bot.send_message(chat.id, i18n.h(lang, "No heat scores for {stock} to chart yet.",
                                                       stock=stock.label), parse_mode=ParseMode.HTML)
        return
    except Exception:
        log.exception("stock chart rendering failed")
        await context.bot.send_message(chat.id, i18n.h(lang, "Sorry, the chart could not be drawn right now; the "
                                                             "error was logged."), parse_mode=ParseMode.HTML)
        return
    photo = await asyncio.to_thread(drawn.read_bytes)
    await context.bot.send_photo(chat.id, photo, caption=i18n.t(lang, "{name} {code}: close, turnover, attention and "
                                                                  "heat, 90 days", name=stock.name, code=stock.code))
