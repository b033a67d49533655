"""Heat levels: thresholds, the gates each level needs, and hysteresis with its transitions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sentibot.models import Level

THRESHOLDS = {"warming": 60.0, "hot": 75.0, "frenzy": 85.0}
ATTENTION_WARM = 1.5  # warming: one attention series at least 1.5x its trailing median
ATTENTION_HOT = 2.0  # hot: two series (or the only one) at least 2x
ATTENTION_CONFIRM = 3.0  # frenzy: two series (or the only one) at least 3x, plus market confirmation
TURNOVER_CONFIRM = 2.0  # abnormal turnover: at least 2x its 20-day mean
RSI_CONFIRM = 70.0
LEVELS = tuple(level.value for level in Level)  # calm, warming, hot, frenzy: the one list is models.Level
MARKET_ONLY = "market_only"  # basis of a day scored without any usable attention series
# Without attention a heat may reach hot at most: turnover, RSI and the limit board show a hot market, but only
# attention shows that the crowd behind it is retail; frenzy keeps needing that triangulation (docs/scoring.md).
MARKET_ONLY_CAP = "hot"
MARKET_WARM = 1.5  # market-only warming: turnover at least 1.5x its 20-day mean
MARKET_HOT_LIMIT_SHARE = 0.02  # market-only hot: turnover >= 2x and RSI > 70, or 2% of traded stocks at +30%


def raw_levels(d: pd.DataFrame) -> pd.Series:
    """The level each day's evidence supports, before hysteresis."""
    s = d["score"]
    needed = np.minimum(2, d["attention_series"])
    frenzy = (s >= THRESHOLDS["frenzy"]) & (needed >= 1) & (d["attention_confirmed"] >= needed) & d["market_confirmed"]
    hot = (s >= THRESHOLDS["hot"]) & (needed >= 1) & (d["attention_hot"] >= needed)
    warming = (s >= THRESHOLDS["warming"]) & (d["attention_max"] >= ATTENTION_WARM)
    if "basis" in d:
        only = d["basis"] == MARKET_ONLY
        turnover = d["turnover_ratio"]
        share = d["limit_up"] / d["stocks"].where(d["stocks"] > 0) if "limit_up" in d else pd.Series(0.0, d.index)
        board = (d["rsi"] > RSI_CONFIRM) | (share >= MARKET_HOT_LIMIT_SHARE)
        warming = warming.where(~only, (s >= THRESHOLDS["warming"]) & (turnover >= MARKET_WARM))
        hot = hot.where(~only, (s >= THRESHOLDS["hot"]) & (turnover >= TURNOVER_CONFIRM) & board)
        frenzy = frenzy.where(~only, False)  # MARKET_ONLY_CAP
    out = pd.Series("calm", index=d.index, dtype=object)
    out[warming.fillna(False).astype(bool)] = "warming"
    out[hot.fillna(False).astype(bool)] = "hot"
    out[frenzy.fillna(False).astype(bool)] = "frenzy"
    return out


def apply_hysteresis(daily: pd.DataFrame, days_below: int = 2) -> pd.DataFrame:
    """Levels with hysteresis and the transitions: up at once; down only after `days_below` days below.

    A level holds while the score stays at or above its own threshold, frenzy down to the hot threshold.
    Returns columns level, event ('up', 'cooling', 'down' or '' for none) and previous.
    """
    rank = {name: i for i, name in enumerate(LEVELS)}
    floor = {"warming": THRESHOLDS["warming"], "hot": THRESHOLDS["hot"], "frenzy": THRESHOLDS["hot"]}
    level, below = "calm", 0
    rows = []
    for raw, score in zip(daily["raw_level"], daily["score"]):
        event, previous = "", level
        if rank[raw] > rank[level]:
            level, below, event = raw, 0, "up"
        elif level != "calm" and (pd.isna(score) or score < floor[level]):
            below += 1
            if below >= days_below:
                # step down to the level the evidence supports; leaving hot or frenzy is a cooling
                level, below = raw, 0
                event = "cooling" if rank[previous] >= rank["hot"] else "down"
        else:
            below = 0
        rows.append((level, event, previous))
    return pd.DataFrame(rows, index=daily.index, columns=["level", "event", "previous"])
