"""The daily summary after the close: the day's heat, the limit board, the hottest stocks and the regulator notices.

Built once per trading day (run/jobs.py `run_digest`) from the stored history and stored as ONE alert of kind
`digest` (dedupe key `digest:<day>`). Its reasons carry the figures, one `key: JSON` line each, so the outbox words
it in each recipient's language (alerts/texts.py) as it stood when it was made, however often it is rendered. It
lives here, not in views/, because the outbox (this layer) renders it at send time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlite_utils import Database

from sentibot.models import Alert, AlertKind

TOP_STOCKS = 5  # the hottest stocks of the day shown
NOTICES = 5  # regulator notices kept (the count says how many there were)
MARKET_KEYS = ("close", "pct_change", "amount", "turnover_ratio")  # from the day's score components
BREADTH_KEYS = ("stocks", "limit_up", "limit_down", "broken_limit", "limit_streak_max", "up_share")


@dataclass(frozen=True)
class DigestStock:
    code: str
    name: str  # empty when the history knows no name for the code
    score: float | None
    level: str
    limit_streak: int = 0


@dataclass(frozen=True)
class DigestNotice:
    title: str
    url: str
    source: str
    published_at: str


@dataclass(frozen=True)
class Digest:
    """One trading day's summary."""

    day: str
    score: float | None
    level: str
    market: Mapping[str, float | None]  # MARKET_KEYS that the day's score has
    breadth: Mapping[str, float | None] | None  # the limit board (score/breadth.py); None without stock bars
    stocks: tuple[DigestStock, ...] = ()
    notices: tuple[DigestNotice, ...] = ()
    notice_count: int = 0
    provisional: bool = False  # the day's bars were read before the 15:00 close


@dataclass(frozen=True)
class DayHistory:
    """The stored rows a digest is built from (load_day reads them)."""

    day: str
    score: dict | None  # the scores row of the day (components still JSON text)
    stocks: tuple[dict, ...] = ()  # stock_scores rows of the day, hottest first
    notices: tuple[dict, ...] = ()  # regulator_warning notices in the window, newest first
    names: Mapping[str, str] | None = None  # code -> display name


def load_day(db: Database, day: str, since: str, until: str) -> DayHistory:
    """The day's score, its hottest stocks, and the regulator notices published in (since, until]."""
    from sentibot.store.stock_names import names

    score = next(db.query("select * from scores where date = ?", [day]), None) if db["scores"].exists() else None
    stocks: tuple[dict, ...] = ()
    if db["stock_scores"].exists():
        stocks = tuple(db.query("select code, score, level, limit_streak from stock_scores where date = ? and score"
                                " is not null order by score desc, code limit ?", [day, TOP_STOCKS]))
    notices = tuple(db.query("select title, url, source, published_at from notices where notice_class ="
                             " 'regulator_warning' and published_at > ? and published_at <= ?"
                             " order by published_at desc, url", [since, until]))
    return DayHistory(day, score, stocks, notices, names(db) if stocks else {})


def build_digest(history: DayHistory) -> Digest | None:
    """The summary of the day (pure); None when the day has no market score (nothing to sum up)."""
    if history.score is None:
        return None
    components = json.loads(history.score.get("components") or "{}")
    market = {k: components[k] for k in MARKET_KEYS if isinstance(components.get(k), (int, float))}
    board = components.get("breadth")
    breadth = {k: board.get(k) for k in BREADTH_KEYS} if isinstance(board, dict) else None
    names = history.names or {}
    stocks = tuple(DigestStock(r["code"], names.get(r["code"], ""), r["score"], r["level"] or "calm",
                               int(r.get("limit_streak") or 0)) for r in history.stocks[:TOP_STOCKS])
    notices = tuple(DigestNotice(r["title"] or "", r["url"] or "", r["source"] or "", r["published_at"] or "")
                    for r in history.notices[:NOTICES])
    return Digest(day=history.day, score=history.score.get("score"), level=history.score.get("level") or "calm",
                  market=market, breadth=breadth, stocks=stocks, notices=notices,
                  notice_count=len(history.notices), provisional=bool(components.get("provisional")))


def _line(key: str, value: object) -> str:
    return f"{key}: {json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"


def digest_alert(digest: Digest, made_at: str) -> Alert:
    """The stored alert of a digest: one per day (dedupe key), market-wide (no stocks), made at made_at."""
    reasons = [_line("market", dict(digest.market))]
    if digest.breadth is not None:
        reasons.append(_line("breadth", dict(digest.breadth)))
    reasons += [_line("stock", [s.code, s.name, s.score, s.level, s.limit_streak]) for s in digest.stocks]
    reasons += [_line("notice", [n.title, n.url, n.source, n.published_at]) for n in digest.notices]
    reasons.append(_line("notices", digest.notice_count))
    if digest.provisional:
        reasons.append(_line("provisional", True))
    return Alert(kind=AlertKind.DIGEST, ts=made_at, title=f"BSE daily summary {digest.day}", level=digest.level,
                 score=digest.score, reasons=tuple(reasons), dedupe_key=f"digest:{digest.day}")


def digest_of(alert: Alert) -> Digest:
    """The digest a stored alert carries; a line that does not parse is skipped (the text then says less)."""
    parts: dict[str, list] = {}
    for line in alert.reasons:
        key, _, raw = line.partition(": ")
        try:
            parts.setdefault(key, []).append(json.loads(raw))
        except ValueError:
            continue
    market = next((m for m in parts.get("market", []) if isinstance(m, dict)), {})
    breadth = next((b for b in parts.get("breadth", []) if isinstance(b, dict)), None)
    stocks = tuple(DigestStock(str(s[0]), str(s[1]), s[2], str(s[3]), int(s[4] or 0))
                   for s in parts.get("stock", []) if isinstance(s, list) and len(s) == 5)
    notices = tuple(DigestNotice(*(str(x) for x in n)) for n in parts.get("notice", [])
                    if isinstance(n, list) and len(n) == 4)
    count = next((c for c in parts.get("notices", []) if isinstance(c, int)), len(notices))
    day = alert.dedupe_key.split(":", 1)[1] if alert.dedupe_key.startswith("digest:") else alert.ts[:10]
    return Digest(day=day, score=alert.score, level=alert.level or "calm", market=market, breadth=breadth,
                  stocks=stocks, notices=notices, notice_count=count, provisional=bool(parts.get("provisional")))
