"""The stored history as one timeline of alerts, scores and notices (the core of `sentibot history`)."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO
from collections.abc import Iterable

from sqlite_utils import Database

from sentibot.errors import InputError
from sentibot.models import AlertKind
from sentibot.store.db import alert_from_row

RECORDS = ("alerts", "scores", "notices")
ALERT_KINDS = tuple(k.value for k in AlertKind)
KINDS = RECORDS + ALERT_KINDS
COLUMNS = ("ts", "record", "kind", "level", "score", "title", "detail")
_SINCE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class HistoryRow:
    """One line of the timeline; `data` is its JSON object (the DESIGN.md alert JSON for alerts)."""

    ts: str
    record: str  # alert, score, notice
    kind: str  # alert kind, "" for scores, notice class for notices
    level: str
    score: float | None
    title: str
    detail: str
    data: dict


@dataclass(frozen=True)
class Query:
    """Which records to read: a set of record types, an optional alert kind and a start time."""

    records: tuple[str, ...] = RECORDS
    alert_kind: str | None = None
    since: str | None = None

    def describe(self) -> str:
        """Plain words for what was asked, used when nothing matches."""
        names = list(self.records)
        what = f"{self.alert_kind} alerts" if self.alert_kind else (
            names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1])
        return what + (f" since {self.since}" if self.since else "")


def parse_kind(kind: str | None) -> tuple[tuple[str, ...], str | None]:
    """--kind: alerts|scores|notices selects one record type; an alert kind selects alerts of that kind."""
    if kind is None:
        return RECORDS, None
    value = kind.strip().lower()
    if value in RECORDS:
        return (value,), None
    if value in ALERT_KINDS:
        return ("alerts",), value
    raise InputError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")


def parse_since(since: str | None) -> str | None:
    """--since: a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM[:SS] in Asia/Shanghai; returns its ISO text."""
    if since is None:
        return None
    text = since.strip()
    for fmt in _SINCE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if fmt == "%Y-%m-%d":
            return parsed.date().isoformat()
        return parsed.isoformat(timespec="seconds")
    raise InputError(f"--since: expected a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM (Asia/Shanghai), got {since!r}")


def build_query(kind: str | None = None, since: str | date | None = None) -> Query:
    """Validate the CLI filters into a Query (InputError with a one-line message when wrong)."""
    records, alert_kind = parse_kind(kind)
    since_text = since.isoformat() if isinstance(since, date) else parse_since(since)
    return Query(records, alert_kind, since_text)


def _where_since(column: str, since: str | None) -> tuple[str, list]:
    # Stored times are ISO text in +08:00; "T" or " " as separator both compare right after normalising.
    if since is None:
        return "", []
    return f" and replace({column}, ' ', 'T') >= ?", [since]


def _alerts(db: Database, query: Query) -> Iterable[HistoryRow]:
    where, params = _where_since("ts", query.since)
    if query.alert_kind:
        where, params = where + " and kind = ?", params + [query.alert_kind]
    for row in db.query(f"select * from alerts where 1 = 1{where} order by ts, id", params):
        alert = alert_from_row(row)
        yield HistoryRow(alert.ts, "alert", alert.kind.value, alert.level, alert.score, alert.title,
                         "; ".join(alert.reasons), alert.to_json())


def _scores(db: Database, query: Query) -> Iterable[HistoryRow]:
    # A score belongs to a whole day: --since with a time still shows that day's score.
    where, params = _where_since("date", query.since[:10] if query.since else None)
    for row in db.query(f"select * from scores where 1 = 1{where} order by date", params):
        components = json.loads(row["components"] or "{}")
        data = {"record": "score", "date": row["date"], "score": row["score"], "level": row["level"],
                "components": components}
        detail = ", ".join(f"{k}={_short(v)}" for k, v in components.items())
        yield HistoryRow(row["date"], "score", "", row["level"] or "", row["score"], "", detail, data)


def _notices(db: Database, query: Query) -> Iterable[HistoryRow]:
    where, params = _where_since("published_at", query.since)
    columns = "published_at, source, title, url, notice_class, severity, triggers, revision"  # not the bodies
    for row in db.query(f"select {columns} from notices where 1 = 1{where} order by published_at, url", params):
        data = {"record": "notice", "published_at": row["published_at"], "source": row["source"],
                "title": row["title"], "url": row["url"], "notice_class": row["notice_class"],
                "severity": row["severity"], "triggers": json.loads(row["triggers"] or "[]"),
                "revision": row["revision"]}
        level = f"severity {row['severity']}" if row["severity"] else ""
        yield HistoryRow(row["published_at"], "notice", row["notice_class"] or "", level, None, row["title"],
                         f"{row['source']} {row['url']}", data)


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


_READERS = {"alerts": _alerts, "scores": _scores, "notices": _notices}
_ORDER = {"score": 0, "notice": 1, "alert": 2}  # on the same day: the score, then what it caused


def query_history(db: Database, query: Query = Query()) -> list[HistoryRow]:
    """The selected alerts, scores and notices as one timeline, oldest first."""
    rows = [row for record in query.records for row in _READERS[record](db, query)]
    return sorted(rows, key=lambda r: (r.ts.replace(" ", "T"), _ORDER[r.record]))


def _cell(row: HistoryRow, column: str) -> str:
    value = getattr(row, column)
    if value is None:
        return ""
    return _short(value) if column == "score" else str(value)


def write_csv(rows: Iterable[HistoryRow], out: IO[str]) -> None:
    """CSV export: a header and one line per row, full text (no truncation)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if getattr(row, c) is None else getattr(row, c) for c in COLUMNS])


def json_lines(rows: Iterable[HistoryRow]) -> Iterable[str]:
    """One JSON object per row: alert JSON for alerts, record=score/notice objects for the others."""
    for row in rows:
        yield json.dumps(row.data, ensure_ascii=False)


_WIDTHS = {"ts": 25, "record": 6, "kind": 25, "level": 11, "score": 7, "title": 40, "detail": 50}


def _width(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    text = re.sub(r"\s+", " ", text)
    if _width(text) > width:
        out, used = "", 0
        for c in text:
            if used + _width(c) > width - 1:
                break
            out, used = out + c, used + _width(c)
        text = out + "…"
    return text + " " * (width - _width(text))


def format_table(rows: list[HistoryRow]) -> str:
    """An aligned text table (long titles cut with …; use --csv or --json for full text)."""
    widths = {c: min(_WIDTHS[c], max([_width(c)] + [_width(_cell(r, c)) for r in rows])) for c in COLUMNS}
    lines = ["  ".join(_fit(c, widths[c]) for c in COLUMNS).rstrip()]
    lines.append("  ".join("-" * widths[c] for c in COLUMNS))
    lines += ["  ".join(_fit(_cell(r, c), widths[c]) for c in COLUMNS).rstrip() for r in rows]
    return "\n".join(lines)
