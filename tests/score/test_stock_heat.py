"""Stock heat (sentibot.score.stocks): hand-checked components, the wide helpers equal the per-series core, the newest
day equals the full recompute, and a stock whose attention surges reaches hot/frenzy while a flat one stays calm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sentibot.score import levels, scoring, stocks
from sentibot.score.correlation import rolling_rank_corr


def world(days: int = 320, codes=("920526", "920171", "920146"), surge: str | None = "920526", seed: int = 3,
          surge_days: int = 6) -> stocks.StockInputs:
    """Calm random walks; `surge` gets 5-12x forum attention and 3x turnover, and limit-up closes, at the end."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2022-01-03", periods=days)
    close, amount, rate, posts, reads, rank = ({} for _ in range(6))
    for code in codes:
        c = 10 * np.exp(np.cumsum(rng.normal(0, 0.01, days)))
        a = 2e7 * np.exp(rng.normal(0, 0.15, days))
        p = np.round(40 * np.exp(rng.normal(0, 0.2, days)))
        r = 3000 * np.exp(rng.normal(0, 0.2, days))
        k = np.clip(np.round(150 * np.exp(rng.normal(0, 0.1, days))), 1, None)
        if code == surge:
            tail = slice(days - surge_days, days)
            p[tail] *= np.linspace(5, 12, surge_days)
            r[tail] *= np.linspace(5, 12, surge_days)
            a[tail] *= 3
            k[tail] = np.linspace(20, 1, surge_days).round()
            for t in range(days - 3, days):
                c[t] = c[t - 1] * 1.30  # three limit-up closes in a row
        close[code], amount[code], rate[code], posts[code], reads[code], rank[code] = c, a, a / 1e7, p, r, k
    def frame(d):
        return pd.DataFrame(d, index=index)

    return stocks.build_inputs(frame(close), frame(amount), frame(rate),
                               {"posts": frame(posts), "reads": frame(reads), "popularity": 1000 / frame(rank)})


def test_limit_streak_counts_consecutive_limit_closes():
    close = pd.DataFrame({"a": [10, 13, 16.9, 21.97, 22, 28.6], "b": [10, np.nan, 13, 16.9, 16.9, 16.9]})
    assert stocks.limit_streak(close)["a"].tolist() == [0, 1, 2, 3, 0, 1]
    assert stocks.limit_streak(close)["b"].tolist() == [0, 0, 0, 1, 0, 0]  # a missing day ends a streak


def test_wide_rank_corr_handles_ties_and_gaps_like_the_core():
    rng = np.random.default_rng(5)
    a = pd.DataFrame(np.round(rng.normal(size=(80, 4)), 1))  # many ties
    b = pd.DataFrame(np.round(rng.normal(size=(80, 4)), 1))
    a[a > 1.2] = np.nan  # gaps
    wide = stocks.rank_corr(a, b)
    for col in a.columns:
        pd.testing.assert_series_equal(wide[col], rolling_rank_corr(a[col], b[col]), check_names=False)


def test_wide_rank_corr_equals_the_per_series_core():
    inputs = world()
    comps = stocks._components(inputs)
    a, b = comps["attention_all"], comps["turnover"]
    wide = stocks.rank_corr(a, b)
    for code in a.columns:
        pd.testing.assert_series_equal(wide[code], rolling_rank_corr(a[code], b[code]), check_names=False)


def test_wide_hysteresis_equals_levels_apply_hysteresis():
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 4, size=(400, 6))
    score = rng.uniform(40, 100, size=(400, 6))
    score[rng.uniform(size=score.shape) < 0.05] = np.nan
    level, event, previous, _ = stocks.hysteresis(raw, score)
    for j in range(raw.shape[1]):
        daily = pd.DataFrame({"raw_level": [levels.LEVELS[r] for r in raw[:, j]], "score": score[:, j]})
        ref = levels.apply_hysteresis(daily)
        assert [levels.LEVELS[v] for v in level[:, j]] == ref["level"].tolist()
        assert [stocks.EVENTS[v] for v in event[:, j]] == ref["event"].tolist()
        assert [levels.LEVELS[v] for v in previous[:, j]] == ref["previous"].tolist()


def test_percentile_and_ratio_follow_the_market_core():
    inputs = world()
    heat = stocks.score_stocks(inputs)
    code = "920171"
    expected = np.exp(scoring.attention_log_ratio(inputs.attention["posts"][[code]], 20))[code]
    pd.testing.assert_series_equal(heat["ratio_posts"][code], expected, check_names=False)
    gappy = inputs.attention["reads"].mask(np.random.default_rng(2).random(inputs.attention["reads"].shape) < 0.2)
    gappy.iloc[5:9, 0] = 0.0  # zero readings have no logarithm
    pd.testing.assert_frame_equal(stocks.log_ratio(gappy), scoring.attention_log_ratio(gappy, 20))
    pd.testing.assert_series_equal(heat["p_turnover"][code], stocks.percentile(heat["turnover"][code]),
                                   check_names=False)


def test_surging_stock_reaches_frenzy_and_calm_ones_do_not():
    heat = stocks.score_stocks(world())
    last = heat["level"].iloc[-1]
    assert stocks.level_name(last["920526"]) == "frenzy"
    assert heat["limit_streak"]["920526"].iloc[-1] == 3
    assert heat["score"]["920526"].iloc[-1] > 85
    assert stocks.level_name(last["920171"]) in ("calm", "warming")
    ups = heat["event"]["920526"].iloc[-6:]
    assert (ups == 1).sum() >= 1  # entering hot/frenzy is an upward transition


def test_each_stock_is_scored_on_its_own_history():
    inputs = world()
    alone = stocks.score_stocks(stocks.build_inputs(
        inputs.close[["920171"]], inputs.amount, inputs.turnover_rate, inputs.attention))
    together = stocks.score_stocks(inputs)
    pd.testing.assert_series_equal(alone["score"]["920171"], together["score"]["920171"])


@pytest.mark.parametrize("back", [0, 1, 3, 10])
def test_latest_day_equals_the_full_recompute(back):
    inputs = world(surge_days=12)
    end = len(inputs.close) - back
    full = stocks.score_stocks(inputs.tail(10_000) if back == 0 else _cut(inputs, end))
    before = stocks.score_stocks(_cut(inputs, end - 1))
    day = stocks.score_latest_day(_cut(inputs, end), before)
    for name in ("score", "level", "below", "event", "coupling", "limit_streak", "p_turnover", "p_attention",
                 "p_limit", "attention_max", "turnover_ratio", "raw_level"):
        np.testing.assert_allclose(day[name].to_numpy()[0], full[name].to_numpy()[-1], rtol=1e-9, equal_nan=True,
                                   err_msg=name)


def _cut(inputs: stocks.StockInputs, end: int) -> stocks.StockInputs:
    return stocks.StockInputs(inputs.close.iloc[:end], inputs.amount.iloc[:end], inputs.turnover_rate.iloc[:end],
                              {k: v.iloc[:end] for k, v in inputs.attention.items()})


def test_flat_or_short_history_never_scores():
    index = pd.bdate_range("2023-01-02", periods=30)
    flat = pd.DataFrame({"920001": np.full(30, 10.0)}, index=index)
    heat = stocks.score_stocks(stocks.build_inputs(flat, flat * 1e6, None, {"posts": flat}))
    assert heat["score"].isna().all().all()  # 30 days: too little for the 40-day percentiles
    assert (heat["level"] == 0).all().all()
