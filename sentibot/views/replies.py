"""The text of the bot's replies, built from the stored history (pure: db in, Telegram HTML out)."""

from __future__ import annotations

import json
import re

from sqlite_utils import Database

from sentibot.telegram_html import escape as e

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


def parse_history_arg(args: list[str]) -> tuple[int | None, str]:
    """(n, note) for /history [n]; n None means the argument was not a number (note says why)."""
    if not args:
        return HISTORY_DEFAULT, ""
    raw = args[0]
    n = parse_int(raw)
    if not n:
        return None, (f"“{e(clip(raw))}” is not a number of alerts. Use /history or /history N "
                      f"with N from 1 to {HISTORY_MAX}, e.g. /history 5.")
    if n > HISTORY_MAX:
        return HISTORY_MAX, f"(showing the last {HISTORY_MAX}, the most /history shows)"
    return n, ""


def history_text(db: Database, n: int) -> str:
    """The last n alerts sent to subscribers, newest first."""
    rows = list(db.query("select ts, kind, level, score, title from alerts where audience = 'subscribers'"
                         " order by ts desc, id desc limit ?", [n]))
    if not rows:
        return "No alerts yet."
    lines = [f"<b>Last {len(rows)} alert{'s' if len(rows) > 1 else ''}</b>"]
    for r in rows:
        level = f" {e(r['level'])}" if r["level"] else ""
        score = f" {r['score']:.0f}" if r["score"] is not None else ""
        lines.append(f"• {e(r['ts'][:16])} <b>{e(r['kind'])}</b>{level}{score}: {e(r['title'])}")
    return "\n".join(lines)


def _link(url: str | None, title: str) -> str:
    if url and url.startswith(("http://", "https://")):
        return f'<a href="{e(url)}">{e(title)}</a>'
    return e(title)


def warnings_text(db: Database, n: int = WARNINGS_SHOWN) -> str:
    """Recent regulator warnings with links."""
    rows = list(db.query("select published_at, source, title, url from notices where notice_class ="
                         " 'regulator_warning' order by published_at desc limit ?", [n]))
    if not rows:
        return "No regulator warnings stored yet."
    lines = ["<b>Recent regulator warnings</b>"]
    lines += [f"• {e(r['published_at'][:10])} {_link(r['url'], r['title'])} ({e(r['source'])})" for r in rows]
    return "\n".join(lines)


def _health_rows(db: Database) -> list[dict]:
    return list(db.query("select * from source_health order by source")) if db["source_health"].exists() else []


def status_text(db: Database) -> str:
    """Source health and the last successful collection of each source."""
    rows = _health_rows(db)
    if not rows:
        return "No collection has run yet."
    lines = ["<b>Sources</b>"]
    for r in rows:
        ok = r["status"] in ("ok", "empty", "healthy")
        mark = "✅" if ok else ("⏸" if r["status"] in ("paused", "not_configured") else "⚠️")
        last = e(r["last_success_at"][:16]) if r["last_success_at"] else "never"
        detail = "" if ok or not r["detail"] else f" ({e(clip(r['detail'], 120))})"
        lines.append(f"{mark} <b>{e(r['source'])}</b>: {e(r['status'])}, last success {last}{detail}")
    return "\n".join(lines)


def sources_text(db: Database) -> str:
    """The admin view: per-source counters, the outbox and broadcast recipients by status."""
    lines = ["<b>Sources (admin)</b>"]
    for r in _health_rows(db):
        lines.append(
            f"• <b>{e(r['source'])}</b> {e(r['status'])}; attempt {e(r['last_attempt_at'] or '-')}; success "
            f"{e(r['last_success_at'] or 'never')}; failures {r['consecutive_failures'] or 0}, blocks "
            f"{r['consecutive_blocks'] or 0}; paused until {e(r['paused_until'] or '-')}; "
            f"detail {e(clip(r['detail'] or '-', 200))}")
    if len(lines) == 1:
        lines.append("no collection has run yet")
    outbox = {r["status"]: r["n"] for r in db.query("select status, count(*) as n from deliveries group by status")}
    subs = {r["active"]: r["n"] for r in db.query("select active, count(*) as n from subscribers group by active")}
    lines.append(f"<b>Outbox</b>: {e(json.dumps(outbox, sort_keys=True))}")
    sent = {r["status"]: r["n"] for r in db.query("select status, count(*) as n from broadcast_deliveries"
                                                  " group by status")}
    if sent:
        unfinished = next(db.query("select count(*) as n from broadcasts where finished_at is null"))["n"]
        lines.append(f"<b>Broadcasts</b>: {e(json.dumps(sent, sort_keys=True))}; {unfinished} unfinished")
    lines.append(f"<b>Subscribers</b>: {subs.get(1, 0)} active, {subs.get(0, 0)} inactive")
    return "\n".join(lines)
