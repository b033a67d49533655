"""The limit board: hand-checked counts of +30% / −30% closes, broken limits, streaks and the up share."""

import numpy as np
import pandas as pd
import pytest

from sentibot.score import breadth, scoring

DAYS = pd.bdate_range("2023-11-20", periods=4)


def test_limit_prices_round_half_up_to_the_cent():
    up, down = breadth.limit_prices(np.array([10.0, 1.23, 7.77, 3.35]))
    assert up.tolist() == [13.0, 1.6, 10.1, 4.36]  # 1.599 -> 1.60; 10.101 -> 10.10; 4.355 -> 4.36
    assert down.tolist() == [7.0, 0.86, 5.44, 2.35]  # 0.861; 5.439; 2.345 -> 2.35


def test_board_counts_limits_broken_limits_streaks_and_risers():
    close = pd.DataFrame({
        "A": [10.0, 13.0, 16.9, 21.97],  # three limit-up closes in a row: streak 3
        "B": [10.0, 7.0, 7.5, 7.4],  # limit down on day 2
        "C": [10.0, 12.0, 15.6, 15.0],  # limit up on day 3 only
        "D": [10.0, 11.0, np.nan, 12.0],  # suspended on day 3: no test on days 3 and 4
    }, index=DAYS)
    high = close.copy()
    high.loc[DAYS[1], "C"] = 13.0  # touched +30% on day 2, closed at +20%: broken
    board = breadth.limit_board(close, high)
    assert board["stocks"].iloc[1:].tolist() == [4, 3, 3]
    assert np.isnan(board["stocks"].iloc[0])  # nothing to compare the first day with
    assert board["limit_up"].iloc[1:].tolist() == [1, 2, 1]
    assert board["limit_down"].iloc[1:].tolist() == [1, 0, 0]
    assert board["broken_limit"].iloc[1:].tolist() == [1, 0, 0]
    assert board["limit_streak_max"].iloc[1:].tolist() == [1, 2, 3]
    assert board["up_share"].iloc[1:].tolist() == pytest.approx([3 / 4, 3 / 3, 1 / 3])


def test_a_close_just_below_the_limit_price_is_not_at_the_limit():
    close = pd.DataFrame({"A": [10.0, 12.99], "B": [10.0, 13.0]}, index=DAYS[:2])
    assert breadth.limit_board(close).iloc[1]["limit_up"] == 1


def test_stock_limit_streak_per_series():
    s = pd.Series([10.0, 13.0, 16.9, 17.0, 22.1], index=pd.bdate_range("2023-11-20", periods=5), name="A")
    assert breadth.stock_limit_streak(s).tolist() == [0, 1, 2, 0, 1]


def test_the_limit_board_feeds_the_score_and_stays_out_when_absent():
    n = 60
    index = pd.bdate_range("2023-08-01", periods=n)
    market = pd.DataFrame({"close": np.linspace(800, 900, n), "amount": np.full(n, 1e9)}, index=index)
    flat = pd.DataFrame(np.full((n, 20), 10.0), index=index)
    hot = flat.copy()
    hot.iloc[-1, :5] = 13.0  # a quarter of the stocks at +30% on the last day
    calm = scoring.score_history(market, None, stocks=flat).daily.iloc[-1]
    lifted = scoring.score_history(market, None, stocks=hot).daily.iloc[-1]
    without = scoring.score_history(market, None).daily.iloc[-1]
    assert lifted["limit_up"] == 5 and lifted["score"] > calm["score"] + 5
    assert "s_limit" not in without and without["basis"] == "market_only"
