"""The limit board (涨停板) of BSE stocks from their daily bars: pure numpy/pandas, backwards-looking only.

BSE stocks move at most ±30% from the previous close; the limit price is that close × 1.3 (× 0.7) rounded to the
cent. Per day: stocks closing at +30% (涨停) and at −30% (跌停), broken limits (炸板: the high touched +30%, the close
did not), the longest run of consecutive limit-up closes (连板高度) and the share of stocks that rose (赚钱效应).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LIMIT = 0.30  # BSE daily price limit (a stock's first trading day has none: it has no previous close here)
HALF_TICK = 0.005  # prices are in cents: a close within half a cent of the limit price is at the limit
BREADTH_COLUMNS = ("stocks", "limit_up", "limit_down", "broken_limit", "limit_streak_max", "up_share")


def limit_prices(previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(+30%, −30%) limit prices of a previous close, rounded half-up to the cent as the exchange does."""
    with np.errstate(invalid="ignore"):
        up = np.floor(previous * (1 + LIMIT) * 100 + 0.5 + 1e-9) / 100
        down = np.floor(previous * (1 - LIMIT) * 100 + 0.5 + 1e-9) / 100
    return up, down


def limit_flags(close: pd.DataFrame, high: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Per stock and day (dates × codes): at_up, at_down, broken, rose, traded; NaN bars count as not traded.

    The previous close is the stock's previous row: a stock back from a suspension (NaN row before) has no limit
    test that day, which errs on the side of not counting.
    """
    c = close.to_numpy(float)
    prev = np.vstack([np.full((1, c.shape[1]), np.nan), c[:-1]]) if len(c) else c
    h = c if high is None else high.reindex(index=close.index, columns=close.columns).to_numpy(float)
    h = np.where(np.isnan(h), c, h)  # a bar without a high: its close is the best we know
    up, down = limit_prices(prev)
    traded = ~np.isnan(c) & ~np.isnan(prev) & (prev > 0)
    with np.errstate(invalid="ignore"):
        at_up = traded & (c >= up - HALF_TICK)
        at_down = traded & (c <= down + HALF_TICK)
        broken = traded & (h >= up - HALF_TICK) & ~at_up
        rose = traded & (c > prev)
    return {"at_up": at_up, "at_down": at_down, "broken": broken, "rose": rose, "traded": traded}


def limit_streaks(at_up: np.ndarray) -> np.ndarray:
    """Consecutive limit-up closes per stock ending each day (0 on a day not at the limit)."""
    out = np.zeros(at_up.shape, dtype=np.int64)
    run = np.zeros(at_up.shape[1], dtype=np.int64)
    for i, row in enumerate(at_up):
        run = np.where(row, run + 1, 0)
        out[i] = run
    return out


def limit_board(close: pd.DataFrame, high: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per day: stocks with a limit test, limit_up, limit_down, broken_limit, limit_streak_max, up_share."""
    flags = limit_flags(close, high)
    traded = flags["traded"].sum(axis=1)
    streak = limit_streaks(flags["at_up"])
    with np.errstate(invalid="ignore", divide="ignore"):
        up_share = np.where(traded > 0, flags["rose"].sum(axis=1) / np.maximum(traded, 1), np.nan)
    board = pd.DataFrame({
        "stocks": traded, "limit_up": flags["at_up"].sum(axis=1), "limit_down": flags["at_down"].sum(axis=1),
        "broken_limit": flags["broken"].sum(axis=1),
        "limit_streak_max": streak.max(axis=1) if streak.shape[1] else np.zeros(len(close), dtype=np.int64),
        "up_share": up_share}, index=close.index)
    # a day on which no stock could be tested says nothing: missing, not zero
    return board.where(board["stocks"] > 0)


def stock_limit_streak(close: pd.Series, high: pd.Series | None = None) -> pd.Series:
    """One stock's run of consecutive limit-up closes per day (for per-stock heat)."""
    frame = close.to_frame()
    flags = limit_flags(frame, None if high is None else high.to_frame(close.name))
    return pd.Series(limit_streaks(flags["at_up"])[:, 0], index=close.index, name=close.name)
