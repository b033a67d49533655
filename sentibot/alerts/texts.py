"""One Telegram formatter per alert kind, in the recipient's language (pure: alert, language and facts in, HTML out)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from sentibot import i18n
from sentibot.alerts.digest import digest_of
from sentibot.i18n import N_, Safe
from sentibot.models import Alert, AlertKind
from sentibot.telegram_html import text_limit, units

LEVEL_EMOJI = {"calm": "🟢", "warming": "🟡", "hot": "🟠", "frenzy": "🔴"}
REASON_LINES = 4  # a regulator alert shows at most this many lines below its head, title, stocks and time
STOCKS_SHOWN = 8
# The supervisory measures of sentibot.text.notice_class, in plain words (the Chinese is the regulator's own term).
MEASURE_WORDS = {
    "口头警示": N_("verbal warnings"), "自律监管措施": N_("self-regulatory measures"),
    "监管关注": N_("regulatory attention"), "重点监控": N_("close monitoring of named stocks"),
    "专项核查": N_("a special inspection"), "监管工作函": N_("a regulatory work letter"),
    "警示函": N_("warning letters issued"), "通报批评": N_("public criticism"), "公开谴责": N_("public censure"),
    "立案调查": N_("a formal investigation"), "行政处罚": N_("administrative penalties"),
    "暂停证券账户交易": N_("trading accounts suspended"), "限制证券账户交易": N_("trading accounts restricted"),
    "市场禁入": N_("a market ban"),
}
# The attention series names of sentibot.score.rescore.SERIES_NAMES (a label is "<name> <subject>").
SERIES_WORDS = {"WeChat index": N_("WeChat index"), "Baidu index": N_("Baidu index"), "Guba posts": N_("Guba posts"),
                "Guba reads": N_("Guba reads"), "Eastmoney popularity": N_("Eastmoney popularity")}
MEANINGS = {  # what a level means for a reader, said once in each heat alert and on a user's first /heat
    "calm": N_("attention and trading are at their usual levels."),
    "warming": N_("interest is building above normal; not a frenzy yet."),
    "hot": N_("retail attention is running far above normal: prices can swing hard both ways."),
    "frenzy": N_("a retail frenzy: on this exchange such peaks have ended in sharp falls and regulator action."),
}


@dataclass(frozen=True)
class Facts:
    """What the stored history says beyond the alert row (sentibot.alerts.facts reads it): all optional."""

    attention: tuple[tuple[str, float], ...] = ()  # (series label, ratio to its median), strongest first
    turnover_ratio: float | None = None
    strongest_since: str | None = None  # the last earlier day with a score at least as high
    first_day: str | None = None  # the first scored day (when nothing earlier is as high)
    notice_url: str | None = None
    notice_source: str | None = None
    notice_text: str = ""
    stocks: tuple[tuple[str, str], ...] = ()  # (code, name) a notice names
    stock_row: dict | None = None  # a stock alert's day in stock_scores (its reasons, rendered per language)
    bot_username: str | None = None


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def moment(lang: str, stamp: str) -> str:
    """i18n.when of a stored ISO time; a stamp that is not one is shown as it is (never a failed delivery)."""
    try:
        return i18n.when(lang, stamp)
    except (TypeError, ValueError):
        return stamp


def day(lang: str, stamp: str) -> str:
    """i18n.full_date of a stored ISO date or time, or the stamp as it is."""
    try:
        return i18n.full_date(lang, stamp)
    except (TypeError, ValueError):
        return stamp


def series_name(lang: str, label: str) -> str:
    """'WeChat index 北交所' as 微信指数 北交所 in Chinese (a label the table does not know is shown as it is)."""
    for english, msgid in SERIES_WORDS.items():
        if label.startswith(english):
            return i18n.t(lang, msgid) + label[len(english):]
    return label


def meaning(lang: str, level: str) -> str:
    return i18n.t(lang, MEANINGS[level]) if level in MEANINGS else ""


# What makes a stock component worth a line in its alert: the thresholds of score/stock_rescore.reasons_for, whose
# stored English reasons these lines replace.
NOTABLE = {"forum_ratio": 1.5, "popularity_ratio": 1.5, "turnover_ratio": 1.2, "turnover_rate": 5.0,
           "limit_streak": 1, "coupling": 0.5}


def _say(lang: str, html: bool, msgid: str, **values: object) -> str:
    return i18n.h(lang, msgid, **values) if html else i18n.t(lang, msgid, **values)


def stock_evidence(row: dict, lang: str, html: bool = False, notable: bool = False) -> list[str]:
    """A stock_scores row in words (/stock shows every component; an alert, with notable, the striking ones)."""
    numbers = {k: row[k] for k in NOTABLE if isinstance(row.get(k), (int, float))}
    v = {k: x for k, x in numbers.items() if not notable or x >= NOTABLE[k]}
    out = []
    if "forum_ratio" in v:
        out.append(_say(lang, html, N_("forum activity {ratio}x its 20-day median"), ratio=f"{v['forum_ratio']:.1f}"))
    if "popularity_ratio" in v:
        out.append(_say(lang, html, N_("popularity rank {ratio}x better than its 20-day median"),
                        ratio=f"{v['popularity_ratio']:.1f}"))
    if "turnover_ratio" in v:
        out.append(_say(lang, html, N_("turnover {ratio}x its 20-day mean"), ratio=f"{v['turnover_ratio']:.1f}"))
    if "turnover_rate" in v:
        out.append(_say(lang, html, N_("turnover rate {rate}%"), rate=f"{v['turnover_rate']:.1f}"))
    if v.get("limit_streak"):
        n = int(v["limit_streak"])
        out.append(i18n.hn(lang, "{n} limit-up close in a row", "{n} limit-up closes in a row", n) if html else
                   i18n.tn(lang, "{n} limit-up close in a row", "{n} limit-up closes in a row", n))
    if "coupling" in v:
        r = f"{v['coupling']:.2f}"
        if v["coupling"] >= 0.5:
            out.append(_say(lang, html, N_("attention and turnover rise together over 20 days (rank correlation "
                                           "{r})"), r=r))
        elif v["coupling"] <= -0.5:
            out.append(_say(lang, html, N_("attention and turnover move apart over 20 days (rank correlation {r})"),
                            r=r))
        else:
            out.append(_say(lang, html, N_("attention and turnover are loosely linked over 20 days (rank "
                                           "correlation {r})"), r=r))
    return out


def stock_label(alert: Alert) -> str:
    """'凯华材料 (920526)' from a stock alert's stored title ('凯华材料 (920526) heat warming → frenzy')."""
    return alert.title.split(" heat ", 1)[0]


def alert_title(alert: Alert, lang: str) -> str:
    """The stored title, or in another language a heat alert's move between levels (the stored one is English)."""
    if lang == i18n.SOURCE_LANGUAGE or alert.kind not in (AlertKind.FRENZY, AlertKind.COOLING):
        return alert.title
    move = " → ".join(i18n.level_name(lang, lv) for lv in (previous_level(alert), alert.level) if lv)
    return i18n.t(lang, "{stock}: {move}", stock=stock_label(alert), move=move) if alert.stocks else move


def _times(value: float) -> str:
    return f"{value:.1f}"


def _evidence(alert: Alert, lang: str, facts: Facts) -> list[str]:
    """What changed, in words: attention and turnover against their usual levels, and how rare the reading is."""
    lines = []
    if facts.attention:
        name, ratio = facts.attention[0]
        if facts.turnover_ratio is not None:
            lines.append(i18n.h(lang, "Attention ({series}) is {ratio} times its usual level and turnover {turnover} "
                                      "times its 20-day average.", series=series_name(lang, name),
                                ratio=_times(ratio), turnover=_times(facts.turnover_ratio)))
        else:
            lines.append(i18n.h(lang, "Attention ({series}) is {ratio} times its usual level.",
                                series=series_name(lang, name), ratio=_times(ratio)))
        if len(facts.attention) > 1 and alert.kind is AlertKind.FRENZY:
            lines.append(i18n.hn(lang, "{n} other attention series agrees.", "{n} other attention series agree.",
                                 len(facts.attention) - 1))
    elif facts.turnover_ratio is not None:
        lines.append(i18n.h(lang, "Turnover is {turnover} times its 20-day average (no attention series yet).",
                            turnover=_times(facts.turnover_ratio)))
    if alert.kind is AlertKind.FRENZY and alert.score is not None:
        if facts.strongest_since:
            lines.append(i18n.h(lang, "This is the strongest reading since {day}.",
                                day=i18n.full_date(lang, facts.strongest_since)))
        elif facts.first_day:
            lines.append(i18n.h(lang, "This is the strongest reading since the history starts ({day}).",
                                day=i18n.full_date(lang, facts.first_day)))
    return lines


def _score(lang: str, alert: Alert) -> str:
    return "" if alert.score is None else i18n.h(lang, " · score {score}/100", score=format(alert.score, ".0f"))


def previous_level(alert: Alert) -> str | None:
    """The level a heat alert moved from, read from its stored title ('BSE heat hot → frenzy')."""
    before = alert.title.rsplit(" → ", 1)[0].split()[-1:] if " → " in alert.title else []
    return before[0] if before and before[0] in i18n.LEVELS else None


def _format_frenzy(alert: Alert, lang: str, facts: Facts) -> list[str]:
    icon, level, before = LEVEL_EMOJI.get(alert.level, "🔥"), i18n.level_name(lang, alert.level), previous_level(alert)
    if alert.stocks:  # a stock's own alert (score/stock_rescore.py): its title names the stock and its code
        head = i18n.h(lang, "{icon} <b>Stock heat up: {stock}</b> · now {level}", icon=icon, stock=stock_label(alert),
                      level=level)
        reasons = stock_evidence(facts.stock_row, lang, html=True, notable=True) if facts.stock_row else \
            [_e(r) for r in alert.reasons if lang == i18n.SOURCE_LANGUAGE]  # the stored ones are English
        return [head + _score(lang, alert), *reasons[:REASON_LINES], f"<i>{_e(moment(lang, alert.ts))}</i>"]
    if before:
        head = i18n.h(lang, "{icon} <b>BSE heat up: {previous} → {level}</b>", icon=icon, level=level,
                      previous=i18n.level_name(lang, before))
    else:
        head = i18n.h(lang, "{icon} <b>BSE heat: {level}</b>", icon=icon, level=level)
    lines = [head + _score(lang, alert)]
    lines += _evidence(alert, lang, facts) or [_e(r) for r in alert.reasons[:REASON_LINES] if lang == "en"]
    if alert.level in MEANINGS:
        lines.append(i18n.h(lang, "What it means: {meaning}", meaning=meaning(lang, alert.level)))
    return lines + [f"<i>{_e(moment(lang, alert.ts))}</i>"]


def _format_cooling(alert: Alert, lang: str, facts: Facts) -> list[str]:
    head = i18n.h(lang, "🧊 <b>BSE heat cooling: now {level}</b>", level=i18n.level_name(lang, alert.level or "calm"))
    lines = [head + _score(lang, alert),
             i18n.h(lang, "The score has stayed below the hot threshold for two trading days.")]
    lines += _evidence(alert, lang, facts) or [_e(r) for r in alert.reasons[1:REASON_LINES] if lang == "en"]
    return lines + [f"<i>{_e(moment(lang, alert.ts))}</i>"]


def _measures(alert: Alert, facts: Facts) -> list[str]:
    """The measures a notice names, strongest first (from the notice text, else from the stored reasons)."""
    from sentibot.text.notice_class import MEASURES

    text = f"{alert.title}\n{facts.notice_text}" if facts.notice_text else ""
    found = [m for m in MEASURES if m in text] if text else []
    found += [r.split(": ", 1)[1] for r in alert.reasons if r.startswith("measure: ")]
    found = [m for m in dict.fromkeys(found) if m in MEASURES and not any(m != o and m in o for o in found)]
    return sorted(found, key=lambda m: -MEASURES[m])


def _stock_link(lang: str, code: str, name: str, bot: str | None) -> str:
    label = i18n.h(lang, "{name} ({code})", name=name, code=code) if name else _e(code)
    if bot:  # a t.me deep link opens the bot on /start stock_<code>, which shows the /stock page
        return f'<a href="https://t.me/{_e(bot)}?start=stock_{_e(code)}">{label}</a>'
    return f"{label} /stock {_e(code)}"


def _format_regulator(alert: Alert, lang: str, facts: Facts) -> list[str]:
    measures = _measures(alert, facts)
    did = i18n.t(lang, MEASURE_WORDS[measures[0]]) if measures else i18n.t(lang, "trading supervision tightened")
    lines = [i18n.h(lang, "⚠️ <b>Regulator warning: {measure}</b>", measure=did)]
    url = facts.notice_url or (alert.dedupe_key.split(":", 1)[1] if alert.dedupe_key.startswith("regulator_") else "")
    title = f"<b>{_e(alert.title)}</b>"
    lines.append(f'<a href="{_e(url)}">{title}</a>' if url.startswith(("https://", "http://")) else title)
    if facts.stocks:
        shown = [_stock_link(lang, code, name, facts.bot_username) for code, name in facts.stocks[:STOCKS_SHOWN]]
        rest = len(facts.stocks) - STOCKS_SHOWN
        more = i18n.hn(lang, " and {n} more", " and {n} more", rest) if rest > 0 else ""
        lines.append(i18n.h(lang, "Stocks named: {stocks}{more}", stocks=Safe("、".join(shown) if lang == "zh"
                                                                              else ", ".join(shown)), more=Safe(more)))
    source = facts.notice_source or next((r.split(": ", 1)[1] for r in alert.reasons if r.startswith("source: ")),
                                         "")
    if source:
        lines.append(i18n.h(lang, "Published {when} by {source}", when=moment(lang, alert.ts), source=source))
    else:
        lines.append(i18n.h(lang, "Published {when}", when=moment(lang, alert.ts)))
    extra = []
    if len(measures) > 1:
        words = [i18n.t(lang, MEASURE_WORDS[m]) for m in measures[1:4]]
        extra.append(i18n.h(lang, "Also: {measures}", measures=("、" if lang == "zh" else ", ").join(words)))
    stored = [r for r in alert.reasons[:1] if not r.startswith(("measure: ", "source: "))]  # the stored excerpt
    excerpt = " ".join((facts.notice_text or "".join(stored)).split())
    if excerpt:
        extra.append(f"<i>{_e(excerpt[:160] + ('…' if len(excerpt) > 160 else ''))}</i>")
    if alert.level:
        extra.append(i18n.h(lang, "Heat when published: {level}", level=i18n.level_name(lang, alert.level))
                     + _score(lang, alert))
    return lines + extra[:REASON_LINES]


def _format_source_down(alert: Alert, lang: str, facts: Facts) -> list[str]:
    return [i18n.h(lang, "🛠 <b>Source down</b> (admins)"), _e(alert.title), *(_e(r) for r in alert.reasons[:4])]


def _digest_market(lang: str, market) -> list[str]:
    parts = []
    if isinstance(market.get("close"), (int, float)):
        change = f" ({market['pct_change']:+.2f}%)" if isinstance(market.get("pct_change"), (int, float)) else ""
        parts.append(i18n.h(lang, "BSE 50 {close}{change}", close=format(market["close"], ".2f"), change=change))
    if isinstance(market.get("amount"), (int, float)):
        parts.append(i18n.h(lang, "turnover {amount}", amount=i18n.yuan(lang, market["amount"])))
    if isinstance(market.get("turnover_ratio"), (int, float)):
        parts.append(i18n.h(lang, "{ratio} times its 20-day average", ratio=_times(market["turnover_ratio"])))
    return [" · ".join(parts)] if parts else []


def _digest_board(lang: str, board) -> list[str]:
    if not board or not isinstance(board.get("limit_up"), int):
        return [i18n.h(lang, "Limit board: no stock bars for the day.")]
    line = i18n.h(lang, "Limit board: {up} at +30%, {down} at −30%, {broken} broken limits, the longest limit-up run "
                        "{streak} days.", up=board["limit_up"], down=board.get("limit_down") or 0,
                  broken=board.get("broken_limit") or 0, streak=board.get("limit_streak_max") or 0)
    if isinstance(board.get("up_share"), (int, float)):
        line += ("" if lang == "zh" else " ") + i18n.h(lang, "{share} of stocks rose.",
                                                       share=format(board["up_share"], ".0%"))
    return [line]


def _format_digest(alert: Alert, lang: str, facts: Facts) -> list[str]:
    d = digest_of(alert)
    level = i18n.level_name(lang, d.level)
    lines = [i18n.h(lang, "📋 <b>BSE daily summary · {day}</b>", day=day(lang, d.day)),
             i18n.h(lang, "Heat: {icon} <b>{level}</b>", icon=LEVEL_EMOJI.get(d.level, "🔥"), level=level)
             + _score(lang, alert)]
    lines += _digest_market(lang, d.market) + _digest_board(lang, d.breadth)
    if d.provisional:
        lines.append(i18n.h(lang, "<i>Provisional: the day's bars were read before the 15:00 close.</i>"))
    if d.stocks:
        lines.append(i18n.h(lang, "<b>Hottest stocks</b>"))
        for n, s in enumerate(d.stocks, 1):
            score = "" if s.score is None else f" {s.score:.0f}"
            streak = i18n.hn(lang, " · {n} limit-up close", " · {n} limit-up closes in a row", s.limit_streak) \
                if s.limit_streak else ""
            lines.append(f"{n}. {_stock_link(lang, s.code, s.name, facts.bot_username)} "
                         f"{LEVEL_EMOJI.get(s.level, '')}{_e(score)}{streak}")
    else:
        lines.append(i18n.h(lang, "Hottest stocks: no stock heat for the day."))
    if d.notices:
        lines.append(i18n.hn(lang, "<b>{n} regulator warning</b>", "<b>{n} regulator warnings</b>", d.notice_count))
        for notice in d.notices:
            title = _e(notice.title)
            link = f'<a href="{_e(notice.url)}">{title}</a>' if notice.url.startswith(("https://", "http://")) \
                else title
            lines.append(f"• {link} · {_e(moment(lang, notice.published_at))}")
    else:
        lines.append(i18n.h(lang, "No regulator warning since the last summary."))
    return lines + [i18n.h(lang, "<i>/digest off stops this summary.</i>")]


FORMATTERS: dict[AlertKind, Callable[[Alert, str, Facts], list[str]]] = {
    AlertKind.FRENZY: _format_frenzy,
    AlertKind.COOLING: _format_cooling,
    AlertKind.REGULATOR_WARNING: _format_regulator,
    AlertKind.SOURCE_DOWN: _format_source_down,
    AlertKind.DIGEST: _format_digest,
}


def format_alert(alert: Alert, lang: str = "en", facts: Facts | None = None) -> str:
    """Telegram HTML for an alert in lang; every stored string escaped; cut to text_limit() UTF-16 units."""
    lines = FORMATTERS[alert.kind](alert, lang, facts or Facts())
    text = "\n".join(lines)
    while units(text) > text_limit() and len(lines) > 2:
        lines = lines[:-2] + ["…"]  # drop whole lines so no HTML tag or entity is cut in half
        text = "\n".join(lines)
    if units(text) > text_limit():
        text = _e(alert.title[:1000]) + "…"  # cut the raw string, then escape: no entity is split
    return text
