"""The text of the bot's replies, built from the stored history (pure: db and language in, Telegram HTML out)."""

from __future__ import annotations

import json
import re

from sqlite_utils import Database

from sentibot.telegram_html import escape as e

from sentibot import i18n
from sentibot.i18n import N_, Safe
from sentibot.store.db import alert_from_row

HISTORY_DEFAULT, HISTORY_MAX = 10, 50
WARNINGS_SHOWN = 10


def clip(value: str, size: int = 40) -> str:
    """A user-supplied argument shortened for echoing it back."""
    return value if len(value) <= size else value[:size] + "…"


def parse_int(raw: str) -> int | None:
    """An argument of ASCII digits 0-9 as an int (more than 18 digits count as 10**18), else None.

    Every numeric command argument goes through here: str.isdigit accepts ①, ² and other Unicode digits that int()
    refuses, and int() itself accepts Arabic-Indic and fullwidth digits that a user never means as a count.
    """
    if not re.fullmatch("[0-9]+", raw):
        return None
    return int(raw) if len(raw) <= 18 else 10**18  # int() refuses past 4,300 digits; no count is that big


KIND_NAMES = {"frenzy": N_("heat"), "cooling": N_("cooling"), "regulator_warning": N_("regulator warning"),
              "source_down": N_("source down"), "digest": N_("daily summary")}
STATUS_NAMES = {"ok": N_("ok"), "empty": N_("ok, nothing new"), "healthy": N_("ok"), "blocked": N_("blocked"),
                "failed": N_("failing"), "paused": N_("paused"), "not_configured": N_("not configured")}


# a broadcast's recipients by delivery status (/broadcast's last reply); the English words do not inflect
OUTCOME_WORDS = {"sent": N_("{n} sent"), "blocked": N_("{n} blocked"), "failed": N_("{n} failed"),
                 "cancelled": N_("{n} cancelled"), "pending": N_("{n} pending"), "sending": N_("{n} sending"),
                 "unknown": N_("{n} unknown (may have arrived)"), "console": N_("{n} written to the log")}


def outcomes_text(lang: str, counts: dict[str, int]) -> str:
    """'1 blocked, 2 sent' in lang, statuses in name order; 'nothing sent' when there were no recipients."""
    parts = [i18n.t(lang, OUTCOME_WORDS[status], n=n) if status in OUTCOME_WORDS else f"{n} {status}"
             for status, n in sorted(counts.items())]
    return i18n.t(lang, ", ").join(parts) or i18n.t(lang, "nothing sent")


def kind_name(lang: str, kind: str) -> str:
    return i18n.t(lang, KIND_NAMES[kind]) if kind in KIND_NAMES else kind


def status_name(lang: str, status: str | None) -> str:
    return i18n.t(lang, STATUS_NAMES[status]) if status in STATUS_NAMES else str(status or "-")


def parse_history_arg(args: list[str], lang: str = "en") -> tuple[int | None, str]:
    """(n, note) for /history [n]; n None means the argument was not a number (note says why)."""
    if not args:
        return HISTORY_DEFAULT, ""
    raw = args[0]
    n = parse_int(raw)
    if not n:
        return None, i18n.h(lang, "“{value}” is not a number of alerts. Use /history or /history N with N from 1 "
                                  "to {most}, e.g. /history 5.", value=clip(raw), most=HISTORY_MAX)
    if n > HISTORY_MAX:
        return HISTORY_MAX, i18n.h(lang, "(showing the last {most}, the most /history shows)", most=HISTORY_MAX)
    return n, ""


def _alert_line(lang: str, r: dict) -> str:
    from sentibot.alerts.texts import alert_title, moment  # alerts.texts reads this module's limits

    when = moment(lang, r["ts"]) if len(r["ts"] or "") >= 16 else r["ts"]
    score = "" if r["score"] is None else f" {r['score']:.0f}"
    alert = alert_from_row(r)
    return i18n.h(lang, "• {when} <b>{kind}</b> {level}{score}: {title}", when=when,
                  kind=kind_name(lang, r["kind"]), level=i18n.level_name(lang, r["level"] or ""), score=score,
                  title=alert_title(alert, lang))


def history_text(db: Database, n: int, lang: str = "en") -> str:
    """The last n alerts sent to subscribers, newest first."""
    rows = list(db.query("select * from alerts where audience = 'subscribers'"
                         " order by ts desc, id desc limit ?", [n]))
    if not rows:
        return i18n.h(lang, "No alerts yet.")
    lines = [i18n.hn(lang, "<b>Last alert</b>", "<b>Last {n} alerts</b>", len(rows))]
    return "\n".join(lines + [_alert_line(lang, r) for r in rows])


def _link(url: str | None, title: str) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{e(url)}">{e(title)}</a>'
    return e(title)


def warnings_text(db: Database, n: int = WARNINGS_SHOWN, lang: str = "en") -> str:
    """Recent regulator warnings with links."""
    rows = list(db.query("select published_at, source, title, url from notices where notice_class ="
                         " 'regulator_warning' order by published_at desc limit ?", [n]))
    if not rows:
        return i18n.h(lang, "No regulator warnings stored yet.")
    lines = [i18n.h(lang, "<b>Recent regulator warnings</b>")]
    lines += [i18n.h(lang, "• {day} {notice} ({source})", day=_day(lang, r["published_at"]),
                     notice=Safe(_link(r["url"], r["title"])), source=r["source"]) for r in rows]
    return "\n".join(lines)


def _day(lang: str, stamp: str) -> str:
    from sentibot.alerts.texts import day

    return day(lang, stamp)


def _health_rows(db: Database) -> list[dict]:
    return list(db.query("select * from source_health order by source")) if db["source_health"].exists() else []


def _moment(lang: str, stamp: str | None) -> str:
    from sentibot.alerts.texts import moment

    return moment(lang, stamp) if stamp and len(stamp) >= 16 else (stamp or "")


def status_text(db: Database, lang: str = "en") -> str:
    """Source health and the last successful collection of each source."""
    rows = _health_rows(db)
    if not rows:
        return i18n.h(lang, "No collection has run yet.")
    lines = [i18n.h(lang, "<b>Sources</b>")]
    for r in rows:
        ok = r["status"] in ("ok", "empty", "healthy")
        mark = "✅" if ok else ("⏸" if r["status"] in ("paused", "not_configured") else "⚠️")
        values = {"mark": mark, "source": r["source"], "status": status_name(lang, r["status"])}
        if r["last_success_at"]:
            line = i18n.h(lang, "{mark} <b>{source}</b>: {status}, last success {last}",
                          last=_moment(lang, r["last_success_at"]), **values)
        else:
            line = i18n.h(lang, "{mark} <b>{source}</b>: {status}, never succeeded yet", **values)
        detail = "" if ok or not r["detail"] else f" ({e(clip(r['detail'], 120))})"  # the source's own words
        lines.append(line + detail)
    return "\n".join(lines)


def sources_text(db: Database, lang: str = "en") -> str:
    """The admin view: per-source counters, the outbox and broadcast recipients by status."""
    lines = [i18n.h(lang, "<b>Sources (admin)</b>")]
    for r in _health_rows(db):
        lines.append(i18n.h(
            lang, "• <b>{source}</b> {status}; attempt {attempt}; success {success}; failures {failures}, blocks "
                  "{blocks}; paused until {paused}; detail {detail}", source=r["source"], status=r["status"],
            attempt=r["last_attempt_at"] or "-", success=r["last_success_at"] or i18n.t(lang, "never"),
            failures=r["consecutive_failures"] or 0, blocks=r["consecutive_blocks"] or 0,
            paused=r["paused_until"] or "-", detail=clip(r["detail"] or "-", 200)))
    if len(lines) == 1:
        lines.append(i18n.h(lang, "no collection has run yet"))
    outbox = {r["status"]: r["n"] for r in db.query("select status, count(*) as n from deliveries"
                                                    " where alert_id is not null group by status")}
    subs = {r["active"]: r["n"] for r in db.query("select active, count(*) as n from subscribers group by active")}
    lines.append(i18n.h(lang, "<b>Outbox</b>: {counts}", counts=json.dumps(outbox, sort_keys=True)))
    sent = {r["status"]: r["n"] for r in db.query("select status, count(*) as n from deliveries"
                                                  " where broadcast_id is not null group by status")}
    if sent:
        unfinished = next(db.query("select count(*) as n from broadcasts where finished_at is null"))["n"]
        lines.append(i18n.h(lang, "<b>Broadcasts</b>: {counts}; {unfinished} unfinished",
                            counts=json.dumps(sent, sort_keys=True), unfinished=unfinished))
    lines.append(i18n.h(lang, "<b>Subscribers</b>: {active} active, {inactive} inactive", active=subs.get(1, 0),
                        inactive=subs.get(0, 0)))
    return "\n".join(lines)
