"""Stock heat: the scoring core applied per BSE stock, on wide frames (rows = trading dates, columns = codes).

Pure numpy/pandas, no IO, no clock. Every window looks backwards only and every stock is scored on its own history,
so the full recompute equals a day-by-day run (`score_latest_day` computes just the newest row; tests check both
agree) and one stock's score never depends on another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from sentibot.score import scoring
from sentibot.score.correlation import CORR_WINDOW
from sentibot.score.levels import ATTENTION_CONFIRM, ATTENTION_HOT, LEVELS, THRESHOLDS, TURNOVER_CONFIRM, raw_levels
from sentibot.score.windows import min_periods, quiet

FORUM_METRICS = ("posts", "reads", "comments")  # the stock's Guba bar, per day
POPULARITY = "popularity"  # 1000 / Eastmoney popularity rank: higher = more attention
ATTENTION_METRICS = (*FORUM_METRICS, POPULARITY)
WEIGHTS = {"attention": 0.30, "popularity": 0.15, "turnover": 0.25, "turnover_rate": 0.10, "limit": 0.10,
           "coupling": 0.10}
COMPONENTS = tuple(WEIGHTS)
WINDOW = scoring.DAILY_WINDOW
# Stock heat ranks each component against the stock's own trailing year (docs/scoring.md, Stock heat): a
# stock has no market-wide anchor, so its own history is the yardstick. The market heat uses bounded strengths.
PCT_WINDOW = 250  # percentiles against about one year of the component's own history
PCT_MIN = 40  # no percentile before 40 days of history: no alarm from too little history
LIMIT_PCT = 30.0  # BSE daily price limit, percent
LIMIT_TOL = 0.5  # a close within 0.5 point of the limit counts as at the limit


def percentile(component, window: int = PCT_WINDOW, min_periods: int = PCT_MIN):
    """Percentile rank (0..1] of each value within its own trailing history, today included."""
    return component.rolling(window, min_periods=min_periods).rank(pct=True)


# rows the newest day can depend on: percentiles over PCT_WINDOW, coupling over CORR_WINDOW, ratios over WINDOW
TAIL_ROWS = PCT_WINDOW + CORR_WINDOW + WINDOW + 1
RANK = {name: i for i, name in enumerate(LEVELS)}
EVENTS = ("", "up", "down", "cooling")


@dataclass(frozen=True)
class StockInputs:
    """Wide frames on one date index: close, amount (yuan), turnover rate (%) and attention by metric."""

    close: pd.DataFrame
    amount: pd.DataFrame
    turnover_rate: pd.DataFrame
    attention: dict[str, pd.DataFrame]

    def tail(self, rows: int) -> StockInputs:
        """The last `rows` dates of every frame."""
        return StockInputs(self.close.iloc[-rows:], self.amount.iloc[-rows:], self.turnover_rate.iloc[-rows:],
                           {k: v.iloc[-rows:] for k, v in self.attention.items()})


@dataclass(frozen=True)
class StockHeat:
    """Per-stock daily frames by name (see FRAMES); levels are ranks 0..3 into LEVELS, events indexes into EVENTS."""

    frames: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def tail(self, rows: int) -> StockHeat:
        return StockHeat({k: v.iloc[-rows:] for k, v in self.frames.items()})


def build_inputs(close: pd.DataFrame, amount: pd.DataFrame, turnover_rate: pd.DataFrame | None = None,
                 attention: dict[str, pd.DataFrame] | None = None) -> StockInputs:
    """Align everything on the dates and codes of `close` (missing days stay missing, never zero)."""
    index, codes = close.index, close.columns

    def align(f: pd.DataFrame | None) -> pd.DataFrame:
        return (f if f is not None else pd.DataFrame()).reindex(index=index, columns=codes).astype(float)

    return StockInputs(close.astype(float), align(amount), align(turnover_rate),
                       {m: align(f) for m, f in (attention or {}).items() if m in ATTENTION_METRICS})


def limit_streak(close: pd.DataFrame) -> pd.DataFrame:
    """Consecutive closes at the +30% BSE limit (within 0.5 point), per stock; a missing day ends a streak."""
    up = (close.pct_change(fill_method=None) * 100 >= LIMIT_PCT - LIMIT_TOL).to_numpy()
    count = np.cumsum(up, axis=0)
    reset = np.maximum.accumulate(np.where(up, 0, count), axis=0)
    return pd.DataFrame((count - reset).astype(float), index=close.index, columns=close.columns)


def _window_ranks(v: np.ndarray, ok: list[np.ndarray], rows: int) -> list[np.ndarray]:
    """Average ranks (ties averaged, like pandas) of each position of every trailing window, by pairwise counts.

    Window position i of all windows is the contiguous slice v[i:i+rows], so w*(w-1)/2 vectorised comparisons
    replace a sort of every window (3-4x faster than argsort on the strided window view).
    """
    window = len(ok)
    cols = [np.where(ok[i], v[i:i + rows], np.nan) for i in range(window)]
    below = [np.zeros(cols[0].shape, np.float32) for _ in range(window)]
    half = np.float32(0.5)
    for i in range(window):
        for j in range(i + 1, window):
            a, b = cols[i], cols[j]
            below[j] += a < b
            below[i] += b < a
            tie = (a == b) * half
            below[i] += tie
            below[j] += tie
    return [below[i] + 1 for i in range(window)]


def rank_corr(a: pd.DataFrame, b: pd.DataFrame, window: int = CORR_WINDOW) -> pd.DataFrame:
    """Per column: Spearman correlation of a and b over each trailing window (correlation.rolling_rank_corr, wide)."""
    # row-major copies: a DataFrame's array is often column-major, and every slice below spans whole rows
    x, y = np.ascontiguousarray(a.to_numpy(float)), np.ascontiguousarray(b.reindex_like(a).to_numpy(float))
    out = np.full(x.shape, np.nan)
    if len(x) >= window:
        rows = len(x) - window + 1
        ok = [~(np.isnan(x[i:i + rows]) | np.isnan(y[i:i + rows])) for i in range(window)]
        n = np.sum(ok, axis=0)
        rx, ry = _window_ranks(x, ok, rows), _window_ranks(y, ok, rows)
        mid = (n + 1) / 2  # the mean of average ranks 1..n, ties or not
        sxy, sxx, syy = (np.zeros(n.shape) for _ in range(3))
        for i in range(window):
            dx, dy = np.where(ok[i], rx[i] - mid, 0.0), np.where(ok[i], ry[i] - mid, 0.0)
            sxy += dx * dy
            sxx += dx * dx
            syy += dy * dy
        with np.errstate(all="ignore"):
            r = sxy / np.sqrt(sxx * syy)
        out[window - 1:] = np.where(n >= min_periods(window), r, np.nan)
    return pd.DataFrame(out, index=a.index, columns=a.columns)


def log_ratio(wide: pd.DataFrame, window: int = WINDOW) -> pd.DataFrame:
    """scoring.attention_log_ratio for daily series, without the robust z's MAD: ln x_t − ln median(x_{t−N..t−1}).

    pandas' rolling median is 2-3x faster than the core's sort of every window, which also serves a z that stock
    heat does not use; the numbers are the same (tests/score/test_stock_heat.py compares them).
    """
    positive = wide.where(wide > 0)
    if len(positive) == window + 1:  # the newest day only (score_latest_day): one numpy median, no per-column loop
        before = positive.to_numpy()[:-1]
        with np.errstate(all="ignore"), quiet():
            last = np.log(positive.to_numpy()[-1]) - np.log(np.nanmedian(before, axis=0))
        values = np.full(positive.shape, np.nan)
        values[-1] = np.where(np.sum(~np.isnan(before), axis=0) >= min_periods(window), last, np.nan)
        return pd.DataFrame(values, index=wide.index, columns=wide.columns)
    median = positive.rolling(window, min_periods=min_periods(window)).median().shift(1)
    with np.errstate(all="ignore"):
        out = _log(positive) - _log(median)
    out.iloc[:window] = np.nan  # the core starts once a full window lies behind the day
    return out


def _log(frame: pd.DataFrame) -> pd.DataFrame:
    """np.log of a frame; numpy's stubs type a ufunc's result as an ndarray, pandas returns a DataFrame."""
    return cast(pd.DataFrame, np.log(frame))


def _exp(frame: pd.DataFrame) -> pd.DataFrame:
    """np.exp of a frame (a DataFrame at runtime, like _log)."""
    return cast(pd.DataFrame, np.exp(frame))


def _attention(inputs: StockInputs) -> dict[str, pd.DataFrame]:
    """Per-metric log-ratios against each stock's own 20-day median, and their aggregates."""
    index, codes = inputs.close.index, inputs.close.columns
    ratios = {m: log_ratio(f) for m, f in inputs.attention.items()}
    stack = np.stack([ratios[m].to_numpy() for m in ATTENTION_METRICS if m in ratios]) if ratios else \
        np.full((1, len(index), len(codes)), np.nan)
    forum = [ratios[m].to_numpy() for m in FORUM_METRICS if m in ratios]

    def frame(values) -> pd.DataFrame:
        return pd.DataFrame(values, index=index, columns=codes)

    with np.errstate(all="ignore"), quiet():
        ratio = np.exp(stack)
        out = {"attention": frame(np.nanmean(np.stack(forum), axis=0) if forum else np.full(stack.shape[1:], np.nan)),
               "popularity": ratios[POPULARITY] if POPULARITY in ratios else frame(np.nan),
               "attention_all": frame(np.nanmean(stack, axis=0)),
               "attention_series": frame(np.sum(~np.isnan(stack), axis=0).astype(float)),
               "attention_hot": frame(np.sum(ratio >= ATTENTION_HOT, axis=0).astype(float)),
               "attention_confirmed": frame(np.sum(ratio >= ATTENTION_CONFIRM, axis=0).astype(float)),
               "attention_max": frame(np.nanmax(np.where(np.isnan(ratio), -np.inf, ratio), axis=0))}
    out["attention_max"] = out["attention_max"].where(out["attention_series"] > 0)
    for m in ATTENTION_METRICS:
        out[f"ratio_{m}"] = _exp(ratios[m]) if m in ratios else frame(np.nan)
    return out


def _latest_turnover_ratio(amount: pd.DataFrame, window: int = scoring.TURNOVER_WINDOW) -> pd.DataFrame:
    """scoring.turnover_ratio on the newest row of `window` + 1 rows, in numpy (no per-column rolling)."""
    values = amount.to_numpy(float)
    before = values[-(window + 1):-1]
    with np.errstate(all="ignore"), quiet():
        mean = np.nanmean(before, axis=0)
    mean = np.where((np.sum(~np.isnan(before), axis=0) >= min_periods(window)) & (mean > 0), mean, np.nan)
    out = np.full(values.shape, np.nan)
    out[-1] = values[-1] / mean
    return pd.DataFrame(out, index=amount.index, columns=amount.columns)


def _components(inputs: StockInputs, latest: bool = False) -> dict[str, pd.DataFrame]:
    """Every raw component of every stock and day (no percentiles yet); `latest`: only the last row is needed, and
    the coupling is left to the caller (it needs the earlier days' attention)."""
    out = _attention(inputs)
    out["turnover_ratio"] = _latest_turnover_ratio(inputs.amount) if latest else scoring.turnover_ratio(inputs.amount)
    with np.errstate(all="ignore"):
        out["turnover"] = _log(out["turnover_ratio"].where(out["turnover_ratio"] > 0))
    out["turnover_rate"] = inputs.turnover_rate
    out["limit_streak"] = limit_streak(inputs.close)
    out["limit"] = out["limit_streak"]
    out["coupling"] = out["turnover"] * np.nan if latest else rank_corr(out["attention_all"], out["turnover"])
    out["close"] = inputs.close
    return out


def _score(frames: dict[str, pd.DataFrame], pct: dict[str, np.ndarray]) -> None:
    """Weighted mean of the percentiles present (needs attention or popularity, and turnover) and the raw level."""
    total = np.zeros(frames["close"].shape)
    weight = np.zeros(frames["close"].shape)
    for name in COMPONENTS:
        present = ~np.isnan(pct[name])
        total += np.where(present, pct[name], 0.0) * WEIGHTS[name]
        weight += present * WEIGHTS[name]
    usable = (~np.isnan(pct["attention"]) | ~np.isnan(pct["popularity"])) & ~np.isnan(pct["turnover"])
    with np.errstate(all="ignore"):
        score = np.where(usable, total / weight * 100, np.nan)
    like = frames["close"]
    for name in COMPONENTS:
        frames[f"p_{name}"] = pd.DataFrame(pct[name], index=like.index, columns=like.columns)
    frames["score"] = pd.DataFrame(score, index=like.index, columns=like.columns)
    # a stock's market evidence: turnover at least 2x its 20-day mean, or a limit-up close today
    confirmed = (frames["turnover_ratio"].to_numpy() >= TURNOVER_CONFIRM) | (frames["limit_streak"].to_numpy() >= 1)
    long = pd.DataFrame({"score": score.ravel(), "attention_series": frames["attention_series"].to_numpy().ravel(),
                         "attention_confirmed": frames["attention_confirmed"].to_numpy().ravel(),
                         "attention_hot": frames["attention_hot"].to_numpy().ravel(),
                         "attention_max": frames["attention_max"].to_numpy().ravel(),
                         "market_confirmed": confirmed.ravel()})
    raw = raw_levels(long).map(RANK).to_numpy().reshape(score.shape)
    frames["raw_level"] = pd.DataFrame(raw.astype(float), index=like.index, columns=like.columns)


def hysteresis(raw: np.ndarray, score: np.ndarray, start: tuple[np.ndarray, np.ndarray] | None = None,
               days_below: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """levels.apply_hysteresis for many stocks at once: (level, event, previous, below) arrays by date × stock.

    `start` is the (level, below) state before the first row (default calm, 0), so a new day continues a history.
    """
    floor = np.array([np.inf, THRESHOLDS["warming"], THRESHOLDS["hot"], THRESHOLDS["hot"]])
    level = np.zeros(raw.shape[1], dtype=np.int64) if start is None else start[0].astype(np.int64).copy()
    below = np.zeros(raw.shape[1], dtype=np.int64) if start is None else start[1].astype(np.int64).copy()
    out = [np.empty(raw.shape, dtype=np.int64) for _ in range(4)]
    raw = raw.astype(np.int64)
    for t in range(raw.shape[0]):
        previous = level.copy()
        up = raw[t] > level
        with np.errstate(invalid="ignore"):
            under = ~up & (level > 0) & ~(score[t] >= floor[level])  # NaN scores count as below
        below = np.where(up, 0, np.where(under, below + 1, 0))
        leave = under & (below >= days_below)
        level = np.where(up | leave, raw[t], level)
        below = np.where(leave, 0, below)
        event = np.where(up, 1, np.where(leave, np.where(previous >= RANK["hot"], 3, 2), 0))
        out[0][t], out[1][t], out[2][t], out[3][t] = level, event, previous, below
    return out[0], out[1], out[2], out[3]


def _levels(frames: dict[str, pd.DataFrame], start=None) -> None:
    like = frames["score"]
    level, event, previous, below = hysteresis(frames["raw_level"].to_numpy(), like.to_numpy(), start)
    for name, values in (("level", level), ("event", event), ("previous", previous), ("below", below)):
        frames[name] = pd.DataFrame(values.astype(float), index=like.index, columns=like.columns)


def score_stocks(inputs: StockInputs) -> StockHeat:
    """Stock heat for every stock and day: components, percentiles against the stock's own year, score, levels."""
    frames = _components(inputs)
    pct = {name: percentile(frames[name]).to_numpy() for name in COMPONENTS}
    _score(frames, pct)
    _levels(frames)
    return StockHeat(frames)


def _latest_percentile(history: np.ndarray, today: np.ndarray) -> np.ndarray:
    """pandas' rolling(PCT_WINDOW).rank(pct=True) on the newest row only: history holds the previous rows."""
    window = np.vstack([history[-(PCT_WINDOW - 1):], today[None, :]])
    valid = ~np.isnan(window)
    less = np.sum(window < today, axis=0)
    equal = np.sum(window == today, axis=0)
    n = valid.sum(axis=0)
    with np.errstate(all="ignore"):
        pct = (less + (equal + 1) / 2) / n
    return np.where(~np.isnan(today) & (n >= PCT_MIN), pct, np.nan)


def score_recent(inputs: StockInputs, rows: int, start: tuple[np.ndarray, np.ndarray] | None = None) -> StockHeat:
    """The last `rows` days of score_stocks(inputs), the levels continuing `start` (level, below before them).

    Equal to the full recompute's rows when `inputs` holds TAIL_ROWS days before them (tests/score/
    test_stock_rescore_window.py): only these rows get percentiles, scores and levels.
    """
    frames = _components(inputs)
    n = len(inputs.close)
    pct = {}
    for name in COMPONENTS:
        values = frames[name].to_numpy()
        pct[name] = np.vstack([_latest_percentile(values[:r], values[r]) for r in range(n - rows, n)])
    recent = {k: v.iloc[n - rows:] for k, v in frames.items()}
    _score(recent, pct)
    _levels(recent, start)
    return StockHeat(recent)


def score_latest_day(inputs: StockInputs, previous: StockHeat) -> StockHeat:
    """The newest day of `inputs` only, continuing `previous` (a StockHeat up to the day before): one row."""
    recent = inputs.tail(WINDOW + 1)  # the newest ratios need the window before them, nothing older
    fresh = _components(recent, latest=True)
    day = inputs.close.index[-1:]
    codes = inputs.close.columns
    prev = {k: v.reindex(columns=codes) for k, v in previous.tail(TAIL_ROWS).frames.items()}
    frames = {k: v.iloc[-1:] for k, v in fresh.items()}
    streak_before = prev["limit_streak"].iloc[-1].fillna(0).to_numpy() if len(prev["close"]) else 0
    up = frames["limit_streak"].to_numpy()[0] >= 1
    frames["limit_streak"] = pd.DataFrame([np.where(up, streak_before + 1, 0.0)], index=day, columns=codes)
    frames["limit"] = frames["limit_streak"]

    def both(name: str) -> pd.DataFrame:  # the window before the new day, and the new day
        return pd.concat([prev[name].iloc[-(CORR_WINDOW - 1):], frames[name]])

    frames["coupling"] = rank_corr(both("attention_all"), both("turnover")).iloc[-1:]
    pct = {name: _latest_percentile(prev[name].to_numpy(), frames[name].to_numpy()[0])[None, :]
           for name in COMPONENTS}
    _score(frames, pct)
    start = (prev["level"].iloc[-1].fillna(0).to_numpy(), prev["below"].iloc[-1].fillna(0).to_numpy()) \
        if len(prev["close"]) else None
    _levels(frames, start)
    return StockHeat(frames)


def level_name(rank: float) -> str:
    return "calm" if np.isnan(rank) else LEVELS[int(rank)]
