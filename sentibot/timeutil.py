"""Time zone and timestamp helpers: sentibot keeps market time in Asia/Shanghai."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time in Asia/Shanghai (call only at the edges; the core takes time as an argument)."""
    return datetime.now(SHANGHAI)


def now_iso() -> str:
    return now().isoformat(timespec="seconds")
