"""Scoring: pure pandas on wide frames (rows = trading dates, columns = series). No IO, no clock.

Every window looks backwards only, so the value on day t depends on rows <= t: scoring the whole history at once
equals scoring it day by day (tests/score/test_scoring_props.py checks this with hypothesis). Each component becomes
a bounded strength 0..1 of its magnitude (docs/scoring.md), so the top of the range keeps its resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from sentibot.score.breadth import BREADTH_COLUMNS, limit_board
from sentibot.score.correlation import LEADLAG_WINDOW, rolling_lead_lag, rolling_rank_corr
from sentibot.score.levels import (
    ATTENTION_CONFIRM,
    ATTENTION_HOT,
    ATTENTION_WARM,  # noqa: F401  (re-exported: rescore and the tests read scoring.ATTENTION_WARM)
    LEVELS,  # noqa: F401  (re-exported: rescore and the tests read scoring.LEVELS)
    MARKET_ONLY,
    RSI_CONFIRM,
    THRESHOLDS,  # noqa: F401  (re-exported: rescore and the tests read scoring.THRESHOLDS)
    TURNOVER_CONFIRM,
    apply_hysteresis,  # noqa: F401  (re-exported: rescore and the tests read scoring.apply_hysteresis)
    raw_levels,
)
from sentibot.score.windows import min_periods, quiet

DAILY_WINDOW = 20  # trading days ≈ one month, the daily analogue of Da-Engelberg-Gao's 8 weeks
WEEKLY_WINDOW = 8  # Da, Engelberg & Gao (2011)
MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data
TURNOVER_WINDOW = 20
RSI_PERIOD = 14
LOW_WINDOW = 20
# Strength = 1 − exp(−magnitude / scale): 0 at "nothing unusual", 0.63 at one scale, never quite 1, so a 6x day
# still reads above a 2x day. Scales are the magnitudes a retail trader would call clearly hot (docs/scoring.md).
SCALES = {"attention": float(np.log(2.0)),  # composite attention 2x its 20-day median -> 0.63
          "turnover": float(np.log(3.0)),  # turnover 3x its 20-day mean -> 0.63
          "from_low": 0.15,  # 15% above the 20-day low -> 0.63
          "limit": 0.04}  # (limit-up − limit-down) = 4% of the traded stocks -> 0.63
WEIGHTS = {"attention": 0.35, "turnover": 0.20, "rsi": 0.10, "from_low": 0.10, "coupling": 0.05,
           "sentiment": 0.10, "limit": 0.10, "breadth": 0.05}
MARKET_PARTS = ("turnover", "rsi", "from_low")  # a score needs all three (about 21 trading days of bars)


def infer_window(index: pd.Index) -> int:
    """N = 8 for weekly data, 20 for daily data (median spacing of the dates)."""
    if len(index) < 3:
        return DAILY_WINDOW
    spacing = pd.Series(pd.to_datetime(index)).diff().dt.days.median()
    return WEEKLY_WINDOW if spacing >= 5 else DAILY_WINDOW


def _positive(wide: pd.DataFrame) -> pd.DataFrame:
    # ln(x) needs x > 0; a zero or negative reading has no log-ratio and stays missing
    return wide.where(wide > 0)


def _sorted_median(ordered: np.ndarray, n: np.ndarray, transform=None) -> np.ndarray:
    """Median of each sorted row (NaN sorted last) with n valid values; transform applies before averaging."""
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0)[..., None], axis=-1)[..., 0]
    if transform is not None:
        lo, hi = transform(lo), transform(hi)
    return np.where(n > 0, (lo + hi) / 2, np.nan)


def window_stats(wide: pd.DataFrame, window: int) -> dict[str, np.ndarray]:
    """For every row t: ln x_t and, over rows t−N..t−1, the median of x, median and MAD of ln x, valid count.

    One sort of all windows serves both the log-ratio and the robust z (the pandas rolling median is slower).
    """
    logs = np.log(_positive(wide.astype(float)).to_numpy())
    shape = logs.shape
    out = {k: np.full(shape, np.nan) for k in ("median", "log_median", "mad")}
    out["n"], out["logs"] = np.zeros(shape, dtype=int), logs
    if shape[0] > window:
        windows = np.sort(sliding_window_view(logs[:-1], window, axis=0), axis=-1)  # rows t-N..t-1
        n = np.sum(~np.isnan(windows), axis=-1)
        med = _sorted_median(windows, n)
        out["median"][window:] = _sorted_median(windows, n, np.exp)  # exp is monotone: the median of x itself
        out["log_median"][window:] = med
        deviations = np.sort(np.abs(windows - med[..., None]), axis=-1)
        out["mad"][window:] = _sorted_median(deviations, n)
        out["n"][window:] = n
    return out


def _log_ratio(stats: dict, window: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        ratio = stats["logs"] - np.log(stats["median"])
    return np.where(stats["n"] >= min_periods(window), ratio, np.nan)


def _robust_z(stats: dict, window: int) -> np.ndarray:
    mad = stats["mad"] * MAD_SCALE
    with np.errstate(all="ignore"):
        z = (stats["logs"] - stats["log_median"]) / np.where(mad > 1e-9, mad, np.nan)
    return np.where(stats["n"] >= min_periods(window), z, np.nan)


def attention_log_ratio(wide: pd.DataFrame, window: int | None = None) -> pd.DataFrame:
    """ln(x_t) − ln(median(x_{t−1..t−N})): abnormal attention (Da, Engelberg & Gao 2011)."""
    window = window or infer_window(wide.index)
    return pd.DataFrame(_log_ratio(window_stats(wide, window), window), index=wide.index, columns=wide.columns)


def robust_z(wide: pd.DataFrame, window: int | None = None) -> pd.DataFrame:
    """(ln x_t − median of the N previous ln x) / (1.4826 · their MAD); a flat window gives NaN, not infinity."""
    window = window or infer_window(wide.index)
    return pd.DataFrame(_robust_z(window_stats(wide, window), window), index=wide.index, columns=wide.columns)


def turnover_ratio(amount: pd.DataFrame | pd.Series, window: int = TURNOVER_WINDOW):
    """Turnover over its trailing mean of the previous `window` days."""
    mean = amount.rolling(window, min_periods=min_periods(window)).mean().shift(1)
    return amount / mean.where(mean > 0)  # type: ignore[arg-type]  # the stubs cannot follow Series | DataFrame


def rsi(close: pd.DataFrame | pd.Series, period: int = RSI_PERIOD):
    """RSI with Wilder smoothing: seeded with the simple mean of the first `period` changes, then α = 1/period."""
    frame = close.to_frame() if isinstance(close, pd.Series) else close
    change = frame.diff()
    count = change.notna().cumsum()

    def wilder(part: pd.DataFrame) -> pd.DataFrame:
        seed = part.where(count <= period).sum() / period
        seeded = part.where(count > period).mask((count == period) & part.notna(), seed, axis=1)
        return seeded.ewm(alpha=1 / period, adjust=False, ignore_na=True).mean()

    gain, loss = wilder(change.clip(lower=0)), wilder(-change.clip(upper=0))
    out = 100 - 100 / (1 + gain / loss)
    out = out.mask((loss == 0) & (gain > 0), 100.0).mask((loss == 0) & (gain == 0), 50.0)
    out = out.where(count >= period)
    if isinstance(close, pd.Series):
        series = out.iloc[:, 0]
        series.name = close.name
        return series
    return out


def return_from_low(close, window: int = LOW_WINDOW):
    """close / lowest close of the last `window` days (today included) − 1."""
    return close / close.rolling(window, min_periods=min_periods(window)).min() - 1


def limit_context(stock_close: pd.DataFrame, stock_high: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per day: the limit board of the stocks (sentibot.score.breadth.limit_board)."""
    return limit_board(stock_close, stock_high)


def strength(magnitude, scale: float):
    """1 − exp(−max(magnitude, 0) / scale): a bounded 0..1 reading that never saturates (NaN stays NaN)."""
    with quiet():
        return 1 - np.exp(-np.clip(magnitude, 0, None) / scale)


def strengths(d: pd.DataFrame) -> pd.DataFrame:
    """The component strengths (0..1) present in a daily frame; a component missing that day stays NaN."""
    col = lambda name: d[name].to_numpy(float)  # noqa: E731  (numpy: pandas' per-call cost dominated a new day)
    above_half = lambda x: np.clip((x - 0.5) / 0.5, 0, 1)  # noqa: E731  (a share: 0.5 = nothing unusual)
    with quiet():
        parts = {"attention": strength(col("attention"), SCALES["attention"]),
                 "turnover": strength(np.log(col("turnover_ratio")), SCALES["turnover"]),
                 "rsi": np.clip((col("rsi") - 50) / 50, 0, 1),
                 "from_low": strength(col("ret_from_low"), SCALES["from_low"]),
                 "coupling": np.clip(col("rank_corr"), 0, 1)}
        if "bullish_share" in d:
            parts["sentiment"] = above_half(col("bullish_share"))
        if "limit_up" in d:
            stocks = col("stocks")
            net = (col("limit_up") - col("limit_down")) / np.where(stocks > 0, stocks, np.nan)
            parts["limit"] = strength(net, SCALES["limit"])
            parts["breadth"] = above_half(col("up_share"))
    return pd.DataFrame(parts, index=d.index)


@dataclass(frozen=True)
class ScoreResult:
    """daily: one row per date (components, strengths, score, basis, raw level); attention_*: per series."""

    daily: pd.DataFrame
    attention_ratio: pd.DataFrame
    attention_z: pd.DataFrame


def split_frequencies(attention: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily, weekly) columns; each series counts from its third value on.

    The spacing of a series' first three dates decides its N (weekly if both gaps are >= 5 days), so the choice
    never changes as later data arrives: no look-ahead in choosing N. Before its third value a series waits.
    """
    days = pd.to_datetime(attention.index).to_numpy().astype("datetime64[D]").astype(np.int64)
    count = attention.notna().to_numpy().cumsum(axis=0)
    if count.size == 0:
        return attention.iloc[:, :0], attention.iloc[:, :0]
    first, second, third = (days[np.argmax(count >= k, axis=0)] for k in (1, 2, 3))
    enough = count[-1] >= 3
    weekly = enough & (np.minimum(second - first, third - second) >= 5)
    values = np.where(days[:, None] >= third[None, :], attention.to_numpy(float), np.nan)
    frame = lambda keep: pd.DataFrame(values[:, keep], index=attention.index,  # noqa: E731
                                      columns=attention.columns[keep])
    return frame(enough & ~weekly), frame(weekly)


def attention_stats(attention: pd.DataFrame, window: int | None = None,
                    weekly: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-day aggregates over all attention series, plus the per-series ratio and z frames.

    `attention` holds daily series on the trading days; `weekly` series are scored with N = 8 on their own dates
    and each value then stands for the trading days of the following week (never before its own date).
    """
    window = window or infer_window(attention.index)
    stats = window_stats(attention, window)
    frame = lambda values: pd.DataFrame(values, index=attention.index, columns=attention.columns)  # noqa: E731
    logs, log_ratio, z = frame(stats["logs"]), frame(_log_ratio(stats, window)), frame(_robust_z(stats, window))
    weekly = pd.DataFrame(index=attention.index) if weekly is None else weekly
    for name in weekly.columns:
        own = weekly[[name]].dropna().sort_index()
        ws = window_stats(own, WEEKLY_WINDOW)
        for target, values in ((logs, ws["logs"]), (log_ratio, _log_ratio(ws, WEEKLY_WINDOW)),
                               (z, _robust_z(ws, WEEKLY_WINDOW))):
            target[name] = pd.Series(values[:, 0], index=own.index).reindex(
                attention.index, method="ffill", tolerance=pd.Timedelta(days=6))
    ratio = pd.DataFrame(np.exp(log_ratio.to_numpy()), index=log_ratio.index, columns=log_ratio.columns)
    with quiet():  # a day with no attention value at all has no mean: NaN, not a warning
        level = np.exp(np.nanmean(logs.to_numpy(), axis=1)) if logs.shape[1] else np.nan
    daily = pd.DataFrame({
        "attention": log_ratio.mean(axis=1),  # composite: mean log-ratio of the series present that day
        "attention_series": log_ratio.notna().sum(axis=1),
        "attention_hot": (ratio >= ATTENTION_HOT).sum(axis=1),
        "attention_confirmed": (ratio >= ATTENTION_CONFIRM).sum(axis=1),
        "attention_max": ratio.max(axis=1),
        # geometric mean of the raw series: a scale-free composite level for the lead-lag
        "attention_level": level,
    }, index=attention.index)
    return daily, ratio, z


def score_history(market: pd.DataFrame, attention: pd.DataFrame | None = None,
                  sentiment: pd.Series | None = None, stocks: pd.DataFrame | None = None,
                  window: int | None = None, stock_high: pd.DataFrame | None = None) -> ScoreResult:
    """Heat scores from market (index date; close, amount), wide attention, bullish share, stock closes and highs."""
    market = market.sort_index()
    attention = attention if attention is not None else pd.DataFrame(index=market.index)
    daily_part, weekly = split_frequencies(attention)
    stats, ratio, z = attention_stats(daily_part.reindex(market.index), window, weekly)
    limits = None
    if stocks is not None and not stocks.empty:
        limits = limit_context(stocks.reindex(market.index), _aligned(stock_high, market.index))
    columns = list(attention.columns)  # a series still waiting for its third value shows as missing
    return ScoreResult(combine(market, stats, sentiment, limits), ratio.reindex(columns=columns),
                       z.reindex(columns=columns))


def combine(market: pd.DataFrame, stats: pd.DataFrame, sentiment: pd.Series | None = None,
            limits: pd.DataFrame | None = None) -> pd.DataFrame:
    """Market components + attention aggregates -> strengths, weighted score, basis and raw level per day."""
    index = market.index
    d = stats.reindex(index).copy()
    d["close"], d["amount"] = market["close"], market["amount"]
    d["pct_change"] = market["close"].pct_change(fill_method=None) * 100
    d["turnover_ratio"] = turnover_ratio(market["amount"])
    d["rsi"] = rsi(market["close"])
    d["ret_from_low"] = return_from_low(market["close"])
    d["rank_corr"] = rolling_rank_corr(d["attention"], np.log(d["turnover_ratio"]))
    ll = rolling_lead_lag(d["attention_level"], market["amount"])
    d["lead_lag"], d["lead_lag_corr"] = ll["lag"], ll["corr"]
    if sentiment is not None and sentiment.reindex(index).notna().any():
        d["bullish_share"] = sentiment.reindex(index)
    if limits is not None:
        lim = limits.reindex(index)
        for name in BREADTH_COLUMNS:
            d[name] = lim[name]
    strength_frame = strengths(d)
    weights = pd.Series({k: WEIGHTS[k] for k in strength_frame.columns})
    present = strength_frame.notna()
    has_attention = present["attention"]
    # the market half is required; attention, coupling and the rest re-weight among those present
    usable = present[list(MARKET_PARTS)].all(axis=1)
    with quiet():
        score = (strength_frame.fillna(0) * weights).sum(axis=1) / (present * weights).sum(axis=1) * 100
    d["score"] = score.where(usable)
    d["basis"] = np.where(has_attention, "attention_and_market", MARKET_ONLY)
    for name in strength_frame.columns:
        d[f"s_{name}"] = strength_frame[name]
    d["market_confirmed"] = (d["turnover_ratio"] >= TURNOVER_CONFIRM) | (d["rsi"] > RSI_CONFIRM)
    d["raw_level"] = raw_levels(d)
    return d


def _aligned(frame: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame | None:
    return None if frame is None or frame.empty else frame.reindex(index)


RSI_MEMORY = 250  # Wilder's RSI never forgets; after 250 rows the seed's weight is (13/14)^250 ≈ 1e-8
TAIL_ROWS = RSI_MEMORY + LEADLAG_WINDOW + 2 * DAILY_WINDOW  # rows that can still influence the newest day
STREAK_TAIL = 60  # rows of stock bars for the newest day's limit streak (the longest BSE runs are far shorter)


def score_latest(market: pd.DataFrame, attention: pd.DataFrame, previous: pd.DataFrame,
                 sentiment: pd.Series | None = None, stocks: pd.DataFrame | None = None,
                 window: int | None = None, stock_high: pd.DataFrame | None = None) -> pd.Series:
    """The newest day's scores, incrementally: attention aggregates of earlier days come from `previous`
    (a daily frame from score_history); only the newest row of the attention series is computed."""
    market = market.sort_index().iloc[-TAIL_ROWS:]
    window = window or infer_window(market.index)
    day = market.index[-1]
    daily_part, weekly = split_frequencies(attention)
    recent = daily_part.reindex(market.index).iloc[-(window + 1):]  # the newest day and the window before it
    newest, _, _ = attention_stats(recent, window, weekly)
    stats = pd.concat([previous[newest.columns].loc[market.index[0]:day].drop(index=day, errors="ignore"),
                       newest.iloc[[-1]]])
    limits = None
    if stocks is not None and not stocks.empty:
        tail = market.index[-STREAK_TAIL:]
        newest_board = limit_context(stocks.reindex(tail), _aligned(stock_high, tail)).iloc[[-1]]
        earlier = previous[list(BREADTH_COLUMNS)].loc[market.index[0]:day].drop(index=day, errors="ignore")
        limits = pd.concat([earlier, newest_board]).reindex(market.index)
    return combine(market, stats, sentiment, limits).iloc[-1]
