"""Property tests: no look-ahead, scale invariance of the log-ratio, no alert on flat series."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sentibot.score import scoring

FAST = settings(max_examples=25, deadline=None)


def history(seed: int, n: int, gaps: bool = True):
    """A random market (close, amount) and three attention series, some days missing."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2022-01-03", periods=n)
    walk = lambda vol: np.exp(np.cumsum(rng.normal(0, vol, n)))  # noqa: E731
    market = pd.DataFrame({"close": 800 * walk(0.02), "amount": 1e9 * walk(0.15)}, index=index)
    att = pd.DataFrame({"wechat": 1e6 * walk(0.2), "baidu": 3e3 * walk(0.2), "posts": 300 * walk(0.2)}, index=index)
    att["weekly"] = np.where(index.day_of_week == 4, 5e3 * walk(0.3), np.nan)  # a weekly series (Fridays): N = 8
    if gaps:
        att = att.mask(rng.random(att.shape) < 0.05)
        att.iloc[: n // 3, 2] = np.nan  # a series that starts late
    return market, att


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    for column in a.columns:
        x, y = a[column], b[column]
        if x.dtype == object or y.dtype == object or str(x.dtype).startswith(("str", "string")):
            if not (x.astype(str) == y.astype(str)).all():
                return False
        elif not np.allclose(x.to_numpy(float), y.to_numpy(float), equal_nan=True, rtol=1e-9, atol=1e-9):
            return False
    return True


@pytest.mark.slow
@FAST
@given(seed=st.integers(0, 10_000), n=st.integers(70, 160), cut=st.floats(0.3, 0.95))
def test_no_look_ahead(seed, n, cut):
    """Scores of day t computed from the whole history equal those computed from data up to t only."""
    market, att = history(seed, n)
    k = int(n * cut)
    full = scoring.score_history(market, att)
    part = scoring.score_history(market.iloc[:k], att.iloc[:k])
    assert same(full.daily.iloc[:k], part.daily)
    assert same(scoring.apply_hysteresis(full.daily).iloc[:k], scoring.apply_hysteresis(part.daily))
    assert same(full.attention_z.iloc[:k], part.attention_z)


@pytest.mark.slow
@FAST
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e6))
def test_log_ratio_and_z_are_scale_invariant(seed, scale):
    _, att = history(seed, 80)
    for fn in (scoring.attention_log_ratio, scoring.robust_z):
        a, b = fn(att), fn(att * scale)
        assert np.allclose(a.to_numpy(), b.to_numpy(), equal_nan=True, atol=1e-9)


@FAST
@given(n=st.integers(60, 200), close=st.floats(1, 5e3), amount=st.floats(1e6, 1e11),
       levels=st.lists(st.floats(1, 1e7), min_size=1, max_size=4))
@pytest.mark.slow
def test_flat_series_never_alert(n, close, amount, levels):
    index = pd.bdate_range("2022-01-03", periods=n)
    market = pd.DataFrame({"close": close, "amount": amount}, index=index)
    att = pd.DataFrame({f"s{i}": v for i, v in enumerate(levels)}, index=index)
    daily = scoring.score_history(market, att).daily
    events = scoring.apply_hysteresis(daily)["event"]
    assert (events == "").all()
    assert (daily["raw_level"] == "calm").all()


def stock_bars(seed: int, index: pd.DatetimeIndex, stocks: int = 12):
    """Random stock closes and highs, some at the +30% limit, some broken, some suspended days."""
    rng = np.random.default_rng(seed + 1)
    moves = rng.choice([-0.3, -0.05, 0.0, 0.04, 0.3], size=(len(index), stocks), p=[0.03, 0.3, 0.1, 0.42, 0.15])
    close = pd.DataFrame(10 * np.cumprod(1 + moves, axis=0), index=index).round(2)
    close = close.mask(rng.random(close.shape) < 0.03)
    high = close * (1 + rng.choice([0.0, 0.01, 0.35], size=close.shape, p=[0.5, 0.4, 0.1]))
    return close, high


@FAST
@given(seed=st.integers(0, 10_000), n=st.integers(40, 140), cut=st.floats(0.3, 0.95),
       with_attention=st.booleans())
@pytest.mark.slow
def test_no_look_ahead_with_limit_board_and_market_only(seed, n, cut, with_attention):
    """The same with stock bars (limit board, streaks) and with no attention at all (market-only basis)."""
    market, att = history(seed, n)
    att = att if with_attention else None
    close, high = stock_bars(seed, market.index)
    k = int(n * cut)
    full = scoring.score_history(market, att, stocks=close, stock_high=high)
    part = scoring.score_history(market.iloc[:k], None if att is None else att.iloc[:k], stocks=close.iloc[:k],
                                 stock_high=high.iloc[:k])
    assert same(full.daily.iloc[:k], part.daily)
    assert same(scoring.apply_hysteresis(full.daily).iloc[:k], scoring.apply_hysteresis(part.daily))


@FAST
@given(seed=st.integers(0, 10_000), n=st.integers(30, 160))
@pytest.mark.slow
def test_market_only_never_reaches_frenzy(seed, n):
    """Without attention the level stops at hot (levels.MARKET_ONLY_CAP), whatever the market does."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2022-01-03", periods=n)
    surge = np.exp(np.linspace(0, rng.uniform(0, 4), n))
    market = pd.DataFrame({"close": 800 * surge, "amount": 1e9 * surge ** 2}, index=index)
    close, high = stock_bars(seed, index)
    daily = scoring.score_history(market, None, stocks=close, stock_high=high).daily
    assert (daily["basis"] == "market_only").all()
    assert not (daily["raw_level"] == "frenzy").any()
    assert not (scoring.apply_hysteresis(daily)["level"] == "frenzy").any()
