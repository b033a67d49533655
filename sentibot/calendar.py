"""Trading days and sessions of the Chinese exchanges (SSE/SZSE/BSE), in Asia/Shanghai time.

Holidays come from the maintained `chinesecalendar` package (State Council holiday schedule). The exchanges close on
every official holiday and on every weekend, including the weekend make-up working days (调休上班) of the State
Council schedule, so a trading day is a weekday that is not an official holiday. For a year the package does not
cover yet we log once and fall back to plain weekdays (upgrade chinesecalendar to fix).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar

from sentibot.timeutil import SHANGHAI

log = logging.getLogger(__name__)

# Continuous trading sessions; the call auction before 09:30 and the closing auction end at 15:00 at the latest.
SESSIONS: tuple[tuple[time, time], ...] = ((time(9, 30), time(11, 30)), (time(13, 0), time(15, 0)))

_warned_years: set[int] = set()


def holiday_years_covered() -> range:
    """The years chinesecalendar has official holiday data for."""
    years = {d.year for d in chinese_calendar.holidays}
    return range(min(years), max(years) + 1)


def is_covered(year: int) -> bool:
    """Whether the holiday data covers this year (False = weekday fallback is in use)."""
    return year in holiday_years_covered()


def is_trading_day(day: date) -> bool:
    """Weekdays that are not official public holidays (make-up weekend workdays are closed)."""
    if day.weekday() >= 5:
        return False
    try:
        return not chinese_calendar.is_holiday(day)
    except NotImplementedError as exc:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("event=calendar_fallback year=%d reason=%r action=weekdays_are_trading_days "
                        "fix='upgrade chinesecalendar'", day.year, str(exc))
        return True


def sessions(day: date) -> list[tuple[datetime, datetime]]:
    """The (open, close) datetimes of a day's trading sessions, empty on a non-trading day."""
    if not is_trading_day(day):
        return []
    return [(datetime.combine(day, start, SHANGHAI), datetime.combine(day, end, SHANGHAI)) for start, end in SESSIONS]


def in_session(ts: datetime) -> bool:
    """Whether ts (timezone-aware) falls inside a trading session; the close instant is outside."""
    local = ts.astimezone(SHANGHAI)
    return any(start <= local < end for start, end in sessions(local.date()))


def next_session_start(ts: datetime, horizon_days: int = 40) -> datetime:
    """The earliest moment at or after ts that is inside a session (ts itself when already inside)."""
    local = ts.astimezone(SHANGHAI)
    if in_session(local):
        return local
    for offset in range(horizon_days):  # the longest closure (Spring Festival) is ~9 days
        for start, _ in sessions(local.date() + timedelta(days=offset)):
            if start >= local:
                return start
    raise ValueError(f"no trading session within {horizon_days} days of {local.isoformat()}")


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before day."""
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


SESSION_STATES = ("pre_open", "open", "lunch_break", "closed", "holiday")


def session_state(ts: datetime) -> str:
    """Where ts falls in the trading day: pre_open, open, lunch_break, closed (after 15:00) or holiday."""
    local = ts.astimezone(SHANGHAI)
    spans = sessions(local.date())
    if not spans:
        return "holiday"  # weekends and official holidays
    (morning_open, morning_close), (afternoon_open, afternoon_close) = spans
    if local < morning_open:
        return "pre_open"
    if local < morning_close or afternoon_open <= local < afternoon_close:
        return "open"
    return "lunch_break" if local < afternoon_open else "closed"


def last_close(ts: datetime) -> datetime:
    """The close (15:00) of the last trading session that had ended at ts."""
    local = ts.astimezone(SHANGHAI)
    day = local.date()
    spans = sessions(day)
    if spans and local >= spans[-1][1]:
        return spans[-1][1]
    previous = previous_trading_day(day)
    return sessions(previous)[-1][1]
