"""Stock heat from the store: load every stock's bars and attention, score (score/stocks.py), save, add alerts."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from typing import cast

import numpy as np
import pandas as pd
from sqlite_utils import Database

from sentibot import codes
from sentibot.models import BSE50_CODE, Alert, AlertKind
from sentibot.score import stocks as core
from sentibot.score.rescore import ALERT_LOOKBACK_DAYS, _local
from sentibot.store.db import add_alert, get_cursor, set_cursor
from sentibot.store.stock_names import names as stock_names
from sentibot.timeutil import SHANGHAI

CLOSE_TIME = "T15:00:00+08:00"  # stock heat, like the market's, is scored on the daily close
ALERT_LEVELS = ("hot", "frenzy")  # entering one of these raises a stock alert
RESAVE_DAYS = 10  # a live rescore rewrites only the last days' rows (older ones cannot change)
STOCK_SUBJECT = "[0-9][0-9][0-9][0-9][0-9][0-9]"
ATTENTION_SERIES = (("guba", "posts", "posts"), ("guba", "reads", "reads"), ("guba", "comments", "comments"),
                    ("em_rank", "rank", core.POPULARITY))  # (source, metric, StockInputs attention name)
OBSERVATIONS_SQL = (
    "select subject, ts as date, value from observations where source = ? and metric = ? and length(ts) = 10 "
    f"and ts <= ? and ts >= ? and subject glob '{STOCK_SUBJECT}'")
# the hysteresis state (level, days below) of every stock on a day no rescore re-saves: a live rescore continues it
# from there on a trailing window of days, instead of recomputing every stock's whole history
STATE_CURSOR = ("stock_heat", "levels")
SAVE_SQL = (
    "INSERT INTO stock_scores (code, date, score, level, attention_ratio, forum_ratio, popularity_ratio, "
    "turnover_ratio, turnover_rate, limit_streak, coupling, close, computed_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(code, date) DO UPDATE SET score = excluded.score, "
    "level = excluded.level, attention_ratio = excluded.attention_ratio, forum_ratio = excluded.forum_ratio, "
    "popularity_ratio = excluded.popularity_ratio, turnover_ratio = excluded.turnover_ratio, "
    "turnover_rate = excluded.turnover_rate, limit_streak = excluded.limit_streak, coupling = excluded.coupling, "
    "close = excluded.close, computed_at = excluded.computed_at")


def _canonical(frame: pd.DataFrame, column: str = "code") -> pd.DataFrame:
    """Codes as stored under their 920xxx code; only BSE stock codes (not the index, not other exchanges)."""
    # one lookup per distinct code, not per row: a year of 300 stocks is 300k rows but 300 codes
    mapping = {c: codes.canonical(str(c)) if codes.is_bse_code(str(c)) else None for c in frame[column].unique()}
    frame = frame.assign(**{column: frame[column].map(mapping)})
    return frame[frame[column].notna()]


def _wide(frame: pd.DataFrame, columns: str, values: list[str]) -> dict[str, pd.DataFrame]:
    """date x code per value column; the same stock under its old and new code on one day (around the switch): the
    last row wins."""
    part = frame.drop_duplicates(["date", columns], keep="last").set_index(["date", columns])[values]
    wide = part.unstack()  # one reshape for every value column: each pivot factorised the codes and dates again
    index = pd.to_datetime(wide.index)
    # a first-level label of the (value, code) columns selects a frame; the stubs only know a flat column's Series
    return {v: cast(pd.DataFrame, wide[v]).set_axis(index, axis=0) for v in values}


def load_inputs(db: Database, until: date, start: str | None = None) -> core.StockInputs | None:
    """Every BSE stock's daily bars and attention up to `until` (from `start` on, or all), as wide frames."""
    day = until.isoformat()
    first = start or ""
    # pandas reads the cursor directly: building 300k row dicts through sqlite-utils took most of a rescore
    bars = pd.read_sql_query("select code, date, close, amount, turnover_rate from bars where code != ? "
                             "and date <= ? and date >= ? order by rowid", db.conn, params=[BSE50_CODE, day, first])
    if bars.empty:
        return None
    bars = _canonical(bars)
    if bars.empty:
        return None
    wide = _wide(bars, "code", ["close", "amount", "turnover_rate"])
    del bars
    index = wide["close"].index
    attention: dict[str, pd.DataFrame] = {}
    # one metric at a time: the rows of all four at once were the rescore's memory peak
    for source, metric, name in ATTENTION_SERIES:
        obs = pd.read_sql_query(OBSERVATIONS_SQL, db.conn, params=[source, metric, day, first])
        obs = _canonical(obs, "subject")
        if obs.empty:
            continue
        if name == core.POPULARITY:  # rank 1 is the most watched: 1000 / rank grows with attention
            obs["value"] = 1000.0 / obs["value"].where(obs["value"] > 0)
        attention[name] = _wide(obs, "subject", ["value"])["value"].reindex(index)
    return core.build_inputs(wide["close"], wide["amount"], wide["turnover_rate"], attention)


def window_start(db: Database, last: str, rows: int = core.TAIL_ROWS) -> str | None:
    """The first of the `rows` trading days (stock bar dates) ending on `last`; None when the history is shorter."""
    # the dates of BSE stock codes only (codes.is_bse_code): exactly the index load_inputs builds
    row = next(db.query("select distinct date from bars where code glob ? and (substr(code, 1, 3) = '920' or "
                        "substr(code, 1, 2) in ('43', '83', '87')) and date <= ? order by date desc limit 1 offset ?",
                        [STOCK_SUBJECT, last, rows - 1]), None)
    return row["date"] if row else None


def read_state(db: Database) -> tuple[str, dict[str, list[int]]] | None:
    """The stored hysteresis state: (day, {code: [level, days below]}), codes absent are calm; None if none."""
    raw = get_cursor(db, *STATE_CURSOR)
    try:
        data = json.loads(raw) if raw else None
        return (str(data["date"]), {str(k): [int(v[0]), int(v[1])] for k, v in data["levels"].items()}) \
            if data else None
    except (ValueError, KeyError, TypeError, IndexError):  # unreadable: the full recompute rebuilds it
        return None


def write_state(db: Database, heat: core.StockHeat, before: str, stamp: str) -> None:
    """Store the levels at the last scored day before `before` (a day no later rescore re-saves), if there is one."""
    days = heat["level"].index
    older = days[days < pd.Timestamp(before)]
    if not len(older):
        return
    day = older[-1]
    level, below = heat["level"].loc[day], heat["below"].loc[day]
    levels = {str(c): [int(level[c]), int(below[c])] for c in level.index if level[c] > 0 or below[c] > 0}
    set_cursor(db, *STATE_CURSOR, json.dumps({"date": day.date().isoformat(), "levels": levels}), stamp)


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))) \
        else round(float(value), 4)


def _exp(values: pd.Series) -> list[float | None]:
    """Log-ratios back to ratios; missing stays None."""
    return [None if pd.isna(x) else math.exp(x) for x in values]


def save(db: Database, heat: core.StockHeat, stamp: str, since: str | None = None) -> int:
    """Store each stock's scored days (from `since` on, or all) in one transaction."""
    frames = heat.frames
    keep = frames["score"].index >= pd.Timestamp(since) if since else slice(None)
    part = {k: frames[k].loc[keep] for k in ("score", "level", "attention_all", "attention", "popularity",
                                             "turnover_ratio", "turnover_rate", "limit_streak", "coupling", "close")}
    long = pd.DataFrame({k: v.stack() for k, v in part.items()})
    long = long[long["score"].notna() | long["attention_all"].notna() | long["turnover_ratio"].notna()]
    if long.empty:
        return 0
    rows = list(zip(
        long.index.get_level_values(1), [d.date().isoformat() for d in long.index.get_level_values(0)],
        map(_num, long["score"]), [core.level_name(v) for v in long["level"]],
        map(_num, _exp(long["attention_all"])), map(_num, _exp(long["attention"])), map(_num, _exp(long["popularity"])),
        map(_num, long["turnover_ratio"]), map(_num, long["turnover_rate"]),
        [0 if math.isnan(v) else int(v) for v in long["limit_streak"]], map(_num, long["coupling"]),
        map(_num, long["close"]), [stamp] * len(long)))
    with db.atomic():
        db.conn.executemany(SAVE_SQL, rows)
    return len(rows)


def _cell(frame: pd.DataFrame, day: pd.Timestamp, code: str) -> float:
    """One stock's value on one day: the score frames hold float64 (a float); the stubs type .at as any scalar."""
    return cast(float, frame.at[day, code])


def reasons_for(frames: dict[str, pd.DataFrame], day: pd.Timestamp, code: str) -> tuple[str, ...]:
    """Short reasons for one stock on one day, like the market's."""
    v = {k: _cell(frames[k], day, code) for k in ("ratio_posts", "ratio_reads", "ratio_comments", "ratio_popularity",
                                                  "turnover_ratio", "turnover_rate", "limit_streak", "coupling")}
    out = [f"forum {m} {v[f'ratio_{m}']:.1f}x its {core.WINDOW}-day median" for m in core.FORUM_METRICS
           if v[f"ratio_{m}"] == v[f"ratio_{m}"] and v[f"ratio_{m}"] >= 1.5]
    if v["ratio_popularity"] == v["ratio_popularity"] and v["ratio_popularity"] >= 1.5:
        out.append(f"popularity rank {v['ratio_popularity']:.1f}x better than its {core.WINDOW}-day median")
    if v["turnover_ratio"] == v["turnover_ratio"] and v["turnover_ratio"] >= 1.2:
        out.append(f"turnover {v['turnover_ratio']:.1f}x its {core.WINDOW}-day mean")
    if v["turnover_rate"] == v["turnover_rate"] and v["turnover_rate"] >= 5:
        out.append(f"turnover rate {v['turnover_rate']:.1f}%")
    if v["limit_streak"] >= 1:
        n = int(v["limit_streak"])
        out.append(f"{n} limit-up close{'s' if n > 1 else ''} in a row")
    if v["coupling"] == v["coupling"] and v["coupling"] >= 0.5:
        out.append(f"attention and turnover rise together (rank correlation {v['coupling']:.2f})")
    return tuple(out)


def stock_alert(code: str, name: str, iso: str, level: str, previous: str, score: float | None,
                reasons: tuple[str, ...]) -> Alert:
    """A stock entering hot or frenzy: kind frenzy, `stocks: [code]`, deduped per stock, day and level."""
    return Alert(kind=AlertKind.FRENZY, ts=iso + CLOSE_TIME, title=f"{name} ({code}) heat {previous} → {level}",
                 level=level, score=score, reasons=reasons, dedupe_key=f"stock:{code}:{iso}:{level}", stocks=(code,))


def alerts_from(db: Database, heat: core.StockHeat, since: date) -> list[Alert]:
    """An alert for every stock entering hot or frenzy on a day >= since."""
    frames = heat.frames
    event, level = frames["event"], frames["level"]
    recent = event.loc[event.index >= pd.Timestamp(since)]
    hits = cast(pd.Series, recent.stack())  # flat columns: stack gives a Series
    hits = hits[hits == 1]
    labels = stock_names(db)
    out = []
    for day, code in hits.index:
        new = core.level_name(_cell(level, day, code))
        if new not in ALERT_LEVELS:
            continue
        score = _cell(frames["score"], day, code)
        out.append(stock_alert(code, labels.get(code, code), day.date().isoformat(), new,
                               core.level_name(_cell(frames["previous"], day, code)),
                               None if math.isnan(score) else round(float(score), 1), reasons_for(frames, day, code)))
    return sorted(out, key=lambda a: (a.ts, a.stocks))


def _resave_from(db: Database, bound: date) -> str | None:
    """The first day a live rescore rewrites: RESAVE_DAYS before the newest scored day, or `bound` if earlier."""
    newest = next(db.query("select max(date) as d from stock_scores"))["d"]
    if newest is None:
        return None
    return min(date.fromisoformat(newest) - timedelta(days=RESAVE_DAYS), bound).isoformat()


def evaluate(db: Database, now: datetime, since: date | None = None, save_all: bool = False) -> list[Alert]:
    """Score every stock up to `now`, save the recent scores (all with save_all or on a first run), return alerts.

    A live rescore loads only the trading days its re-saved rows depend on (core.TAIL_ROWS before them) and
    continues the stored levels; without a usable stored state it recomputes every stock's whole history.
    """
    now = _local(now)
    since = since or (now.date() - timedelta(days=ALERT_LOOKBACK_DAYS))
    first = None if save_all else _resave_from(db, since)
    state = read_state(db) if first is not None else None
    if state is not None and first is not None and state[0] < first:
        start = window_start(db, state[0])
        inputs = load_inputs(db, now.date(), start)
        if inputs is None:
            return []
        days = inputs.close.index
        rows = int(np.sum(days > pd.Timestamp(state[0])))
        if rows == 0:
            return []
        codes = inputs.close.columns
        begin = (np.array([state[1].get(c, [0, 0])[0] for c in codes]),
                 np.array([state[1].get(c, [0, 0])[1] for c in codes]))
        heat = core.score_recent(inputs, rows, begin)
    else:
        inputs = load_inputs(db, now.date())
        if inputs is None:
            return []
        heat = core.score_stocks(inputs)
    del inputs
    stamp = now.isoformat(timespec="seconds")
    save(db, heat, stamp, first)
    bound = _resave_from(db, now.date() - timedelta(days=ALERT_LOOKBACK_DAYS))  # what the next live run re-saves
    if bound is not None:
        write_state(db, heat, bound, stamp)
    return alerts_from(db, heat, since)


def rescore(db: Database, now: datetime, admin_ids=(), since: date | None = None,
            cooldown_s: float = 0.0) -> list[Alert]:
    """evaluate + store the new alerts with their deliveries (watchers, opt-ins); cooldown per stock and level."""
    stamp = _local(now).astimezone(SHANGHAI).isoformat(timespec="seconds")
    return [a for a in evaluate(db, now, since)
            if add_alert(db, a, stamp, admin_ids, cooldown_s=cooldown_s) is not None]
