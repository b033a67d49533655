"""/status for every user: each source healthy or not and how fresh its data is, in words (no URLs, no errors)."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from sentibot import i18n
from sentibot.i18n import N_
from sentibot.timeutil import SHANGHAI

SOURCE_NAMES = {  # what a subscriber calls each source; a source not listed shows its own name
    "guba": N_("Eastmoney Guba forum"), "market": N_("BSE 50 index and turnover"),
    "notices": N_("exchange and regulator notices"), "baidu_index": N_("Baidu search interest"),
    "wechat_index": N_("WeChat search interest"), "em_rank": N_("Eastmoney popularity rank"),
}
HEALTHY = ("ok", "empty", "healthy")
NOT_SET_UP = ("not_configured",)


def ago(lang: str, moment: str | None, now: datetime) -> str:
    """How long ago, in words: just now, 5 minutes ago, 3 hours ago, 2 days ago, or never."""
    if not moment:
        return i18n.t(lang, "never")
    then = datetime.fromisoformat(moment)
    then = then if then.tzinfo else then.replace(tzinfo=SHANGHAI)
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 90:
        return i18n.t(lang, "just now")
    if seconds < 5400:
        return i18n.tn(lang, "{n} minute ago", "{n} minutes ago", round(seconds / 60))
    if seconds < 129600:
        return i18n.tn(lang, "{n} hour ago", "{n} hours ago", round(seconds / 3600))
    return i18n.tn(lang, "{n} day ago", "{n} days ago", round(seconds / 86400))


def user_status_text(db: Database, lang: str, now: datetime) -> str:
    """One line per source: working or not, and when its data was last fresh."""
    rows = list(db.query("select source, status, last_success_at from source_health order by source")) \
        if db["source_health"].exists() else []
    if not rows:
        return i18n.h(lang, "No collection has run yet.")
    lines = [i18n.h(lang, "<b>Data sources</b>")]
    for r in rows:
        name = i18n.t(lang, SOURCE_NAMES[r["source"]]) if r["source"] in SOURCE_NAMES else r["source"]
        fresh = ago(lang, r["last_success_at"], now)
        if r["status"] in HEALTHY:
            lines.append(i18n.h(lang, "✅ {name}: working; latest data {ago}.", name=name, ago=fresh))
        elif r["status"] in NOT_SET_UP:
            lines.append(i18n.h(lang, "⏸ {name}: not set up on this bot.", name=name))
        else:
            lines.append(i18n.h(lang, "⚠️ {name}: not working right now; latest data {ago}.", name=name, ago=fresh))
    lines.append(i18n.h(lang, "Heat scores use the sources that work; the operator is told about the others."))
    return "\n".join(lines)
