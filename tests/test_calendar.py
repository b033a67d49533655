"""Trading days and sessions: weekends, official holidays, make-up workdays, the weekday fallback."""

from datetime import date, datetime, UTC

import pytest

from sentibot import calendar
from sentibot.timeutil import SHANGHAI, now


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize("day, trading", [
    ("2023-11-27", True),   # Monday of the BSE frenzy
    ("2023-11-25", False),  # Saturday
    ("2023-11-26", False),  # Sunday
    ("2023-09-29", False),  # Mid-Autumn + National Day 2023
    ("2023-10-02", False),
    ("2023-10-06", False),
    ("2023-10-07", False),  # Saturday make-up workday: a workday, but the exchanges are closed
    ("2023-10-08", False),  # Sunday make-up workday
    ("2023-10-09", True),   # first trading day after National Day
    ("2023-01-20", True),   # last trading day before Spring Festival 2023
    ("2023-01-23", False),  # Spring Festival 2023
    ("2023-01-27", False),
    ("2023-01-28", False),  # Saturday make-up workday
    ("2023-01-30", True),
    ("2026-01-01", False),  # New Year 2026
    ("2026-01-02", False),
    ("2026-01-04", False),  # Sunday make-up workday
    ("2026-01-05", True),
    ("2026-02-13", True),
    ("2026-02-14", False),  # Saturday make-up workday
    ("2026-02-16", False),  # Spring Festival 2026
    ("2026-02-23", False),
    ("2026-02-24", True),
    ("2026-02-28", False),  # Saturday make-up workday
    ("2026-09-20", False),  # Sunday make-up workday
    ("2026-10-01", False),  # National Day 2026
    ("2026-10-07", False),
    ("2026-10-08", True),
    ("2026-10-10", False),  # Saturday make-up workday
    ("2026-11-25", True),
])
def test_trading_days(day, trading):
    assert calendar.is_trading_day(date.fromisoformat(day)) is trading


def test_holiday_data_covers_the_current_year():
    # Fails when chinesecalendar is outdated: upgrade it (the weekday fallback would ignore holidays).
    year = now().year
    assert calendar.is_covered(year), f"chinesecalendar has no holidays for {year}; upgrade it"


def test_uncovered_year_falls_back_to_weekdays_with_one_log_line(caplog):
    year = calendar.holiday_years_covered().stop + 5
    monday = date(year, 1, 1)
    while monday.weekday() != 0:
        monday = date(year, 1, monday.day + 1)
    with caplog.at_level("WARNING", logger="sentibot.calendar"):
        assert calendar.is_trading_day(monday) is True
        assert calendar.is_trading_day(date(year, 1, monday.day + 1)) is True
        saturday = date(year, 1, monday.day + 5)
        assert calendar.is_trading_day(saturday) is False
    lines = [r.getMessage() for r in caplog.records if "calendar_fallback" in r.getMessage()]
    assert len(lines) == 1 and f"year={year}" in lines[0]


@pytest.mark.parametrize("ts, inside", [
    ("2023-11-27T09:29:59", False),
    ("2023-11-27T09:30:00", True),
    ("2023-11-27T11:29:59", True),
    ("2023-11-27T11:30:00", False),
    ("2023-11-27T12:30:00", False),
    ("2023-11-27T13:00:00", True),
    ("2023-11-27T14:59:59", True),
    ("2023-11-27T15:00:00", False),
    ("2023-10-07T10:00:00", False),  # make-up workday
    ("2023-11-25T10:00:00", False),  # Saturday
])
def test_in_session(ts, inside):
    assert calendar.in_session(at(ts)) is inside


def test_in_session_converts_other_time_zones():
    assert calendar.in_session(datetime(2023, 11, 27, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    assert not calendar.in_session(datetime(2023, 11, 27, 8, 0, tzinfo=UTC))  # 16:00


@pytest.mark.parametrize("ts, expected", [
    ("2023-11-27T10:00:00", "2023-11-27T10:00:00"),  # already inside
    ("2023-11-27T08:00:00", "2023-11-27T09:30:00"),
    ("2023-11-27T11:45:00", "2023-11-27T13:00:00"),
    ("2023-11-27T15:00:00", "2023-11-28T09:30:00"),
    ("2023-11-24T16:00:00", "2023-11-27T09:30:00"),  # Friday evening -> Monday
    ("2023-09-28T15:30:00", "2023-10-09T09:30:00"),  # across National Day and the make-up weekend
    ("2026-02-13T15:00:00", "2026-02-24T09:30:00"),  # across Spring Festival 2026
])
def test_next_session_start(ts, expected):
    assert calendar.next_session_start(at(ts)) == at(expected)


def test_sessions_of_a_closed_day_are_empty():
    assert calendar.sessions(date(2023, 10, 7)) == []
    opens = [s.time().isoformat() for s, _ in calendar.sessions(date(2023, 11, 27))]
    assert opens == ["09:30:00", "13:00:00"]


def test_previous_trading_day():
    assert calendar.previous_trading_day(date(2023, 10, 9)) == date(2023, 9, 28)
    assert calendar.previous_trading_day(date(2023, 11, 28)) == date(2023, 11, 27)
