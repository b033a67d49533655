"""/top and /stock: the stored stock heat (never scraping), as records, JSON (DESIGN.md's Top JSON) and text/HTML."""

from __future__ import annotations

import html as htmllib
from dataclasses import dataclass

from sqlite_utils import Database

from sentibot import i18n
from sentibot.alerts.texts import alert_title, stock_evidence
from sentibot.i18n import N_
from sentibot.models import Alert
from sentibot.store.db import alert_from_row
from sentibot.store.stock_names import Stock, names
from sentibot.views.replies import kind_name

TOP_DEFAULT, TOP_MAX = 10, 50
EMPTY_MESSAGE = N_("no stock scores yet: stock heat needs per-stock bars and attention (run `sentibot collect` "
                   "or `sentibot replay` with a `code` column and per-stock attention)")
LEVEL_ICON = {"calm": "🟢", "warming": "🟡", "hot": "🟠", "frenzy": "🔴"}
# best first: heat score, then attention surge; a stock without a score yet (too little history) comes last
ORDER = "score is null, score desc, attention_ratio is null, attention_ratio desc, code"
RANKED_SQL = (f"select *, row_number() over (order by {ORDER}) as rank from stock_scores where date = ?")


@dataclass(frozen=True)
class TopRow:
    code: str
    name: str
    rank: int
    rank_change: int | None  # places gained since the previous trading day; None when not ranked then
    score: float | None
    level: str
    attention_ratio: float | None
    turnover_ratio: float | None
    limit_streak: int

    def to_json(self) -> dict:
        return {"code": self.code, "name": self.name, "rank": self.rank, "rank_change": self.rank_change,
                "score": self.score, "level": self.level, "attention_ratio": self.attention_ratio,
                "turnover_ratio": self.turnover_ratio, "limit_streak": self.limit_streak}


def _has_scores(db: Database) -> bool:
    return db["stock_scores"].exists()


def latest_dates(db: Database) -> tuple[str | None, str | None]:
    """The newest scored day and the trading day before it."""
    if not _has_scores(db):
        return None, None
    rows = [r["date"] for r in db.query("select distinct date from stock_scores order by date desc limit 2")]
    return (rows + [None, None])[0], (rows + [None, None])[1]


def top(db: Database, n: int = TOP_DEFAULT) -> list[TopRow]:
    """The n hottest stocks of the newest scored day, with their rank change since the day before."""
    day, before = latest_dates(db)
    if day is None:
        return []
    labels = names(db)
    rows = list(db.query(RANKED_SQL + " order by rank limit ?", [day, n]))
    earlier = {}
    if before and rows:
        marks = ",".join("?" * len(rows))
        earlier = {r["code"]: r["rank"] for r in db.query(
            f"select code, rank from ({RANKED_SQL}) where code in ({marks})", [before, *[r["code"] for r in rows]])}
    return [TopRow(r["code"], labels.get(r["code"], r["code"]), r["rank"],
                   earlier[r["code"]] - r["rank"] if r["code"] in earlier else None,
                   r["score"], r["level"] or "calm", r["attention_ratio"], r["turnover_ratio"], r["limit_streak"] or 0)
            for r in rows]


@dataclass(frozen=True)
class StockSnapshot:
    """What /stock and `sentibot stock` show."""

    stock: Stock
    row: dict | None  # the newest stock_scores row
    rank: int | None
    ranked: int
    alerts: tuple[Alert, ...] = ()
    notices: tuple[dict, ...] = ()

    def to_json(self) -> dict:
        r = self.row or {}
        return {"code": self.stock.code, "name": self.stock.name, "old_code": self.stock.old_code,
                "date": r.get("date"), "rank": self.rank, "ranked": self.ranked, "score": r.get("score"),
                "level": r.get("level") or ("calm" if r else None),
                **{k: r.get(k) for k in ("attention_ratio", "forum_ratio", "popularity_ratio", "turnover_ratio",
                                         "turnover_rate", "limit_streak", "coupling", "close")},
                "recent_alerts": [a.to_json() for a in self.alerts], "notices": list(self.notices)}


def stock_snapshot(db: Database, stock: Stock, alerts: int = 5, notices: int = 5) -> StockSnapshot:
    """The stock's newest heat, its place in the ranking, its recent alerts and the notices that name it."""
    row, rank, ranked = None, None, 0
    if _has_scores(db):
        row = next(db.query("select * from stock_scores where code = ? order by date desc limit 1", [stock.code]),
                   None)
        if row:
            found = next(db.query(f"select rank from ({RANKED_SQL}) where code = ?", [row["date"], stock.code]), None)
            rank = found["rank"] if found else None
            ranked = next(db.query("select count(*) as n from stock_scores where date = ?", [row["date"]]))["n"]
    recent = tuple(alert_from_row(r) for r in db.query(
        "select a.* from alerts a, json_each(coalesce(a.stocks, '[]')) s where s.value = ? "
        "order by a.ts desc, a.id desc limit ?", [stock.code, alerts]))
    words = [w for w in (stock.name, stock.code, stock.old_code) if w]
    where = " or ".join("title like ? or text like ?" for _ in words)
    args = [a for w in words for a in (f"%{w}%", f"%{w}%")]
    found_notices = tuple(db.query(f"select published_at, source, title, url, notice_class from notices where {where} "
                                   "order by published_at desc limit ?", [*args, notices]))
    return StockSnapshot(stock, row, rank, ranked, recent, found_notices)


def _num(value, fmt: str, suffix: str = "", lang: str = "en") -> str:
    return i18n.t(lang, "n/a") if value is None else format(value, fmt) + suffix


def _change(lang: str, change: int | None) -> str:
    if change is None:
        return i18n.t(lang, "new")
    return f"↑{change}" if change > 0 else f"↓{-change}" if change < 0 else "="


def _say(lang: str, html: bool, msgid: str, **values: object) -> str:
    """msgid (marked with N_) as Telegram HTML (values escaped) or plain text."""
    return i18n.h(lang, msgid, **values) if html else i18n.t(lang, msgid, **values)


def _bold(html: bool, text: str) -> str:
    return f"<b>{text}</b>" if html else text


def format_top(rows: list[TopRow], html: bool = True, day: str | None = None, lang: str = "en") -> str:
    """The /top message: one line per stock (Telegram HTML, escaped, or plain text)."""
    if not rows:
        return _say(lang, html, EMPTY_MESSAGE)
    head = _say(lang, html, N_("Hottest BSE stocks on {day}"), day=day) if day else \
        _say(lang, html, N_("Hottest BSE stocks"))
    lines = [_bold(html, head)]
    for r in rows:
        streak = " · " + _say(lang, html, N_("{n} limit-up"), n=r.limit_streak) if r.limit_streak else ""
        lines.append(f"{r.rank}. {LEVEL_ICON.get(r.level, '')} " + _say(
            lang, html, N_("{name} {code} {level} {score} · attention {attention} · turnover {turnover}"),
            name=r.name, code=r.code, level=i18n.level_name(lang, r.level), score=_num(r.score, ".0f", "", lang),
            attention=_num(r.attention_ratio, ".1f", "x", lang), turnover=_num(r.turnover_ratio, ".1f", "x", lang))
            + f"{streak} · {_change(lang, r.rank_change)}")
    lines.append(htmllib.escape(i18n.t(lang, "/stock <code|name> for one stock"), quote=False) if html else
                 i18n.t(lang, "sentibot stock CODE|NAME for one stock"))
    return "\n".join(lines)


def format_stock(snap: StockSnapshot, html: bool = True, lang: str = "en") -> str:
    """The /stock message."""
    esc = (lambda text: htmllib.escape(str(text), quote=False)) if html else str
    s, r = snap.stock, snap.row
    head = _bold(html, f"{esc(s.name)} {esc(s.code)}")
    if s.old_code:
        head += _say(lang, html, N_(", formerly {old}"), old=s.old_code)
    lines = [head]
    if r is None:
        lines.append(_say(lang, html, N_("no heat score for this stock yet (it needs its daily bars and forum or "
                                         "popularity history)")))
    else:
        level = r["level"] or "calm"
        place = " · " + _say(lang, html, N_("#{rank} of {ranked}"), rank=snap.rank, ranked=snap.ranked) \
            if snap.rank else ""
        lines.append(f"{LEVEL_ICON.get(level, '')} {esc(r['date'])}: "
                     + _bold(html, esc(i18n.level_name(lang, level).upper()))
                     + " · " + _say(lang, html, N_("score {score}"), score=_num(r["score"], ".0f", "/100", lang)) + place)
        if r.get("close") is not None:
            lines.append(_say(lang, html, N_("close {close}"), close=f"{r['close']:.2f}"))
        lines += [f"• {x}" for x in stock_evidence(r, lang, html)]
    for a in snap.alerts:
        kind = a.kind.value if lang == i18n.SOURCE_LANGUAGE else kind_name(lang, a.kind.value)
        lines.append(f"· {esc(a.ts[:10])} {esc(kind)} {esc(i18n.level_name(lang, a.level))}: "
                     f"{esc(alert_title(a, lang))}")
    for n in snap.notices:
        lines.append(f"📄 {esc(n['published_at'][:10])} {esc(n['title'])}")
    return "\n".join(lines)
