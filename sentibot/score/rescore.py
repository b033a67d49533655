"""Rescore from the store: load history up to `now`, score (pure), save scores, add new alerts (deduped)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from collections.abc import Mapping

import pandas as pd
from sqlite_utils import Database

from sentibot.alerts import rules as alerts
from sentibot.score import scoring
from sentibot.models import BSE50_CODE, Alert
from sentibot.store.db import add_alert, save_scores
from sentibot.timeutil import SHANGHAI

CLOSE = time(15, 0)  # the BSE's daily close: a day's bars are final from then on
ALERT_LOOKBACK_DAYS = 3  # live rescoring alerts on recent transitions only; an old one is history, not news
SERIES_NAMES = {("wechat_index", None): "WeChat index", ("baidu_index", None): "Baidu index",
                ("guba", "posts"): "Guba posts", ("guba", "reads"): "Guba reads",
                ("em_rank", None): "Eastmoney popularity"}
GENERIC_METRICS = {"index", "all", "value", "posts", "reads", "inv_rank"}  # implied by the series name
MARKET_SUBJECT = "北交所"  # subject of the exchange-wide series (guba, em_rank); also the CSV default
SENTIMENT = ("guba", MARKET_SUBJECT, "bullish_share")  # written by the guba collector from sentibot.text.tokenizer
# Only daily, market-wide series enter the heat score: hourly (*_1h), weekly (*_week), per-stock (6-digit
# subjects), per-bar forum series and Baidu's pc/wise parts of "all" would let one stock or one device type
# count as an independent confirmation.
OBSERVATIONS_SQL = (
    "select source, subject, metric, ts as date, value, origin from observations where length(ts) = 10 "
    "and ts <= ? and metric not like '%\\_1h' escape '\\' and metric not like '%\\_week' escape '\\' "
    "and (source != 'guba' or subject = ?) and subject not glob '[0-9][0-9][0-9][0-9][0-9][0-9]' order by ts")


@dataclass(frozen=True)
class History:
    """Everything scoring needs, as wide frames indexed by trading date."""

    market: pd.DataFrame
    attention: pd.DataFrame
    sentiment: pd.Series | None
    stocks: pd.DataFrame | None
    reconstructed: bool
    stock_high: pd.DataFrame | None = None
    updated: pd.Series | None = None  # when each index bar was last written (ISO text): bounds its observed time


def series_label(source: str, subject: str, metric: str) -> str:
    """'WeChat index 北交所' — the human name used in reasons and /heat."""
    name = SERIES_NAMES.get((source, metric)) or SERIES_NAMES.get((source, None)) or source
    parts = [name] + [p for p in (subject, metric) if p and p not in GENERIC_METRICS and p not in name]
    return " ".join(dict.fromkeys(parts))


def is_market_series(source: str, subject: str, metric: str) -> bool:
    """Whether a daily series measures market-wide attention (see OBSERVATIONS_SQL for the why)."""
    if metric == SENTIMENT[2] or subject.isdigit():
        return False
    if source == "market":
        return False  # exchange-wide turnover (sources/market.py) is a market series, not attention
    if source == "guba":
        return subject == MARKET_SUBJECT and metric in ("posts", "reads")
    if source == "baidu_index":
        return metric not in ("pc", "wise")
    if source == "em_rank":
        return subject == MARKET_SUBJECT
    return True


def load_history(db: Database, until: date) -> History:
    """Bars and daily observations up to and including `until` (ISO dates compare as strings)."""
    day = until.isoformat()
    bars = pd.DataFrame(db.query("select code, date, close, high, amount, origin, updated_at from bars "
                                 "where date <= ? order by date", [day]))
    obs = pd.DataFrame(db.query(OBSERVATIONS_SQL, [day, MARKET_SUBJECT]))
    if bars.empty or not (bars["code"] == BSE50_CODE).any():
        return History(pd.DataFrame(), pd.DataFrame(), None, None, False)
    index_bars = bars[bars["code"] == BSE50_CODE].set_index("date")
    market = index_bars[["close", "amount"]].astype(float)
    market.index = pd.to_datetime(market.index)
    updated = pd.Series(index_bars["updated_at"].to_numpy(), index=market.index)
    stock_bars = bars[bars["code"] != BSE50_CODE]
    stocks = stock_bars.pivot(index="date", columns="code", values="close")
    stocks.index = pd.to_datetime(stocks.index)
    highs = stock_bars.pivot(index="date", columns="code", values="high").astype(float)
    highs.index = pd.to_datetime(highs.index)
    sentiment, attention = None, pd.DataFrame(index=market.index)
    origins = set(index_bars["origin"]) | set(bars.loc[bars["code"] != BSE50_CODE, "origin"])
    if not obs.empty:
        origins |= set(obs["origin"])
        is_sent = (obs["source"] == SENTIMENT[0]) & (obs["subject"] == SENTIMENT[1]) & (obs["metric"] == SENTIMENT[2])
        if is_sent.any():
            sentiment = obs[is_sent].set_index("date")["value"]
            sentiment.index = pd.to_datetime(sentiment.index)
        keep = [is_market_series(s, j, m) for s, j, m in zip(obs["source"], obs["subject"], obs["metric"])]
        att = obs[keep].copy()
        if not att.empty:
            att["series"] = [series_label(s, j, m) for s, j, m in zip(att["source"], att["subject"], att["metric"])]
            attention = att.pivot_table(index="date", columns="series", values="value", aggfunc="last")
            attention.index = pd.to_datetime(attention.index)
    return History(market, attention, sentiment, stocks if not stocks.empty else None, origins == {"reconstructed"},
                   highs if not stocks.empty else None, updated)


def _fmt_ratio(x: float) -> str:
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def _clean(value):
    """A JSON-friendly scalar: None for NaN/inf, plain Python types, floats rounded."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    return round(value, 4) if isinstance(value, float) else value


def reasons_for(row: Mapping, ratios: Mapping[str, float]) -> tuple[str, ...]:
    """Short human reasons for one day's score."""
    v = {k: _clean(row.get(k)) for k in ("turnover_ratio", "rsi", "ret_from_low", "limit_up", "bullish_share",
                                          "lead_lag", "lead_lag_corr", "broken_limit", "limit_streak_max",
                                          "up_share", "stocks")}
    present = sorted(((r, n) for n, r in ratios.items() if _clean(r) is not None), reverse=True)
    out = [f"{name} {_fmt_ratio(r)} its {scoring.DAILY_WINDOW}-day median"
           for r, name in present if r >= scoring.ATTENTION_WARM]
    if v["turnover_ratio"] is not None and v["turnover_ratio"] >= 1.2:
        out.append(f"turnover {v['turnover_ratio']:.1f}x its {scoring.TURNOVER_WINDOW}-day mean")
    if v["rsi"] is not None and v["rsi"] >= 60:
        out.append(f"RSI {v['rsi']:.0f}")
    if v["ret_from_low"] is not None and v["ret_from_low"] >= 0.10:
        out.append(f"BSE 50 +{v['ret_from_low']:.0%} from its {scoring.LOW_WINDOW}-day low")
    if v["limit_up"]:
        out.append(limit_board_reason(v))
    if v["up_share"] is not None and v["up_share"] >= 0.7 and v["stocks"]:
        out.append(f"{v['up_share']:.0%} of {int(v['stocks'])} stocks rose")
    if v["bullish_share"] is not None and v["bullish_share"] >= 0.6:
        out.append(f"{v['bullish_share']:.0%} of forum titles bullish")
    if v["lead_lag"] is not None and v["lead_lag"] > 0 and (v["lead_lag_corr"] or 0) >= 0.3:
        out.append(f"attention leads turnover by {int(v['lead_lag'])}d (r={v['lead_lag_corr']:.2f})")
    if row.get("basis") == scoring.MARKET_ONLY:
        out.append(MARKET_ONLY_REASON)
    return tuple(out)


MARKET_ONLY_REASON = "market data only: no attention source usable (this heat stops at hot)"


def limit_board_reason(v: Mapping) -> str:
    """'30 stocks closed at the +30% limit (4 broken, longest run 3 days)'."""
    extra = []
    if v.get("broken_limit"):
        extra.append(f"{int(v['broken_limit'])} broken")
    if (v.get("limit_streak_max") or 0) >= 2:
        extra.append(f"longest run {int(v['limit_streak_max'])} days")
    return f"{int(v['limit_up'])} stocks closed at the +30% limit" + (f" ({', '.join(extra)})" if extra else "")


def cooling_reasons(row: Mapping, ratios: Mapping[str, float], days_below: int = 2) -> tuple[str, ...]:
    """Why the heat is leaving hot/frenzy: the score and where attention and turnover now stand."""
    out = [f"score {row['score']:.0f}, below {scoring.THRESHOLDS['hot']:.0f} for {days_below} days"]
    out += [f"{name} {_fmt_ratio(r)} its {scoring.DAILY_WINDOW}-day median"
            for name, r in sorted(ratios.items()) if _clean(r) is not None]
    if _clean(row.get("turnover_ratio")) is not None:
        out.append(f"turnover {row['turnover_ratio']:.1f}x its {scoring.TURNOVER_WINDOW}-day mean")
    return tuple(out)


COMPONENT_KEYS = ("close", "pct_change", "amount", "turnover_ratio", "rsi", "ret_from_low", "rank_corr",
                  "attention_series", "attention_confirmed", "market_confirmed", "raw_level", "bullish_share",
                  "limit_up", "limit_down", "basis", "as_of", "provisional")
BREADTH_KEYS = ("limit_up", "limit_down", "broken_limit", "limit_streak_max", "up_share")


def components_for(row: Mapping, ratios: Mapping, zs: Mapping, values: Mapping, reasons: tuple[str, ...],
                   reconstructed: bool) -> dict:
    """The JSON stored in scores.components (read by heat.py and chart.py)."""
    out = {k: _clean(row[k]) for k in COMPONENT_KEYS if k in row}
    out["attention"] = {name: {"value": _clean(values.get(name)), "ratio": _clean(r), "z": _clean(zs.get(name))}
                        for name, r in ratios.items() if _clean(r) is not None}
    out["strengths"] = {k[2:]: _clean(row[k]) for k in row if k.startswith("s_")}
    board = {k: _clean(row.get(k)) for k in BREADTH_KEYS}
    out["breadth"] = None if board["limit_up"] is None else {
        k: (int(x) if x is not None and k != "up_share" else x) for k, x in board.items()}
    if out["breadth"] is not None:
        out["breadth"]["stocks"] = int(row["stocks"]) if _clean(row.get("stocks")) is not None else None
    lag = _clean(row["lead_lag"])
    out["lead_lag"] = {"lag": None if lag is None else int(lag), "corr": _clean(row["lead_lag_corr"])}
    out["reasons"] = list(reasons)
    out["reconstructed"] = reconstructed
    return out


def rescore(db: Database, now: datetime, admin_ids=(), since: date | None = None,
            cooldown_s: float = 0.0) -> list[Alert]:
    """Recompute scores from stored history up to `now`, store them, add new alerts and return those added.

    Heat alerts are added for days >= since (default: the last ALERT_LOOKBACK_DAYS days). Regulator warnings are
    not raised here: sentibot.alerts.regulator raises them when notices are stored. A heat alert of the same kind and level as one added
    less than cooldown_s ago is dropped, so a condition that flickers does not spam subscribers.
    """
    stamp = _local(now).isoformat(timespec="seconds")
    added = []
    for alert in evaluate(db, now, since):
        if add_alert(db, alert, stamp, admin_ids, cooldown_s=cooldown_s) is not None:
            added.append(alert)
    return added


def _local(now: datetime) -> datetime:
    return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)


def evaluate(db: Database, now: datetime, since: date | None = None) -> list[Alert]:
    """Score the stored history up to `now`, save the scores, and return every heat alert due since `since`."""
    now = _local(now)
    stamp = now.isoformat(timespec="seconds")
    since = since or (now.date() - timedelta(days=ALERT_LOOKBACK_DAYS))
    history = load_history(db, now.date())
    candidates: list[Alert] = []
    levels = pd.DataFrame()
    if not history.market.empty:
        result = scoring.score_history(history.market, history.attention, history.sentiment, history.stocks,
                                       stock_high=history.stock_high)
        daily, levels = result.daily, scoring.apply_hysteresis(result.daily)
        levels["score"] = daily["score"]
        # plain dicts per day: pandas per-row access would dominate the cost of a rescore
        names = list(result.attention_ratio.columns)
        ratio_rows = result.attention_ratio.to_numpy()
        z_rows = result.attention_z.to_numpy()
        value_rows = history.attention.reindex(index=daily.index, columns=names).to_numpy()
        states = levels.to_dict("records")
        observed = observed_times(daily.index, history.updated, now)
        rows = []
        for i, (day, row) in enumerate(zip(daily.index, daily.to_dict("records"))):
            iso, state = day.date().isoformat(), states[i]
            seen, provisional = observed[i]
            row["as_of"], row["provisional"] = seen, provisional
            ratios = dict(zip(names, ratio_rows[i]))
            reasons = reasons_for(row, ratios) + ((PROVISIONAL_REASON,) if provisional else ())
            score = _clean(row["score"])
            if score is not None:
                rows.append({"date": iso, "score": round(score, 2), "level": state["level"],
                             "components": components_for(row, ratios, dict(zip(names, z_rows[i])),
                                                          dict(zip(names, value_rows[i])), reasons,
                                                          history.reconstructed)})
            if state["event"] in ("up", "cooling") and day.date() >= since:
                rounded = None if score is None else round(score, 1)
                if state["event"] == "up":
                    candidates.append(alerts.heat_alert(iso, state["level"], rounded, reasons, state["previous"],
                                                        ts=seen))
                else:
                    why = cooling_reasons(row, ratios) if score is not None else ("no score today",)
                    candidates.append(alerts.cooling_alert(iso, state["level"], rounded, why, state["previous"],
                                                           ts=seen))
        save_scores(db, rows, stamp)
    candidates.sort(key=lambda a: a.ts)
    return candidates


PROVISIONAL_REASON = "provisional: the day's bars before the 15:00 close"


def observed_times(index: pd.Index, updated: pd.Series | None, now: datetime) -> list[tuple[str, bool]]:
    """Per scored day: when its evidence was observed (ISO) and whether that was before the day's close.

    A day's bars describe the close only once the close has happened: the observation time is the earliest of the
    15:00 close, the moment the index bar was last written and `now`, so an alert is never stamped in the future.
    """
    out = []
    for day in index:
        close = datetime.combine(day.date(), CLOSE, SHANGHAI)
        seen = min(close, now)
        raw = None if updated is None else updated.get(day)
        if isinstance(raw, str) and raw:
            written = datetime.fromisoformat(raw)
            seen = min(seen, _local(written))
        out.append((seen.isoformat(timespec="seconds"), seen < close))
    return out
