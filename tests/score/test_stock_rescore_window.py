"""The live stock rescore on a trailing window (score/stock_rescore.py): day after day it loads only the days its
re-saved rows depend on and continues the stored levels, and every row it saves equals a full recompute of the
whole seeded history; a missing or unreadable stored state falls back to the full recompute."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from sentibot.models import Bar, Observation
from sentibot.score import stock_rescore, stocks
from sentibot.store.db import open_store, set_cursor, upsert_bars, upsert_observations
from sentibot.timeutil import SHANGHAI

DAYS = 380
LIVE = 24  # the last LIVE days arrive one at a time, each followed by a live rescore
CODES = ("920001", "920002", "920003", "920004", "831526")  # the last under its old code (920526 once stored)
COLUMNS = ["code", "date", "score", "level", "attention_ratio", "forum_ratio", "popularity_ratio", "turnover_ratio",
           "turnover_rate", "limit_streak", "coupling", "close"]


def history(seed: int = 7) -> tuple[list[Bar], list[Observation]]:
    """Seeded walks; surges that start before the live days and go on into them (a level carried across the
    stored state), one near the end, a stock that is suspended for days and one listed late; some posts missing."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2023-01-02", periods=DAYS)
    surges = {"920001": [(DAYS - LIVE - 8, DAYS - LIVE + 6)], "920002": [(DAYS - 10, DAYS)],
              "831526": [(DAYS - LIVE - 30, DAYS - LIVE - 22), (DAYS - LIVE - 3, DAYS - LIVE + 2)]}
    bars, obs = [], []
    for code in CODES:
        close = 10 * np.exp(np.cumsum(rng.normal(0, 0.01, DAYS)))
        amount = 2e7 * np.exp(rng.normal(0, 0.15, DAYS))
        posts = np.round(40 * np.exp(rng.normal(0, 0.2, DAYS)))
        reads = 3000 * np.exp(rng.normal(0, 0.2, DAYS))
        rank = np.clip(np.round(150 * np.exp(rng.normal(0, 0.1, DAYS))), 1, None)
        for a, b in surges.get(code, []):
            posts[a:b] *= np.linspace(5, 12, b - a)
            reads[a:b] *= np.linspace(5, 12, b - a)
            amount[a:b] *= 3
            rank[a:b] = np.linspace(20, 1, b - a).round()
            for t in range(a + 1, min(a + 4, b)):
                close[t] = close[t - 1] * 1.30  # limit-up closes in a row
        listed = 200 if code == "920004" else 0
        for t in range(listed, DAYS):
            day = index[t].date().isoformat()
            if not (code == "920003" and DAYS - LIVE - 5 <= t < DAYS - LIVE + 3):  # suspended: no bar
                bars.append(Bar(code=code, date=day, close=round(float(close[t]), 3), amount=float(amount[t]),
                                turnover_rate=float(amount[t] / 1e7), origin="imported"))
            if rng.random() > 0.03:
                obs.append(Observation("guba", code, "posts", day, float(posts[t]), "imported"))
            obs.append(Observation("guba", code, "reads", day, float(reads[t]), "imported"))
            obs.append(Observation("em_rank", code, "rank", day, float(rank[t]), "imported"))
    return bars, obs


def _evening(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=20, tzinfo=SHANGHAI)


def _store(db, bars, obs, days: set[str]) -> None:
    upsert_bars(db, [b for b in bars if b.date in days], "2024-01-01T00:00:00+08:00")
    upsert_observations(db, [o for o in obs if o.ts in days], "2024-01-01T00:00:00+08:00")


def _rows(db) -> pd.DataFrame:
    return pd.read_sql_query(f"select {', '.join(COLUMNS)} from stock_scores order by code, date", db.conn)


@pytest.mark.slow
def test_day_by_day_window_rescore_equals_the_full_recompute(tmp_path, monkeypatch):
    bars, obs = history()
    days = sorted({b.date for b in bars})
    live = tmp_path / "live.db"
    db = open_store(live)
    _store(db, bars, obs, set(days[:-LIVE]))
    first = stock_rescore.evaluate(db, _evening(days[-LIVE - 1]))  # no stored state: the full recompute
    assert stock_rescore.read_state(db) is not None

    loaded, full_calls = [], []
    real_load, real_full = stock_rescore.load_inputs, stocks.score_stocks

    def load(*args, **kwargs):
        inputs = real_load(*args, **kwargs)
        loaded.append(inputs)
        return inputs

    monkeypatch.setattr(stock_rescore, "load_inputs", load)
    monkeypatch.setattr(stocks, "score_stocks", lambda *a: full_calls.append(1) or real_full(*a))
    carried, live_alerts = set(), list(first)
    for day in days[-LIVE:]:
        _store(db, bars, obs, {day})
        state = stock_rescore.read_state(db)
        assert state is not None
        carried |= {code for code, (level, _) in state[1].items() if level >= 2}
        live_alerts += stock_rescore.evaluate(db, _evening(day))
    assert full_calls == []  # every live rescore continued the stored levels
    assert max(len(i.close) for i in loaded) < stocks.TAIL_ROWS + 20 < DAYS  # a window, not the whole history
    assert {"920001", "920526"} <= carried  # hot or frenzy levels were carried across the stored state

    full = open_store(tmp_path / "full.db")
    _store(full, bars, obs, set(days))
    full_alerts = stock_rescore.evaluate(full, _evening(days[-1]), since=datetime(2023, 1, 1).date(), save_all=True)
    pd.testing.assert_frame_equal(_rows(db), _rows(full))
    assert (_rows(full)["level"] != "calm").sum() > 10
    recent = {a.dedupe_key for a in full_alerts if a.ts[:10] > days[-LIVE - 1]}  # the live days' alerts
    assert recent and recent == {a.dedupe_key for a in live_alerts if a.ts[:10] > days[-LIVE - 1]}


@pytest.mark.slow
@pytest.mark.parametrize("state", [None, "not json", '{"date": "2024-01-01"}', '{"date": 5, "levels": {"x": 1}}'])
def test_without_a_usable_state_the_rescore_recomputes_everything(tmp_path, monkeypatch, state):
    bars, obs = history()
    days = sorted({b.date for b in bars})[:300]
    db = open_store(tmp_path / "h.db")
    _store(db, bars, obs, set(days[:-1]))
    stock_rescore.evaluate(db, _evening(days[-2]))
    before = _rows(db)
    if state is None:
        db.execute("delete from cursors where source = ?", [stock_rescore.STATE_CURSOR[0]])
    else:
        set_cursor(db, *stock_rescore.STATE_CURSOR, state, "2024-01-01T00:00:00+08:00")
    _store(db, bars, obs, {days[-1]})
    full_calls = []
    real_full = stocks.score_stocks
    monkeypatch.setattr(stocks, "score_stocks", lambda *a: full_calls.append(1) or real_full(*a))
    stock_rescore.evaluate(db, _evening(days[-1]))
    assert full_calls == [1]
    after = _rows(db)
    assert len(after) > len(before)
    assert stock_rescore.read_state(db) is not None  # rebuilt for the next rescore
