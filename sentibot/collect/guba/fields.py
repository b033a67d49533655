"""Guba field readers shared by the JSON fast path (parse.py) and the table fallback (table.py): links, counts, times."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sentibot.timeutil import SHANGHAI

NEWS_LINK = re.compile(r"news,([^,/]+),(\d+)\.html")
CAIFUHAO_LINK = re.compile(r"caifuhao\.eastmoney\.com/news/(\d+)")
SHORT_TIME = re.compile(r"^\s*(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})\s*$")


def parse_count(raw: str | int | None) -> int | None:
    """'1.2万' -> 12000, '3亿' -> 300000000, '57' -> 57; '' or '-' -> None."""
    if raw is None or isinstance(raw, int):
        return raw
    text = str(raw).strip().replace(",", "")
    if not text or text in ("-", "--"):
        return None
    scale = 1
    if text.endswith("万"):
        scale, text = 10_000, text[:-1]
    elif text.endswith("亿"):
        scale, text = 100_000_000, text[:-1]
    try:
        return round(float(text) * scale)
    except ValueError:
        return None


def infer_datetime(short: str, fetched_at: datetime) -> datetime | None:
    """'MM-DD HH:MM' (no year) -> the latest such time not after fetched_at; right across New Year and Feb 29."""
    match = SHORT_TIME.match(short)
    if not match:
        return None
    month, day, hour, minute = map(int, match.groups())
    local = fetched_at.astimezone(SHANGHAI)
    for year in range(local.year, local.year - 5, -1):  # 02-29 may need up to 4 years back
        try:
            candidate = datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
        except ValueError:
            continue
        if candidate <= local + timedelta(minutes=10):  # small slack for clock skew between us and the site
            return candidate
    return None
