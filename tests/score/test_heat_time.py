"""Time in the heat: sessions, as_of/age/stale/provisional, alert ts never in the future, read-only commands."""

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from sentibot import calendar
from sentibot.cli import cli
from sentibot.models import BSE50_CODE, Bar
from sentibot.score import rescore
from sentibot.store.db import open_store, upsert_bars
from sentibot.timeutil import SHANGHAI
from sentibot.views import heat

MONDAY = datetime(2023, 11, 27, tzinfo=SHANGHAI)  # a trading day


@pytest.mark.parametrize("hour,minute,state", [(9, 0, "pre_open"), (9, 30, "open"), (11, 29, "open"),
                                               (11, 30, "lunch_break"), (13, 0, "open"), (15, 0, "closed"),
                                               (23, 0, "closed")])
def test_session_states_of_a_trading_day(hour, minute, state):
    assert calendar.session_state(MONDAY.replace(hour=hour, minute=minute)) == state


def test_weekends_and_holidays_are_holiday_and_last_close_skips_them():
    assert calendar.session_state(datetime(2023, 11, 26, 10, tzinfo=SHANGHAI)) == "holiday"  # Sunday
    assert calendar.session_state(datetime(2023, 10, 2, 10, tzinfo=SHANGHAI)) == "holiday"  # National Day
    assert calendar.last_close(MONDAY.replace(hour=10)) == datetime(2023, 11, 24, 15, tzinfo=SHANGHAI)
    assert calendar.last_close(MONDAY.replace(hour=15)) == MONDAY.replace(hour=15)


def calm_history(db, last_day, days=40, written=None, surge=False):
    """`days` calm trading days of BSE 50 bars up to last_day, the last one written at `written`."""
    stamp = (last_day.replace(hour=23) if written is None else written).isoformat()
    day, bars = last_day.date(), []
    while len(bars) < days:
        if calendar.is_trading_day(day):
            bars.append(Bar(code=BSE50_CODE, date=day.isoformat(), close=1000.0 + len(bars) % 3, amount=1e9))
        day -= timedelta(days=1)
    bars.reverse()
    if surge:  # the last day: turnover x6, the index +40%
        for i in range(1, 2):
            old = bars[-i]
            bars[-i] = Bar(code=BSE50_CODE, date=old.date, close=1000.0 * (1.4 - 0.08 * (i - 1)), amount=6e9)
    upsert_bars(db, bars[:-1], (last_day - timedelta(days=1)).isoformat())
    upsert_bars(db, bars[-1:], stamp)


def test_an_alert_made_before_the_close_is_stamped_when_its_evidence_was_observed(tmp_path):
    db = open_store(tmp_path / "h.db")
    early = MONDAY.replace(hour=4, minute=34)
    calm_history(db, MONDAY, written=early, surge=True)
    added = rescore.rescore(db, early)
    assert added, "the surge should raise the heat"
    assert all(datetime.fromisoformat(a.ts) <= early for a in added)  # never 15:00 of a close not yet happened
    assert added[-1].ts == early.isoformat(timespec="seconds")
    assert rescore.PROVISIONAL_REASON in added[-1].reasons
    snap = heat.heat_snapshot(db, now=early.replace(minute=40))
    assert snap.provisional and snap.as_of == early.isoformat(timespec="seconds") and snap.age_s == 360
    assert snap.session == "pre_open" and snap.basis == "market_only"
    text = heat.format_heat(snap, html=False)
    assert "as of 2023-11-27 04:34 (6 minutes ago)" in text and "provisional" in text and "stale" not in text


def test_a_day_scored_after_its_close_is_final_at_15_00(tmp_path):
    db = open_store(tmp_path / "h.db")
    calm_history(db, MONDAY)
    rescore.rescore(db, MONDAY.replace(hour=20))
    snap = heat.heat_snapshot(db, now=MONDAY.replace(hour=20))
    assert snap.as_of == "2023-11-27T15:00:00+08:00" and not snap.provisional and not snap.stale
    assert snap.age_s == 5 * 3600 and snap.session == "closed"


def test_old_data_say_how_old_and_warn_that_they_are_stale(tmp_path):
    db = open_store(tmp_path / "h.db")
    calm_history(db, MONDAY)
    rescore.rescore(db, MONDAY.replace(hour=20))
    later = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
    snap = heat.heat_snapshot(db, now=later)
    assert snap.stale and snap.age_s > 365 * 86400
    text = heat.format_heat(snap, html=False)
    assert "days ago)" in text and "stale data: nothing newer than 2023-11-27" in text
    data = snap.to_json()
    assert {"as_of", "age_s", "session", "basis", "breadth"} <= set(data) and data["session"] == "open"


def test_heat_json_from_the_cli_has_the_design_fields(tmp_path):
    db = open_store(tmp_path / "h.db")
    calm_history(db, MONDAY)
    rescore.rescore(db, MONDAY.replace(hour=20))
    db.close()
    result = CliRunner().invoke(cli, ["heat", "--db", str(tmp_path / "h.db"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["basis"] == "market_only" and data["breadth"] is None  # no stock bars stored
    assert data["session"] in calendar.SESSION_STATES and isinstance(data["age_s"], int)


@pytest.mark.parametrize("command", [["heat"], ["heat", "--json"], ["history"]])
def test_read_only_commands_never_create_a_database(tmp_path, command):
    missing = tmp_path / "typo.db"
    from sentibot.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--db", str(missing)])
    assert exit_info.value.code == 1
    assert not missing.exists() and not list(tmp_path.iterdir())
