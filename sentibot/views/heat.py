"""The current heat snapshot (from the stored history only, never scraping) and its text/HTML formatting."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from sentibot import calendar
from sentibot.models import EVENT_KINDS, Alert
from sentibot.store.db import alert_from_row
from sentibot.telegram_html import escape
from sentibot.timeutil import SHANGHAI
from sentibot.timeutil import now as shanghai_now
from sentibot import i18n
from sentibot.alerts.texts import MEANINGS, day, meaning, series_name
from sentibot.i18n import N_
from sentibot.views.replies import kind_name
from sentibot.views.status import SOURCE_NAMES

UNHEALTHY = ("blocked", "paused", "failed")  # source_health.status values written by sources/health.py
EMPTY_MESSAGE = N_("no scores yet: run `sentibot collect` or `sentibot replay` first")  # English in --json


@dataclass(frozen=True)
class HeatSnapshot:
    """What /heat and `sentibot heat` show."""

    date: str
    score: float | None
    level: str
    components: dict
    reasons: tuple[str, ...] = ()
    lead_lag: dict = field(default_factory=dict)
    recent_alerts: tuple[Alert, ...] = ()
    warnings: tuple[dict, ...] = ()
    sources: tuple[dict, ...] = ()
    as_of: str = ""  # ISO time of the newest data the score used
    age_s: int = 0  # seconds from as_of to the moment of the snapshot
    session: str = ""  # calendar.SESSION_STATES at the moment of the snapshot
    basis: str = ""  # attention_and_market or market_only
    breadth: dict | None = None  # the limit board; None when no stock bars are stored
    provisional: bool = False  # the day's bars were observed before its 15:00 close
    stale: bool = False  # the data are older than the last trading session's close
    last_close: str = ""  # that close (ISO), what "stale" is measured against

    def to_json(self) -> dict:
        return {"date": self.date, "score": self.score, "level": self.level, "basis": self.basis,
                "as_of": self.as_of, "age_s": self.age_s, "session": self.session,
                "provisional": self.provisional, "stale": self.stale, "breadth": self.breadth,
                "reasons": list(self.reasons), "lead_lag": self.lead_lag, "components": self.components,
                "recent_alerts": [a.to_json() for a in self.recent_alerts],
                "warnings": list(self.warnings), "sources": list(self.sources)}


def _table(db: Database, name: str) -> bool:
    return db[name].exists()


def heat_snapshot(db: Database, alerts: int = 5, warnings: int = 3, now: datetime | None = None) -> HeatSnapshot | None:
    """The latest stored score with its components, its age at `now`, recent alerts, warnings and source health."""
    row = next(db.query("select * from scores order by date desc limit 1"), None) if _table(db, "scores") else None
    if row is None:
        return None
    components = json.loads(row["components"] or "{}")
    recent = tuple(alert_from_row(r) for r in db.query(
        f"select * from alerts where kind in ({','.join('?' * len(EVENT_KINDS))}) order by ts desc, id desc limit ?",
        [*EVENT_KINDS, alerts]))
    warns = tuple(db.query(
        "select published_at, title, url, source from notices where notice_class = 'regulator_warning' "
        "order by published_at desc limit ?", [warnings]))
    sources = tuple(db.query("select source, status, last_success_at from source_health order by source"))
    moment = (now or shanghai_now()).astimezone(SHANGHAI)
    as_of = datetime.fromisoformat(components.get("as_of") or f"{row['date']}T15:00:00+08:00")
    close = calendar.last_close(moment)
    basis = components.get("basis") or ("attention_and_market" if components.get("attention") else "market_only")
    return HeatSnapshot(date=row["date"], score=row["score"], level=row["level"], components=components,
                        reasons=tuple(components.get("reasons", ())), lead_lag=components.get("lead_lag") or {},
                        recent_alerts=recent, warnings=warns, sources=sources,
                        as_of=as_of.isoformat(timespec="seconds"),
                        age_s=max(0, int((moment - as_of).total_seconds())),
                        session=calendar.session_state(moment), basis=basis, breadth=components.get("breadth"),
                        provisional=bool(components.get("provisional")), stale=as_of < close,
                        last_close=close.isoformat(timespec="seconds"))


SESSION_NAMES = {  # calendar.SESSION_STATES in words
    "pre_open": N_("market pre-open"), "open": N_("market open"), "lunch_break": N_("market lunch break"),
    "closed": N_("market closed"), "holiday": N_("market holiday"),
}


def describe_age(age_s: int, lang: str = "en") -> str:
    """'12 minutes ago', '5 hours ago', '3 days ago' (12分钟前, ...)."""
    minutes = age_s // 60
    if minutes < 60:
        return i18n.t(lang, "just now") if minutes < 1 else i18n.tn(lang, "{n} minute ago", "{n} minutes ago", minutes)
    hours = minutes // 60
    if hours < 48:
        return i18n.tn(lang, "{n} hour ago", "{n} hours ago", hours)
    return i18n.tn(lang, "{n} day ago", "{n} days ago", hours // 24)


def describe_time(snapshot: HeatSnapshot, lang: str = "en") -> list[str]:
    """'as of 2023-12-29 15:00 (3 days ago)' and, when due, the provisional note and the stale warning."""
    session = SESSION_NAMES.get(snapshot.session)
    lines = [i18n.t(lang, "as of {time} ({ago}) · {session}", time=snapshot.as_of[:16].replace("T", " "),
                    ago=describe_age(snapshot.age_s, lang),
                    session=i18n.t(lang, session) if session else snapshot.session)]
    if snapshot.provisional:
        lines.append(i18n.t(lang, "provisional: this day's bars were read before the 15:00 close"))
    if snapshot.stale:
        lines.append(i18n.t(lang, "⚠️ stale data: nothing newer than {day}, before the last trading session ({close}); "
                                  "collection may be stopped or a source down (see /status)",
                            day=snapshot.as_of[:10], close=snapshot.last_close[:10]))
    return lines


def describe_basis(basis: str, lang: str = "en") -> str:
    """The basis of the score in words."""
    if basis == "market_only":
        return i18n.t(lang, "basis: market data only (no attention source usable; this heat stops at hot)")
    return i18n.t(lang, "basis: attention and market")


def describe_breadth(board: dict | None, lang: str = "en") -> str | None:
    """'limit board: 30 at +30% · 0 at −30% · 12 broken · longest run 6 days · 100% of 232 stocks rose'."""
    if not board or board.get("limit_up") is None:
        return None
    streak = int(board.get("limit_streak_max") or 0)
    parts = [i18n.t(lang, "{n} at +30%", n=board["limit_up"]),
             i18n.t(lang, "{n} at −30%", n=board.get("limit_down") or 0),
             i18n.t(lang, "{n} broken", n=board.get("broken_limit") or 0),
             i18n.tn(lang, "longest run {n} day", "longest run {n} days", streak)]
    if board.get("up_share") is not None:
        share = format(board["up_share"], ".0%")
        parts.append(i18n.t(lang, "{share} of {stocks} stocks rose", share=share, stocks=board["stocks"])
                     if board.get("stocks") else i18n.t(lang, "{share} of the stocks rose", share=share))
    return i18n.t(lang, "limit board: {parts}", parts=" · ".join(parts))


def describe_lead_lag(lead_lag: dict, lang: str = "en") -> str:
    """'attention leads turnover by 2 days (r=0.61)' from a stored lead-lag dict."""
    if not lead_lag or lead_lag.get("lag") is None:
        return i18n.t(lang, "attention/turnover lead-lag: not enough history")
    lag, corr = int(lead_lag["lag"]), lead_lag.get("corr")
    r = f" (r={corr:.2f})" if corr is not None else ""
    if lag > 0:
        return i18n.tn(lang, "attention leads turnover by {n} day{r}", "attention leads turnover by {n} days{r}",
                       lag, r=r)
    if lag < 0:
        return i18n.tn(lang, "turnover leads attention by {n} day{r}", "turnover leads attention by {n} days{r}",
                       -lag, r=r)
    return i18n.t(lang, "attention and turnover move the same day{r}", r=r)


def _num(value, fmt: str, lang: str = "en") -> str:
    return i18n.t(lang, "n/a") if value is None else format(value, fmt)


def heat_explanation(lang: str) -> str:
    """What the score means, shown under a chat's first /heat (Telegram HTML)."""
    from sentibot.score.scoring import THRESHOLDS

    levels = "\n".join(i18n.h(lang, "• <b>{level}</b>: {meaning}", level=i18n.level_name(lang, lv),
                              meaning=meaning(lang, lv)) for lv in MEANINGS)
    head = i18n.h(lang, "<i>How to read this:</i> the score (0–100) compares today's retail attention (forum posts, "
                        "search indexes) and trading (turnover, price run-up, RSI) with their own recent history; "
                        "higher means further above normal. Warming starts at {warming}, hot at {hot}, frenzy at "
                        "{frenzy}, and frenzy also needs two attention sources and the market (turnover or RSI) to "
                        "agree. It measures crowd excitement, not value; it is no advice to buy or sell.",
                  warming=int(THRESHOLDS["warming"]), hot=int(THRESHOLDS["hot"]), frenzy=int(THRESHOLDS["frenzy"]))
    return f"{head}\n{levels}"


def _why_zh(c: dict, lang: str) -> list[str]:
    """The parts of the reasons that have no line of their own, from the components (the stored reasons are
    English sentences)."""
    out = []
    if isinstance(c.get("ret_from_low"), (int, float)) and c["ret_from_low"] >= 0.10:
        out.append(i18n.t(lang, "BSE 50 {change} from its 60-day low", change=format(c["ret_from_low"], "+.0%")))
    if c.get("limit_up"):
        out.append(i18n.tn(lang, "{n} stock closed at the +30% limit", "{n} stocks closed at the +30% limit",
                           int(c["limit_up"])))
    return out


def _source(lang: str, source: str) -> str:
    return i18n.t(lang, SOURCE_NAMES[source]) if source in SOURCE_NAMES else source


def _joined(lang: str, items: list[str]) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def format_heat(snapshot: HeatSnapshot | None, html: bool = True, lang: str = "en") -> str:
    """The /heat message in lang: Telegram HTML (escaped) or plain text."""
    esc = escape if html else str
    bold = (lambda s: f"<b>{s}</b>") if html else (lambda s: s)
    if snapshot is None:
        return esc(i18n.t(lang, EMPTY_MESSAGE))
    c = snapshot.components
    score = i18n.t(lang, "n/a") if snapshot.score is None else f"{snapshot.score:.0f}/100"
    level = i18n.level_name(lang, snapshot.level)
    lines = [bold(esc(i18n.t(lang, "BSE heat {day}: {level}", day=i18n.full_date(lang, snapshot.date),
                             level=level.upper()))) + esc(i18n.t(lang, " · score {score}", score=score))]
    lines += [esc(line) for line in describe_time(snapshot, lang)]
    if c.get("reconstructed"):
        lines.append(esc(i18n.t(lang, "(reconstructed demo data)")))
    lines.append(esc(describe_basis(snapshot.basis, lang)))
    market = [i18n.t(lang, "BSE 50 {close}", close=_num(c.get("close"), ".2f", lang))]
    if c.get("pct_change") is not None:
        market.append(f"{c['pct_change']:+.2f}%")
    ratio = _num(c.get("turnover_ratio"), ".1f", lang)
    if isinstance(c.get("amount"), (int, float)):  # 123.46亿元 / 12.35 bn yuan
        market.append(i18n.t(lang, "turnover {amount}, {ratio}x 20-day mean", amount=i18n.yuan(lang, c["amount"]),
                             ratio=ratio))
    else:
        market.append(i18n.t(lang, "turnover {ratio}x 20-day mean", ratio=ratio))
    market.append(i18n.t(lang, "RSI {rsi}", rsi=_num(c.get("rsi"), ".0f", lang)))
    lines.append(esc(" · ".join(market)))
    for name, s in (c.get("attention") or {}).items():
        lines.append(esc(i18n.t(lang, "• {series}: {ratio}x its median, z {z}", series=series_name(lang, name),
                                ratio=_num(s.get("ratio"), ".1f", lang), z=_num(s.get("z"), ".1f", lang))))
    if c.get("bullish_share") is not None:
        lines.append(esc(i18n.t(lang, "• bullish share of forum titles {share}", share=format(c["bullish_share"], ".0%"))))
    board = describe_breadth(snapshot.breadth, lang)
    if board:
        lines.append(esc(board))
    lines.append(esc(describe_lead_lag(snapshot.lead_lag, lang)))
    if lang == i18n.SOURCE_LANGUAGE:
        reasons = [r for r in snapshot.reasons if not r.startswith(("attention leads", "market data only", "provisional"))]
        # (lead-lag, basis and provisional have their own lines)
    else:
        reasons = _why_zh(c, lang)
    if reasons:
        lines.append(bold(esc(i18n.t(lang, "why"))) + esc(i18n.t(lang, ": {reasons}", reasons="; ".join(reasons))))
    for w in snapshot.warnings:
        lines.append(f"⚠️ {esc(day(lang, w['published_at']))} {esc(w['title'])}")
    for a in snapshot.recent_alerts[:3]:
        kind = kind_name(lang, a.kind.value)
        lines.append(f"· {esc(a.ts[:10])} {esc(kind)} {esc(i18n.level_name(lang, a.level))}")
    unhealthy = [_source(lang, s["source"]) for s in snapshot.sources if s.get("status") in UNHEALTHY]
    if unhealthy:
        lines.append(esc(i18n.t(lang, "sources unhealthy: {sources}", sources=_joined(lang, unhealthy))))
    idle = [_source(lang, s["source"]) for s in snapshot.sources if s.get("status") == "not_configured"]
    if idle:
        lines.append(esc(i18n.t(lang, "not configured: {sources}", sources=_joined(lang, idle))))
    return "\n".join(lines)
