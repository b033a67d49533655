"""Rescore from the store: load history up to `now`, score (pure), save scores, add new alerts (deduped)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlite_utils import Database

from sentibot import alerts, scoring
from sentibot.models import BSE50_CODE, Alert, Notice
from sentibot.store import add_alert, save_scores
from sentibot.timeutil import SHANGHAI

ALERT_LOOKBACK_DAYS = 3  # live rescoring alerts on recent transitions only; an old one is history, not news
SERIES_NAMES = {("wechat_index", None): "WeChat index", ("baidu_index", None): "Baidu index",
                ("guba", "posts"): "Guba posts", ("guba", "reads"): "Guba reads",
                ("guba", "comments"): "Guba comments"}
SENTIMENT_METRIC = ("guba", "bullish_share")  # observations the guba collector/text module provide


@dataclass(frozen=True)
class History:
    """Everything scoring needs, as wide frames indexed by trading date."""

    market: pd.DataFrame
    attention: pd.DataFrame
    sentiment: pd.Series | None
    stocks: pd.DataFrame | None
    reconstructed: bool


def series_label(source: str, subject: str, metric: str) -> str:
    """'WeChat index 北交所' — the human name used in reasons and /heat."""
    name = SERIES_NAMES.get((source, metric)) or SERIES_NAMES.get((source, None)) or f"{source} {metric}"
    return f"{name} {subject}".strip()


def load_history(db: Database, until: date) -> History:
    """Bars and daily observations up to and including `until` (ISO dates compare as strings)."""
    day = until.isoformat()
    bars = pd.DataFrame(db.query("select code, date, close, amount, origin from bars where date <= ? order by date",
                                 [day]))
    obs = pd.DataFrame(db.query(
        "select source, subject, metric, substr(ts, 1, 10) as date, value, origin from observations "
        "where substr(ts, 1, 10) <= ? order by ts", [day]))
    if bars.empty or not (bars["code"] == BSE50_CODE).any():
        return History(pd.DataFrame(), pd.DataFrame(), None, None, False)
    index_bars = bars[bars["code"] == BSE50_CODE].set_index("date")
    market = index_bars[["close", "amount"]].astype(float)
    market.index = pd.to_datetime(market.index)
    stocks = bars[bars["code"] != BSE50_CODE].pivot(index="date", columns="code", values="close")
    stocks.index = pd.to_datetime(stocks.index)
    sentiment, attention = None, pd.DataFrame(index=market.index)
    origins = set(index_bars["origin"])
    if not obs.empty:
        origins |= set(obs["origin"])
        is_sent = (obs["source"] == SENTIMENT_METRIC[0]) & (obs["metric"] == SENTIMENT_METRIC[1])
        if is_sent.any():
            sentiment = obs[is_sent].groupby("date")["value"].mean()
            sentiment.index = pd.to_datetime(sentiment.index)
        att = obs[~is_sent].copy()
        att["series"] = [series_label(s, j, m) for s, j, m in zip(att["source"], att["subject"], att["metric"])]
        # one value per series and day: an intraday refresh replaces the earlier reading of the same day
        attention = att.pivot_table(index="date", columns="series", values="value", aggfunc="last")
        attention.index = pd.to_datetime(attention.index)
    return History(market, attention, sentiment, stocks if not stocks.empty else None, origins == {"reconstructed"})


def _fmt_ratio(x: float) -> str:
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


def reasons_for(row: pd.Series, ratios: pd.Series) -> tuple[str, ...]:
    """Short human reasons for one day's score."""
    out = [f"{name} {_fmt_ratio(r)} its {scoring.DAILY_WINDOW}-day median"
           for name, r in ratios.dropna().sort_values(ascending=False).items() if r >= scoring.ATTENTION_WARM]
    if pd.notna(row["turnover_ratio"]) and row["turnover_ratio"] >= 1.2:
        out.append(f"turnover {row['turnover_ratio']:.1f}x its {scoring.TURNOVER_WINDOW}-day mean")
    if pd.notna(row["rsi"]) and row["rsi"] >= 60:
        out.append(f"RSI {row['rsi']:.0f}")
    if pd.notna(row["ret_from_low"]) and row["ret_from_low"] >= 0.10:
        out.append(f"BSE 50 +{row['ret_from_low']:.0%} from its {scoring.LOW_WINDOW}-day low")
    if row.get("limit_up", 0) and row["limit_up"] > 0:
        out.append(f"{int(row['limit_up'])} stocks closed at the +30% limit")
    if pd.notna(row.get("bullish_share")) and row["bullish_share"] >= 0.6:
        out.append(f"{row['bullish_share']:.0%} of forum titles bullish")
    if pd.notna(row["lead_lag"]) and row["lead_lag"] > 0 and row["lead_lag_corr"] >= 0.3:
        out.append(f"attention leads turnover by {int(row['lead_lag'])}d (r={row['lead_lag_corr']:.2f})")
    return tuple(out)


def _clean(value):
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return round(value, 4) if isinstance(value, float) else value


def components_for(row: pd.Series, ratios: pd.Series, zs: pd.Series, values: pd.Series,
                   reasons: tuple[str, ...], reconstructed: bool) -> dict:
    """The JSON stored in scores.components (read by heat.py and chart.py)."""
    keys = ["close", "pct_change", "amount", "turnover_ratio", "rsi", "ret_from_low", "rank_corr",
            "attention_series", "attention_confirmed", "market_confirmed", "raw_level", "bullish_share",
            "limit_up", "limit_down"]
    out = {k: _clean(row[k]) for k in keys if k in row.index}
    out["attention"] = {name: {"value": _clean(values.get(name)), "ratio": _clean(ratios[name]),
                               "z": _clean(zs.get(name))} for name in ratios.dropna().index}
    out["percentiles"] = {k[2:]: _clean(row[k]) for k in row.index if k.startswith("p_")}
    lag = _clean(row["lead_lag"])
    out["lead_lag"] = {"lag": None if lag is None else int(lag), "corr": _clean(row["lead_lag_corr"])}
    out["reasons"] = list(reasons)
    out["reconstructed"] = reconstructed
    return out


def rescore(db: Database, now: datetime, admin_ids=(), since: date | None = None) -> list[Alert]:
    """Recompute scores from stored history up to `now`, store them, add new alerts and return those added.

    Heat alerts are added for days >= since (default: the last ALERT_LOOKBACK_DAYS days); regulator warnings
    published up to `now` are always added (once per URL).
    """
    stamp = _local(now).isoformat(timespec="seconds")
    return [a for a in evaluate(db, now, since) if add_alert(db, a, stamp, admin_ids) is not None]


def _local(now: datetime) -> datetime:
    return now.replace(tzinfo=SHANGHAI) if now.tzinfo is None else now.astimezone(SHANGHAI)


def evaluate(db: Database, now: datetime, since: date | None = None) -> list[Alert]:
    """Score the stored history up to `now`, save the scores, and return every alert due since `since`."""
    now = _local(now)
    stamp = now.isoformat(timespec="seconds")
    since = since or (now.date() - timedelta(days=ALERT_LOOKBACK_DAYS))
    history = load_history(db, now.date())
    candidates: list[Alert] = []
    levels = pd.DataFrame()
    if not history.market.empty:
        result = scoring.score_history(history.market, history.attention, history.sentiment, history.stocks)
        daily, levels = result.daily, scoring.apply_hysteresis(result.daily)
        levels["score"] = daily["score"]
        values = history.attention.reindex(daily.index)
        rows = []
        for day, row in daily.iterrows():
            iso = day.date().isoformat()
            reasons = reasons_for(row, result.attention_ratio.loc[day])
            state = levels.loc[day]
            if pd.notna(row["score"]):
                rows.append({"date": iso, "score": round(float(row["score"]), 2), "level": state["level"],
                             "components": components_for(row, result.attention_ratio.loc[day],
                                                          result.attention_z.loc[day], values.loc[day], reasons,
                                                          history.reconstructed)})
            if state["event"] in ("up", "cooling") and day.date() >= since:
                build = alerts.heat_alert if state["event"] == "up" else alerts.cooling_alert
                score = None if pd.isna(row["score"]) else round(float(row["score"]), 1)
                candidates.append(build(iso, state["level"], score, reasons, state["previous"]))
        save_scores(db, rows, stamp)
    candidates += regulator_alerts(db, now, levels)
    candidates.sort(key=lambda a: a.ts)
    return candidates


def regulator_alerts(db: Database, now: datetime, levels: pd.DataFrame) -> list[Alert]:
    """A regulator_warning alert for every stored notice classified so, published up to `now`."""
    now, out = _local(now), []
    for row in db.query("select * from notices where published_at <= ? order by published_at",
                        [now.isoformat(timespec="seconds")]):
        notice = Notice(url=row["url"], source=row["source"], published_at=row["published_at"], title=row["title"],
                        text=row["text"] or "", origin=row["origin"] or "collected")
        if row["notice_class"] in (None, ""):
            cls = alerts.classify_notice(notice.text, notice.title)
        else:
            cls = alerts.StoredClass(row["notice_class"], row["severity"] or 0,
                                     tuple(json.loads(row["triggers"] or "[]")))
        if cls.label != "regulator_warning":
            continue
        level, score = "", None
        if not levels.empty:
            known = levels[levels.index <= pd.Timestamp(notice.published_at[:10])]
            if len(known):
                level, raw = known["level"].iloc[-1], known["score"].iloc[-1]
                score = None if pd.isna(raw) else round(float(raw), 1)
        out.append(alerts.regulator_alert(notice, cls, level=level, score=score))
    return out
