"""Import history files (market CSV, attention CSV, notices CSV/JSONL) with strict validation, then score them."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar, overload

from sqlite_utils import Database

from sentibot.alerts import regulator
from sentibot.alerts import rules as alerts
from sentibot.score import rescore as pipeline
from sentibot.score import stock_rescore
from sentibot.errors import InputError
from sentibot.models import BSE50_CODE, Alert, Bar, Notice, Observation
from sentibot.store.db import add_alert, upsert_bars, upsert_notice, upsert_observations
from sentibot.text.notice_stocks import stocks_named
from sentibot.timeutil import SHANGHAI

R = TypeVar("R")

MARKET_REQUIRED = ("date", "close", "amount")
MARKET_OPTIONAL = ("open", "high", "low", "volume", "turnover_rate")
ATTENTION_REQUIRED = ("date", "source", "metric", "value")
NOTICE_REQUIRED = ("published_at", "source", "title", "text", "url")
ORIGINS = ("imported", "reconstructed")  # an optional `origin` column may label rows as reconstructed
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a byte-order mark is fine); anything else is refused with a one-line error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}; GBK/GB18030 "
                         f"files are not accepted: save the file as UTF-8)") from None
    if not text.strip():
        raise InputError(f"{path}: empty file (expected a header line and rows)")
    return text


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, row) pairs of a CSV file whose header has every required column."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))  # csv wants untranslated newlines
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        shown = ", ".join(header)
        shown = " ".join(shown.split())[:120]  # a malformed header can swallow the whole file: keep one short line
        raise InputError(f"{path}: line 1: missing column {missing[0]!r} (header has: {shown})")
    rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]
    rows = [(n, r) for n, r in rows if any(r.values())]
    if not rows:
        raise InputError(f"{path}: empty file (a header but no data rows)")
    return rows


def parse_date(path: Path, line: int, column: str, raw: str) -> str:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date().isoformat()
        except ValueError:
            continue
    raise InputError(f"{path}: line {line}, column {column}: cannot parse date {raw!r} (expected YYYY-MM-DD)")


@overload
def parse_number(path: Path, line: int, column: str, raw: str) -> float: ...
@overload
def parse_number(path: Path, line: int, column: str, raw: str, required: bool) -> float | None: ...


def parse_number(path: Path, line: int, column: str, raw: str, required: bool = True) -> float | None:
    if raw == "" and not required:
        return None
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        raise InputError(f"{path}: line {line}, column {column}: not a number: {raw!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise InputError(f"{path}: line {line}, column {column}: not a finite number: {raw!r}")
    if value < 0:
        raise InputError(f"{path}: line {line}, column {column}: negative value {raw!r}")
    return value


def _origin(path: Path, line: int, row: dict) -> str:
    origin = row.get("origin") or "imported"
    if origin not in ORIGINS:
        raise InputError(f"{path}: line {line}, column origin: expected one of {', '.join(ORIGINS)}, got {origin!r}")
    return origin


def _dedupe(path: Path, keyed: Sequence[tuple[int, tuple, R]], column: str) -> list[R]:
    """Drop exact repeats; refuse a key that repeats with different values. Sorted by key."""
    seen: dict[tuple, tuple[int, R]] = {}
    for line, key, record in keyed:
        if key in seen:
            first_line, first = seen[key]
            if first != record:
                raise InputError(f"{path}: line {line}, column {column}: {key[-1]} repeats line {first_line} "
                                 f"with different values")
            continue
        seen[key] = (line, record)
    return [record for _, (_, record) in sorted(seen.items())]


def read_market(path: Path) -> list[Bar]:
    """Validated bars from a market CSV (no `code` column = the BSE 50 index), sorted by code and date."""
    keyed = []
    for line, r in _rows(path, MARKET_REQUIRED):
        day = parse_date(path, line, "date", r["date"])
        close = parse_number(path, line, "close", r["close"])
        if close == 0:
            raise InputError(f"{path}: line {line}, column close: a close of 0 is not a price")
        extra = {c: parse_number(path, line, c, r.get(c, ""), required=False) for c in MARKET_OPTIONAL}
        bar = Bar(code=r.get("code") or BSE50_CODE, date=day, close=close,
                  amount=parse_number(path, line, "amount", r["amount"]), origin=_origin(path, line, r), **extra)
        keyed.append((line, (bar.code, day), bar))
    return _dedupe(path, keyed, "date")


def read_attention(path: Path) -> list[Observation]:
    """Validated attention observations from a long CSV: date,source,metric,value[,subject]."""
    keyed = []
    for line, r in _rows(path, ATTENTION_REQUIRED):
        day = parse_date(path, line, "date", r["date"])
        for column in ("source", "metric"):
            if not r[column]:
                raise InputError(f"{path}: line {line}, column {column}: empty")
        obs = Observation(source=r["source"], subject=r.get("subject") or "北交所", metric=r["metric"], ts=day,
                          value=parse_number(path, line, "value", r["value"]), origin=_origin(path, line, r))
        keyed.append((line, (obs.source, obs.subject, obs.metric, day), obs))
    return _dedupe(path, keyed, "date")


def parse_timestamp(path: Path, line: int, raw: str) -> str:
    """ISO-8601 with an offset; a naive time or a bare date is taken as Asia/Shanghai."""
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{path}: line {line}, column published_at: cannot parse timestamp {raw!r}") from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=SHANGHAI)
    return ts.isoformat(timespec="seconds")


def read_notices(path: Path) -> list[Notice]:
    """Validated notices from CSV or JSON Lines (published_at, source, title, text, url)."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = []
        for line, text in enumerate(read_text(path).splitlines(), start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: line {line}, column {exc.colno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise InputError(f"{path}: line {line}: expected a JSON object")
            missing = [c for c in NOTICE_REQUIRED if c not in obj]
            if missing:
                raise InputError(f"{path}: line {line}: missing column {missing[0]!r}")
            rows.append((line, {k: str(v if v is not None else "").strip() for k, v in obj.items()}))
    else:
        rows = _rows(path, NOTICE_REQUIRED)
    keyed = []
    for line, r in rows:
        for column in ("url", "title"):
            if not r[column]:
                raise InputError(f"{path}: line {line}, column {column}: empty")
        notice = Notice(url=r["url"], source=r["source"], published_at=parse_timestamp(path, line, r["published_at"]),
                        title=r["title"], text=r["text"], origin=_origin(path, line, r))
        keyed.append((line, (notice.url,), notice))
    return _dedupe(path, keyed, "url")


def store_as_history(db: Database, alert: Alert, stamp: str) -> int | None:
    """Store a replayed alert without deliveries: a replayed past is history, never sent to subscribers."""
    with db.atomic():
        alert_id = add_alert(db, alert, stamp)
        if alert_id is not None:
            db.execute("delete from deliveries where alert_id = ?", [alert_id])
    return alert_id


@dataclass(frozen=True)
class ReplayResult:
    """What a replay imported and the alerts of the replayed period (stored once, printed every time)."""

    bars: int
    observations: int
    notices: int
    first: date
    last: date
    alerts: list[Alert]
    scored: int = 0  # days with a score (the first needs about 60 trading days of history)


def _repeated_bar(bars: list[Bar]) -> tuple[str, str] | None:
    seen: set[tuple[str, str]] = set()
    for bar in bars:
        if (bar.code, bar.date) in seen:
            return bar.code, bar.date
        seen.add((bar.code, bar.date))
    return None


def replay(db: Database, market: Path | Sequence[Path], attention: Path | None = None,
           notices: Path | None = None) -> ReplayResult:
    """Validate every file first, import in one transaction, then score day by day (no look-ahead).

    `market` may be several market CSVs (e.g. the index and the stocks' bars for the limit board).
    """
    markets = [Path(market)] if isinstance(market, (str, Path)) else [Path(m) for m in market]
    bars = [bar for path in markets for bar in read_market(path)]
    if not any(b.code == BSE50_CODE for b in bars):
        names = ", ".join(str(m) for m in markets)
        raise InputError(f"{names}: no BSE 50 index rows (rows without a code, or code {BSE50_CODE}): nothing to score")
    repeated = _repeated_bar(bars)
    if repeated:
        raise InputError(f"{', '.join(str(m) for m in markets)}: the bar of {repeated[0]} on {repeated[1]} comes in "
                         "more than one market file")
    observations = read_attention(Path(attention)) if attention else []
    notice_list = read_notices(Path(notices)) if notices else []
    dates = sorted({b.date for b in bars})
    first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    last_notice = max((n.published_at for n in notice_list), default="")
    end = datetime.combine(last, time(23, 59, 59), SHANGHAI)
    if last_notice and datetime.fromisoformat(last_notice) > end:
        end = datetime.fromisoformat(last_notice).astimezone(SHANGHAI)
    stamp = end.isoformat(timespec="seconds")
    with db.atomic():
        upsert_bars(db, bars, stamp)
        upsert_observations(db, observations, stamp)
        for notice in notice_list:
            cls = alerts.classify_notice(notice.text, notice.title)
            notice = replace(notice, stocks=stocks_named(notice.title, notice.text))
            upsert_notice(db, notice, stamp, cls.label, cls.severity, cls.triggers)
    # Every scoring window looks backwards only, so one pass over the history equals a day-by-day replay
    # (tests/test_scoring_props.py and tests/test_replay.py check it); alerts are stored once per dedupe key.
    found = pipeline.evaluate(db, end, since=first)
    found += regulator.due(db, first.isoformat(), end.isoformat(timespec="seconds"))  # the one regulator-alert rule
    found += stock_rescore.evaluate(db, end, since=first, save_all=True)  # per-stock heat alerts
    found.sort(key=lambda a: a.ts)
    for alert in found:
        store_as_history(db, alert, stamp)
    scored = next(db.query("select count(*) as n from scores where date between ? and ?",
                           [first.isoformat(), last.isoformat()]))["n"]
    return ReplayResult(len(bars), len(observations), len(notice_list), first, last, found, scored)
