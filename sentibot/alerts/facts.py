"""What an alert's formatter needs from the stored history: the day's score components (the market's, or a stock's),
the notice and its stocks."""

from __future__ import annotations

import json
from functools import cache

from sqlite_utils import Database

from sentibot.alerts.texts import Facts
from sentibot.codes import old_code
from sentibot.models import Alert, AlertKind


def alert_facts(db: Database, alert: Alert, bot_username: str | None = None) -> Facts:
    """The Facts of one alert (empty when the history lacks them: the formatter then says less, never wrong)."""
    if alert.kind in (AlertKind.FRENZY, AlertKind.COOLING):
        if alert.stocks:  # a stock's own alert (score/stock_rescore.py)
            return _stock_facts(db, alert, bot_username)
        return _heat_facts(db, alert, bot_username)
    if alert.kind is AlertKind.REGULATOR_WARNING:
        return _notice_facts(db, alert, bot_username)
    return Facts(bot_username=bot_username)


def _heat_facts(db: Database, alert: Alert, bot: str | None) -> Facts:
    day = alert.ts[:10]
    if not db["scores"].exists():
        return Facts(bot_username=bot)
    row = next(db.query("select score, components from scores where date = ?", [day]), None)
    if row is None:
        return Facts(bot_username=bot)
    components = json.loads(row["components"] or "{}")
    attention = sorted(((name, s["ratio"]) for name, s in (components.get("attention") or {}).items()
                        if isinstance(s, dict) and isinstance(s.get("ratio"), (int, float))),
                       key=lambda pair: -pair[1])
    since = first = None
    if row["score"] is not None:
        earlier = next(db.query("select date from scores where date < ? and score >= ? order by date desc limit 1",
                                [day, row["score"]]), None)
        since = earlier["date"] if earlier else None
        if since is None:
            start = next(db.query("select min(date) as d from scores where date < ?", [day]))["d"]
            first = start
    turnover = components.get("turnover_ratio")
    return Facts(attention=tuple(attention), turnover_ratio=turnover if isinstance(turnover, (int, float)) else None,
                 strongest_since=since, first_day=first, bot_username=bot)


def _stock_facts(db: Database, alert: Alert, bot: str | None) -> Facts:
    """The stock's scored day: its reasons are said from these numbers in the reader's language."""
    if not db["stock_scores"].exists():
        return Facts(bot_username=bot)
    row = next(db.query("select * from stock_scores where code = ? and date = ?", [alert.stocks[0], alert.ts[:10]]),
               None)
    return Facts(stock_row=row, bot_username=bot)


def _notice_facts(db: Database, alert: Alert, bot: str | None) -> Facts:
    url = alert.dedupe_key.split(":", 1)[1] if ":" in alert.dedupe_key else ""
    notice = next(db.query("select url, source, text from notices where url = ?", [url]), None) if url else None
    text = (notice or {}).get("text") or ""
    found = list(alert.stocks)  # stored with the notice (sentibot.text.notice_stocks), 920xxx codes
    if not found and text:  # an alert stored before notices carried their stocks (jieba: loaded once, here)
        from sentibot.text.notice_stocks import stocks_named

        found = list(stocks_named(alert.title, text))
    names = _universe_names(db, found)
    listed = _listed_names()
    return Facts(notice_url=(notice or {}).get("url") or url or None, notice_source=(notice or {}).get("source"),
                 notice_text=text, bot_username=bot,
                 stocks=tuple((c, names.get(c) or listed.get(c) or listed.get(old_code(c) or "", "")) for c in found))


def _universe_names(db: Database, codes: list[str]) -> dict[str, str]:
    if not codes or not db["universe"].exists():
        return {}
    marks = ",".join("?" * len(codes))
    return {r["code"]: r["name"] for r in db.query(f"select code, name from universe where code in ({marks})", codes)}


@cache
def _listed_names() -> dict[str, str]:
    """code -> name from the shipped company list (the first name of each code: the current one)."""
    from sentibot.text.tokenizer import model

    out: dict[str, str] = {}
    for name, code in model().names.items():
        out.setdefault(code, name)
    return out
