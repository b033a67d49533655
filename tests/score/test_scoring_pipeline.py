"""rescore() over a real SQLite history: scores stored, alerts added once, only recent ones live; chart rendering."""

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from sentibot.views import chart
from sentibot.score import rescore as pipeline
from sentibot.errors import InputError
from sentibot.models import Bar, Notice, Observation
from sentibot.alerts import regulator
from sentibot.store.db import alert_from_row, open_store, upsert_bars, upsert_notice, upsert_observations
from sentibot.timeutil import SHANGHAI

N = 150
DAYS = pd.bdate_range("2023-05-01", periods=N)
STAMP = "2023-12-01T00:00:00+08:00"


def seed(db, surge: bool = True, bullish: bool = False, stocks: bool = False):
    rng = np.random.default_rng(3)
    boost = np.concatenate([np.zeros(N - 15), np.linspace(0.2, 3, 15)]) if surge else np.zeros(N)
    close = 800 * np.exp(np.cumsum(rng.normal(0, 0.004, N)) + boost / 8)
    amount = 1e9 * np.exp(rng.normal(0, 0.05, N) + boost * 0.8)
    bars = [Bar("899050", d.date().isoformat(), float(c), float(a)) for d, c, a in zip(DAYS, close, amount)]
    if stocks:
        price = 10 * np.exp(np.cumsum(rng.normal(0, 0.01, N)))
        price[-1] = price[-2] * 1.3  # a +30% limit-up close on the last day
        bars += [Bar("830799", d.date().isoformat(), float(p), 1e6) for d, p in zip(DAYS, price)]
    upsert_bars(db, bars, STAMP)
    obs = []
    for source, subject, metric, base in (("wechat_index", "北交所", "index", 1e6), ("guba", "北交所", "posts", 300)):
        values = base * np.exp(rng.normal(0, 0.05, N) + boost)
        obs += [Observation(source, subject, metric, d.date().isoformat(), float(v)) for d, v in zip(DAYS, values)]
    if bullish:
        obs += [Observation("guba", "北交所", "bullish_share", d.date().isoformat(), 0.5 + 0.3 * b / 3)
                for d, b in zip(DAYS, boost)]
    upsert_observations(db, obs, STAMP)


def at(day: pd.Timestamp) -> datetime:
    return datetime(day.year, day.month, day.day, 16, 0, tzinfo=SHANGHAI)


@pytest.mark.slow
def test_rescore_daily_job_alerts_each_transition_once(tmp_path):
    db = open_store(tmp_path / "h.db")
    seed(db)
    live = [a for day in DAYS[-16:] for a in pipeline.rescore(db, at(day), admin_ids=(42,))]
    assert [(a.kind.value, a.level) for a in live] == [("frenzy", "warming"), ("frenzy", "hot"), ("frenzy", "frenzy")]
    assert db["scores"].count > 50 and db["alerts"].count == 3
    assert [a for day in DAYS[-16:] for a in pipeline.rescore(db, at(day))] == []  # run again: nothing new


def test_rescore_does_not_alert_old_transitions(tmp_path):
    db = open_store(tmp_path / "h.db")
    seed(db)
    later = DAYS[-1] + pd.Timedelta(days=14)  # the job was down for two weeks: old transitions are history
    assert pipeline.rescore(db, at(later)) == [] and db["scores"].count > 50


def test_rescore_uses_only_data_up_to_now(tmp_path):
    db = open_store(tmp_path / "h.db")
    seed(db)
    pipeline.rescore(db, at(DAYS[-20]))
    assert max(r["date"] for r in db.query("select date from scores")) == DAYS[-20].date().isoformat()


def test_regulator_notice_alerts_at_once_whatever_the_heat(tmp_path):
    db = open_store(tmp_path / "h.db")
    seed(db, surge=False)
    day = DAYS[-1].date().isoformat()
    notice = Notice(url="https://www.bse.cn/a.html", source="bse.cn", published_at=f"{day}T18:00:00+08:00",
                    title="北交所加强交易监管", text="对异常交易行为采取口头警示、出具警示函等自律监管措施。")
    upsert_notice(db, notice, STAMP, "regulator_warning", 3, ("警示函",))
    moment = at(DAYS[-1]).replace(hour=19)
    assert pipeline.rescore(db, moment) == []  # rescoring never raises regulator warnings: one place does
    [alert_id] = regulator.raise_due(db, moment)
    alert = alert_from_row(db["alerts"].get(alert_id))
    assert alert.kind.value == "regulator_warning" and alert.level == "calm"
    assert regulator.raise_due(db, moment) == []  # once per notice


def test_bullish_share_and_price_limits_enter_when_present(tmp_path):
    db = open_store(tmp_path / "h.db")
    seed(db, bullish=True, stocks=True)
    pipeline.rescore(db, at(DAYS[-1]))
    history = pipeline.load_history(db, DAYS[-1].date())
    assert history.sentiment is not None and list(history.attention) == ["Guba posts 北交所", "WeChat index 北交所"]
    import json

    last = json.loads(next(db.query("select components from scores order by date desc limit 1"))["components"])
    assert last["limit_up"] == 1 and "sentiment" in last["strengths"] and "limit" in last["strengths"]
    assert any("bullish" in r for r in last["reasons"]) and "1 stocks closed at the +30% limit" in last["reasons"]


def test_series_labels():
    assert pipeline.series_label("wechat_index", "北交所", "index") == "WeChat index 北交所"
    assert pipeline.series_label("wechat_index", "北交所", "北交所") == "WeChat index 北交所"  # DESIGN.md CSV style
    assert pipeline.series_label("baidu_index", "北证50", "all") == "Baidu index 北证50"
    assert pipeline.series_label("guba", "北交所", "posts") == "Guba posts 北交所"


def test_only_daily_market_wide_series_enter_the_score(tmp_path):
    db = open_store(tmp_path / "h.db")
    seed(db, surge=False)
    noise = [Observation("guba", "北交所", "posts_1h", "2023-06-01T10", 5.0),  # hourly
             Observation("guba", "zs899050", "posts", "2023-06-01", 5.0),  # one forum bar
             Observation("guba", "北交所", "comments", "2023-06-01", 5.0),
             Observation("em_rank", "830799", "rank", "2023-06-01", 5.0),  # one stock
             Observation("baidu_index", "北证50", "wise", "2023-06-01", 5.0),  # part of "all"
             Observation("baidu_index", "北证50", "all_week", "2023-06-01", 5.0),
             Observation("baidu_index", "北证50", "all", "2023-06-01", 5.0),
             Observation("em_rank", "北交所", "inv_rank", "2023-06-01", 0.2)]
    upsert_observations(db, noise, STAMP)
    history = pipeline.load_history(db, DAYS[-1].date())
    assert sorted(history.attention) == ["Baidu index 北证50", "Eastmoney popularity 北交所", "Guba posts 北交所",
                                         "WeChat index 北交所"]


@pytest.mark.slow
def test_chart_renders_and_falls_back_without_a_cjk_font(tmp_path, monkeypatch):
    db = open_store(tmp_path / "h.db")
    with pytest.raises(InputError, match="no scores to chart yet"):
        chart.render_chart(db, tmp_path / "c.png")
    seed(db)
    pipeline.rescore(db, at(DAYS[-1]), since=DAYS[0].date())
    path = chart.render_chart(db, tmp_path / "zh.png", days=60, lang="zh")
    assert path.read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setattr(chart, "cjk_font", lambda: None)  # fault injection: a machine without CJK fonts
    path = chart.render_chart(db, tmp_path / "en.png", days=60)
    assert path.stat().st_size > 10_000


@pytest.mark.slow
def test_rescore_cooldown_drops_a_repeat_of_the_same_level(tmp_path):
    from datetime import timedelta

    from sentibot.models import Alert, AlertKind
    from sentibot.store.db import add_alert

    reference = open_store(tmp_path / "ref.db")
    seed(reference)
    hot_day = next(day for day in DAYS[-16:] for a in pipeline.rescore(reference, at(day)) if a.level == "hot")
    db = open_store(tmp_path / "h.db")
    seed(db)
    # a "hot" alert went out an hour before the day's rescore (say, from a flicker the day before)
    earlier = (at(hot_day) - timedelta(hours=1)).isoformat()
    add_alert(db, Alert(AlertKind.FRENZY, earlier, "BSE heat → hot", level="hot", dedupe_key="flicker"), earlier)
    live = [a for day in DAYS[-16:] for a in pipeline.rescore(db, at(day), cooldown_s=6 * 3600)]
    assert [a.level for a in live] == ["warming", "frenzy"]
