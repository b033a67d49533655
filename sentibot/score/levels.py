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


def raw_levels(d: pd.DataFrame) -> pd.Series:
    """The level each day's evidence supports, before hysteresis."""
    s = d["score"]
    needed = np.minimum(2, d["attention_series"])
    frenzy = (s >= THRESHOLDS["frenzy"]) & (needed >= 1) & (d["attention_confirmed"] >= needed) & d["market_confirmed"]
    hot = (s >= THRESHOLDS["hot"]) & (needed >= 1) & (d["attention_hot"] >= needed)
    warming = (s >= THRESHOLDS["warming"]) & (d["attention_max"] >= ATTENTION_WARM)
    out = pd.Series("calm", index=d.index, dtype=object)
    out[warming.fillna(False)] = "warming"
    out[hot.fillna(False)] = "hot"
    out[frenzy.fillna(False)] = "frenzy"
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
