"""The current heat snapshot (from the stored history only, never scraping) and its text/HTML formatting."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlite_utils import Database

from sentibot.models import Alert
from sentibot.store.db import alert_from_row
from sentibot.telegram_html import escape

UNHEALTHY = ("blocked", "paused", "failed")  # source_health.status values written by sources/health.py
EMPTY_MESSAGE = "no scores yet: run `sentibot collect` or `sentibot replay` first"


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

    def to_json(self) -> dict:
        return {"date": self.date, "score": self.score, "level": self.level, "reasons": list(self.reasons),
                "lead_lag": self.lead_lag, "components": self.components,
                "recent_alerts": [a.to_json() for a in self.recent_alerts],
                "warnings": list(self.warnings), "sources": list(self.sources)}


def _table(db: Database, name: str) -> bool:
    return db[name].exists()


def heat_snapshot(db: Database, alerts: int = 5, warnings: int = 3) -> HeatSnapshot | None:
    """The latest stored score with its components, recent alerts, regulator warnings and source health."""
    row = next(db.query("select * from scores order by date desc limit 1"), None) if _table(db, "scores") else None
    if row is None:
        return None
    components = json.loads(row["components"] or "{}")
    recent = tuple(alert_from_row(r) for r in db.query(
        "select * from alerts where kind != 'source_down' order by ts desc, id desc limit ?", [alerts]))
    warns = tuple(db.query(
        "select published_at, title, url, source from notices where notice_class = 'regulator_warning' "
        "order by published_at desc limit ?", [warnings]))
    sources = tuple(db.query("select source, status, last_success_at from source_health order by source"))
    return HeatSnapshot(date=row["date"], score=row["score"], level=row["level"], components=components,
                        reasons=tuple(components.get("reasons", ())), lead_lag=components.get("lead_lag") or {},
                        recent_alerts=recent, warnings=warns, sources=sources)


def describe_lead_lag(lead_lag: dict) -> str:
    """'attention leads turnover by 2 days (r=0.61)' from a stored lead-lag dict."""
    if not lead_lag or lead_lag.get("lag") is None:
        return "attention/turnover lead-lag: not enough history"
    lag, corr = int(lead_lag["lag"]), lead_lag.get("corr")
    r = f" (r={corr:.2f})" if corr is not None else ""
    if lag > 0:
        return f"attention leads turnover by {lag} day{'s' if lag > 1 else ''}{r}"
    if lag < 0:
        return f"turnover leads attention by {-lag} day{'s' if lag < -1 else ''}{r}"
    return f"attention and turnover move the same day{r}"


def _num(value, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def format_heat(snapshot: HeatSnapshot | None, html: bool = True) -> str:
    """The /heat message: Telegram HTML (escaped) or plain text."""
    esc = escape if html else str
    bold = (lambda s: f"<b>{s}</b>") if html else (lambda s: s)
    if snapshot is None:
        return esc(EMPTY_MESSAGE)
    c = snapshot.components
    score = "n/a" if snapshot.score is None else f"{snapshot.score:.0f}/100"
    lines = [bold(f"BSE heat {esc(snapshot.date)}: {esc(snapshot.level.upper())}") + f" · score {score}"]
    if c.get("reconstructed"):
        lines.append("(reconstructed demo data)")
    market = [f"BSE 50 {_num(c.get('close'), '.2f')}"]
    if c.get("pct_change") is not None:
        market.append(f"{c['pct_change']:+.2f}%")
    market += [f"turnover {_num(c.get('turnover_ratio'), '.1f')}x 20-day mean", f"RSI {_num(c.get('rsi'), '.0f')}"]
    lines.append(" · ".join(market))
    for name, s in (c.get("attention") or {}).items():
        lines.append(f"• {esc(name)}: {_num(s.get('ratio'), '.1f')}x its median, z {_num(s.get('z'), '.1f')}")
    if c.get("bullish_share") is not None:
        lines.append(f"• bullish share of forum titles {c['bullish_share']:.0%}")
    lines.append(esc(describe_lead_lag(snapshot.lead_lag)))
    reasons = [r for r in snapshot.reasons if not r.startswith("attention leads")]  # already its own line
    if reasons:
        lines.append(bold("why") + ": " + esc("; ".join(reasons)))
    for w in snapshot.warnings:
        lines.append(f"⚠️ {esc(w['published_at'][:10])} {esc(w['title'])}")
    for a in snapshot.recent_alerts[:3]:
        lines.append(f"· {esc(a.ts[:10])} {esc(a.kind.value)} {esc(a.level)}")
    unhealthy = [s["source"] for s in snapshot.sources if s.get("status") in UNHEALTHY]
    if unhealthy:
        lines.append("sources unhealthy: " + esc(", ".join(unhealthy)))
    idle = [s["source"] for s in snapshot.sources if s.get("status") == "not_configured"]
    if idle:
        lines.append("not configured: " + esc(", ".join(idle)))
    return "\n".join(lines)
