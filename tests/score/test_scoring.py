"""Each scoring formula on small hand-built frames, values checked by hand (see the comments)."""

import math

import numpy as np
import pandas as pd
import pytest

from sentibot.score import correlation, scoring
from sentibot.score.rescore import reasons_for

DAYS = pd.bdate_range("2023-01-02", periods=8)


def col(values, name="x"):
    return pd.DataFrame({name: values}, index=DAYS[: len(values)], dtype=float)


def test_attention_log_ratio_against_median_of_previous_window():
    out = scoring.attention_log_ratio(col([10, 20, 30, 40, 80]), window=3)["x"]
    assert out.iloc[:3].isna().all()  # fewer than N previous values: no score
    assert out.iloc[3] == pytest.approx(math.log(40 / 20))  # median(10, 20, 30) = 20
    assert out.iloc[4] == pytest.approx(math.log(80 / 30))  # median(20, 30, 40) = 30


def test_missing_days_are_missing_not_zero():
    out = scoring.attention_log_ratio(col([10, np.nan, 30, 40, 50, 60]), window=3)["x"]
    # windows holding the gap have 2 of 3 values (< 75%): no score instead of a guess
    assert out.iloc[3:5].isna().all() and out.iloc[1] != out.iloc[1]
    assert out.iloc[5] == pytest.approx(math.log(60 / 40))  # median(30, 40, 50)


def test_zero_reading_has_no_log_ratio():
    out = scoring.attention_log_ratio(col([10, 10, 10, 10, 0, 10]), window=4)["x"]
    assert math.isnan(out.iloc[4]) and out.iloc[5] == pytest.approx(0.0)  # window 10,10,10,(none): 3 of 4


def test_weekly_data_uses_n_8_and_daily_n_20():
    assert scoring.infer_window(pd.date_range("2023-01-06", periods=20, freq="W-FRI")) == 8
    assert scoring.infer_window(pd.bdate_range("2023-01-02", periods=30)) == 20


def test_robust_z_median_and_mad_of_previous_logs():
    logs = [0, 1, 2, 3, 4, 10]
    out = scoring.robust_z(col(np.exp(logs)), window=5)["x"]
    # previous logs 0..4: median 2, |dev| = 2,1,0,1,2 -> MAD 1 -> z = (10 - 2) / 1.4826
    assert out.iloc[5] == pytest.approx(8 / 1.4826)
    assert out.iloc[:5].isna().all()


def test_robust_z_flat_window_is_nan_not_infinite():
    out = scoring.robust_z(col([5, 5, 5, 5, 5, 50]), window=5)["x"]
    assert math.isnan(out.iloc[5])


def test_turnover_ratio_against_trailing_mean():
    out = scoring.turnover_ratio(pd.Series([100, 100, 100, 300.0]), window=3)
    assert out.iloc[3] == pytest.approx(3.0) and out.iloc[:3].isna().all()


def test_rsi_wilder_hand_computed():
    out = scoring.rsi(pd.Series([10, 11, 12, 11, 13, 12.0]), period=3)
    # seed: gains (1,1,0)/3 = 2/3, losses (0,0,1)/3 = 1/3 -> RS 2 -> 66.67
    # next +2: gain (2/3*2+2)/3 = 10/9, loss (1/3*2)/3 = 2/9 -> RS 5 -> 83.33
    # next -1: gain 20/27, loss 13/27 -> RS 20/13 -> 60.61
    assert out.iloc[:3].isna().all()
    assert out.iloc[3:].round(2).tolist() == [66.67, 83.33, 60.61]


def test_rsi_all_gains_is_100_and_wide_frames_work():
    wide = pd.DataFrame({"up": np.arange(1, 21.0), "flat": np.full(20, 5.0)})
    out = scoring.rsi(wide, period=14)
    assert out["up"].iloc[-1] == 100.0 and out["flat"].iloc[-1] == 50.0


def test_return_from_low():
    out = scoring.return_from_low(pd.Series([10, 8, 9, 12.0]), window=3)
    assert out.iloc[3] == pytest.approx(0.5)  # 12 / min(8, 9, 12) - 1


def test_limit_context_counts_30_percent_moves():
    stocks = pd.DataFrame({"A": [10, 13.0], "B": [10, 7.0], "C": [10, 10.5]}, index=DAYS[:2])
    row = scoring.limit_context(stocks).iloc[1]
    assert (row["stocks"], row["limit_up"], row["limit_down"]) == (3, 1, 1)


def test_rolling_rank_corr_spearman():
    a = pd.Series([1, 2, 3, 4, 5.0])
    assert correlation.rolling_rank_corr(a, a * 2, window=5).iloc[-1] == pytest.approx(1.0)
    assert correlation.rolling_rank_corr(a, -a, window=5).iloc[-1] == pytest.approx(-1.0)
    # d = 0,-1,1,-1,1 -> 1 - 6*4/(5*24) = 0.8
    assert correlation.rolling_rank_corr(a, pd.Series([1, 3, 2, 5, 4.0]), window=5).iloc[-1] == pytest.approx(0.8)


def _walk(n=120, seed=1):
    rng = np.random.default_rng(seed)
    return pd.Series(np.exp(np.cumsum(rng.normal(0, 0.1, n))) * 100, index=pd.bdate_range("2023-01-02", periods=n))


@pytest.mark.parametrize("shift", [2, -3])
def test_lead_lag_finds_who_leads(shift):
    att = _walk()
    turnover = att.shift(shift).bfill().ffill()  # shift > 0: turnover follows attention by `shift` days
    best = correlation.best_lag(correlation.lead_lag_table(att, turnover))
    assert best["lag"] == shift and best["corr"] > 0.95
    assert best["leader"] == ("attention" if shift > 0 else "turnover")
    rolling = correlation.rolling_lead_lag(att, turnover)
    assert rolling["lag"].iloc[-1] == shift and rolling["corr"].iloc[-1] == pytest.approx(best["corr"], abs=1e-3)


def test_strength_is_bounded_monotone_and_keeps_resolution_at_the_top():
    ratios = np.array([0.5, 1.0, 2.0, 6.0, 25.0])
    s = scoring.strength(np.log(ratios), scoring.SCALES["turnover"])
    assert s[0] == s[1] == 0.0  # below or at the usual level: nothing
    assert s[2] == pytest.approx(1 - np.exp(-np.log(2) / np.log(3)))  # 0.47
    assert 0 < s[2] < s[3] < s[4] < 1  # a 6x day reads above a 2x day, a 25x day above both, none reaches 1
    assert s[3] - s[2] > 0.25
    assert np.isnan(scoring.strength(np.array([np.nan]), 1.0))[0]


def test_a_percentile_score_saturates_where_the_strength_score_does_not():
    # 250 calm days, then 2x and 6x turnover days: both are the top percentile, their strengths differ
    n = 252
    amount = pd.Series(np.r_[np.full(n - 2, 1e9) * (1 + 0.01 * np.sin(np.arange(n - 2))), 2e9, 6e9])
    ratio = scoring.turnover_ratio(amount)
    ranks = np.log(ratio).rolling(250, min_periods=40).rank(pct=True)
    assert ranks.iloc[-1] == 1.0 and ranks.iloc[-2] == 1.0
    s = scoring.strength(np.log(ratio), scoring.SCALES["turnover"])
    assert s.iloc[-1] > s.iloc[-2] + 0.2


def _daily(scores, raw):
    return pd.DataFrame({"score": scores, "raw_level": raw}, index=pd.bdate_range("2023-01-02", periods=len(raw)))


def test_hysteresis_up_at_once_down_after_two_days_below_hot():
    d = _daily([50, 80, 90, 90, 80, 70, 70, 50, 50],
               ["calm", "hot", "frenzy", "frenzy", "hot", "warming", "warming", "calm", "calm"])
    h = scoring.apply_hysteresis(d)
    assert h["level"].tolist() == ["calm", "hot", "frenzy", "frenzy", "frenzy", "frenzy", "warming", "warming",
                                   "calm"]
    assert h["event"].tolist() == ["", "up", "up", "", "", "", "cooling", "", "down"]


def test_hysteresis_needs_consecutive_days():
    d = _daily([90, 70, 80, 70, 80, 70], ["frenzy", "warming", "hot", "warming", "hot", "warming"])
    h = scoring.apply_hysteresis(d)
    assert set(h["level"]) == {"frenzy"} and h["event"].tolist() == ["up"] + [""] * 5


def _gates(**kw):
    base = {"score": 95.0, "attention_series": 2, "attention_confirmed": 2, "attention_hot": 2,
            "attention_max": 5.0, "market_confirmed": True}
    base.update(kw)
    return scoring.raw_levels(pd.DataFrame([base])).iloc[0]


def test_frenzy_needs_two_attention_series_and_market_confirmation():
    assert _gates() == "frenzy"
    assert _gates(attention_confirmed=1) == "hot"  # two series exist, only one confirms
    assert _gates(attention_series=1, attention_confirmed=1, attention_hot=1) == "frenzy"  # only one exists
    assert _gates(market_confirmed=False) == "hot"
    assert _gates(attention_max=1.2, attention_hot=0, attention_confirmed=0) == "calm"
    assert _gates(score=float("nan")) == "calm"


def test_sentiment_only_when_present():
    n = 120
    market = pd.DataFrame({"close": _walk(n, 2), "amount": _walk(n, 3) * 1e7})
    att = pd.DataFrame({"a": _walk(n, 4)})
    without = scoring.score_history(market, att).daily
    assert "s_sentiment" not in without and "bullish_share" not in without
    share = pd.Series(np.linspace(0.3, 0.7, n), index=market.index)
    with_share = scoring.score_history(market, att, sentiment=share).daily
    assert with_share["s_sentiment"].notna().any()


def test_reasons_are_short_human_strings():
    row = pd.Series({"turnover_ratio": 3.14, "rsi": 82.2, "ret_from_low": 0.45, "lead_lag": 1.0,
                     "lead_lag_corr": 0.62})
    ratios = pd.Series({"WeChat index 北交所": 38.2, "Guba posts 北证50": 1.2})
    assert reasons_for(row, ratios) == ("WeChat index 北交所 38x its 20-day median", "turnover 3.1x its 20-day mean",
                                        "RSI 82", "BSE 50 +45% from its 20-day low",
                                        "attention leads turnover by 1d (r=0.62)")


def test_incremental_latest_day_equals_full_recompute():
    n = scoring.TAIL_ROWS + 60
    market = pd.DataFrame({"close": _walk(n, 5), "amount": _walk(n, 6) * 1e7})
    att = pd.DataFrame({"a": _walk(n, 7), "b": _walk(n, 8)})
    att["weekly"] = _walk(n, 13).where(att.index.day_of_week == 4)  # a weekly series rides along
    att.iloc[-1, 1] = np.nan  # and one series has no value on the newest day
    stocks = pd.DataFrame({"s1": _walk(n, 9), "s2": _walk(n, 10)})
    stocks.iloc[-1, 0] = stocks.iloc[-2, 0] * 1.3  # one stock closes at the +30% limit on the newest day
    full = scoring.score_history(market, att, stocks=stocks).daily.iloc[-1]
    previous = scoring.score_history(market.iloc[:-1], att.iloc[:-1], stocks=stocks.iloc[:-1]).daily
    latest = scoring.score_latest(market, att, previous, stocks=stocks)
    assert latest["limit_up"] == 1
    for key in ("score", "rsi", "turnover_ratio", "attention", "attention_series", "attention_level", "rank_corr",
                "lead_lag", "s_attention", "s_limit", "s_breadth", "limit_streak_max", "up_share", "raw_level", "basis"):
        if key in ("raw_level", "basis"):
            assert latest[key] == full[key]
        else:
            assert latest[key] == pytest.approx(full[key], rel=1e-6)


def test_weekly_attention_uses_n_8_on_its_own_dates():
    days = pd.bdate_range("2023-01-02", periods=140)
    market = pd.DataFrame({"close": _walk(140, 11).to_numpy(), "amount": _walk(140, 12).to_numpy() * 1e7},
                          index=days)
    fridays = pd.date_range("2023-01-06", periods=24, freq="W-FRI")
    values = [100.0] * 23 + [400.0]  # flat, then 4x on the last Friday
    result = scoring.score_history(market, pd.DataFrame({"weekly": pd.Series(values, index=fridays)}))
    ratio = result.attention_ratio["weekly"]
    last = fridays[-1]
    assert ratio[last] == pytest.approx(4.0)  # 400 / median of the 8 previous weeks (100)
    assert ratio[days[days > last][:4]].tolist() == pytest.approx([4.0] * 4)  # stands for the next trading days
    assert ratio[days[days < last]].dropna().eq(1.0).all()  # never before its own date
    assert ratio[: fridays[8] - pd.Timedelta(days=1)].isna().all()  # fewer than 8 weeks: no score


def test_rolling_corr_matches_pandas_with_gaps():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=200), rng.normal(size=200)
    y = y + 0.5 * x
    x[[3, 50, 51, 120]] = np.nan
    y[[10, 51, 199]] = np.nan
    ours = correlation.rolling_corr(x, y, 60, 45)
    theirs = pd.Series(x).rolling(60, min_periods=45).corr(pd.Series(y)).to_numpy()
    assert np.allclose(ours, theirs, equal_nan=True, atol=1e-9)
