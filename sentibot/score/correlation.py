"""How attention and turnover move together: rolling rank correlation and lead-lag. Pure numpy/pandas, no IO.

Every window looks backwards only, like the rest of scoring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from sentibot.score.windows import min_periods, quiet

CORR_WINDOW = 20
LEADLAG_WINDOW = 60
MAX_LAG = 5


def rolling_rank_corr(a: pd.Series, b: pd.Series, window: int = CORR_WINDOW) -> pd.Series:
    """Spearman correlation of a and b over each trailing window (ranks taken inside the window)."""
    pair = pd.concat([a, b.reindex(a.index)], axis=1).to_numpy(dtype=float)
    out = np.full(len(pair), np.nan)
    if len(pair) >= window:
        w = sliding_window_view(pair, window, axis=0)  # (T-w+1, 2, w)
        ok = ~np.isnan(w).any(axis=1)
        ra = pd.DataFrame(np.where(ok, w[:, 0, :], np.nan)).rank(axis=1).to_numpy()
        rb = pd.DataFrame(np.where(ok, w[:, 1, :], np.nan)).rank(axis=1).to_numpy()
        with np.errstate(all="ignore"), quiet():
            da, db = ra - np.nanmean(ra, axis=1, keepdims=True), rb - np.nanmean(rb, axis=1, keepdims=True)
            r = np.nansum(da * db, axis=1) / np.sqrt(np.nansum(da**2, axis=1) * np.nansum(db**2, axis=1))
        out[window - 1:] = np.where(ok.sum(axis=1) >= min_periods(window), r, np.nan)
    return pd.Series(out, index=a.index)


def _changes(series: pd.Series) -> pd.Series:
    return np.log(series.where(series > 0)).diff()


def _pair(a: np.ndarray, b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(attention_{t−k}, turnover_t) for k >= 0, (attention_t, turnover_{t+k}) for k < 0 — past values only."""
    return (_shift(a, k), b) if k >= 0 else (a, _shift(b, -k))


def lead_lag_table(attention: pd.Series, turnover: pd.Series, max_lag: int = MAX_LAG,
                   window: int | None = LEADLAG_WINDOW) -> pd.DataFrame:
    """corr(Δln attention_{t−k}, Δln turnover_t) for k = −max_lag..max_lag over the last `window` days.

    k > 0: attention leads turnover by k days; k < 0: turnover leads attention. The same numbers as
    rolling_lead_lag on the last day.
    """
    a, b = _changes(attention).to_numpy(float), _changes(turnover.reindex(attention.index)).to_numpy(float)
    window = window or len(a)
    rows = []
    for k in range(-max_lag, max_lag + 1):
        x, y = _pair(a, b, k)
        n = int((~(np.isnan(x) | np.isnan(y)))[-window:].sum())
        corr = rolling_corr(x, y, window, min_periods(window))[-1] if len(a) else np.nan
        rows.append({"lag": k, "corr": corr, "n": n})
    return pd.DataFrame(rows)


def best_lag(table: pd.DataFrame) -> dict:
    """The lag with the strongest positive correlation: {'lag', 'corr', 'leader'}; lag None without data."""
    valid = table.dropna(subset=["corr"])
    if valid.empty:
        return {"lag": None, "corr": None, "leader": None}
    row = valid.iloc[int(valid["corr"].to_numpy().argmax())]
    lag = int(row["lag"])
    leader = "attention" if lag > 0 else "turnover" if lag < 0 else "same day"
    return {"lag": lag, "corr": round(float(row["corr"]), 3), "leader": leader}


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    out[k:] = x[: len(x) - k] if k else x
    return out


def rolling_corr(x: np.ndarray, y: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Pearson correlation over each trailing window of pairwise-present values (running sums, no Python loop)."""
    ok = ~(np.isnan(x) | np.isnan(y))
    x0, y0 = np.where(ok, x, 0.0), np.where(ok, y, 0.0)
    sums = np.cumsum(np.vstack([ok, x0, y0, x0 * x0, y0 * y0, x0 * y0]), axis=1)
    sums = np.hstack([np.zeros((6, 1)), sums])
    start = np.maximum(np.arange(1, len(x) + 1) - window, 0)
    n, sx, sy, sxx, syy, sxy = sums[:, 1:] - sums[:, start]
    with np.errstate(all="ignore"):
        cov, vx, vy = sxy - sx * sy / n, sxx - sx * sx / n, syy - sy * sy / n
        r = cov / np.sqrt(vx * vy)
    return np.where((n >= min_periods) & (vx > 1e-12) & (vy > 1e-12), np.clip(r, -1, 1), np.nan)


def rolling_lead_lag(attention: pd.Series, turnover: pd.Series, max_lag: int = MAX_LAG,
                     window: int = LEADLAG_WINDOW) -> pd.DataFrame:
    """For every day, the best lag and its correlation over the trailing `window` days (no look-ahead)."""
    a, b = _changes(attention).to_numpy(float), _changes(turnover.reindex(attention.index)).to_numpy(float)
    lags = range(-max_lag, max_lag + 1)
    values = np.column_stack([rolling_corr(*_pair(a, b, k), window, min_periods(window)) for k in lags])
    any_valid = ~np.isnan(values).all(axis=1)
    best = np.argmax(np.where(np.isnan(values), -np.inf, values), axis=1) - max_lag
    with quiet():
        corr = np.where(any_valid, np.nanmax(np.where(any_valid[:, None], values, 0.0), axis=1), np.nan)
    return pd.DataFrame({"lag": np.where(any_valid, best, np.nan), "corr": corr}, index=attention.index)
