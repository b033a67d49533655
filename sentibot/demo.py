"""`sentibot demo`: replay the bundled, reconstructed Nov-2023 BSE episode through the whole pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from sentibot import i18n
from sentibot.i18n import N_
from sentibot.score import correlation, replay, scoring
from sentibot.errors import InputError
from sentibot.resources import DEMO_DIR
from sentibot.views.heat import describe_lead_lag
from sentibot.models import Alert
from sentibot.score.rescore import load_history

BANNER = N_("RECONSTRUCTED DATA: the BSE 50 closes, turnover, attention and the 232 stocks' bars behind the limit board "
            "in this demo are a seeded reconstruction through reported figures (see sentibot/data/demo/README.md and "
            "STOCKS.md), not downloaded market data.")
TIMELINE = (date(2023, 10, 16), date(2023, 12, 15))
LEADLAG_DAY = date(2023, 11, 27)
CHART_NAME = "demo_bse50_2023.png"
STOCKS_NAME = "stocks.csv"
CHART_DAYS = 100  # about Aug-Dec 2023
CHART_TITLE = "北证50 / BSE 50, Aug–Dec 2023 (reconstructed demo data / 重建数据)"


@dataclass(frozen=True)
class DemoResult:
    lines: list[str]
    alerts: list[Alert]
    chart: Path | None
    lead_lag: dict


def demo_files(directory: Path = DEMO_DIR) -> tuple[Path, Path, Path]:
    files = (directory / "market.csv", directory / "attention.csv", directory / "notices.jsonl")
    for path in files:
        if not path.is_file():
            raise InputError(f"{path}: demo data missing (rebuild it with `python scripts/build_demo.py`)")
    return files


def _timeline(db: Database, alerts: list[Alert]) -> list[str]:
    marks: dict[str, list[str]] = {}
    for a in alerts:
        marks.setdefault(a.ts[:10], []).append(f"{a.kind.value}:{a.level}" if a.level else a.kind.value)
    rows = db.query("select date, score, level, components from scores where date between ? and ? order by date",
                    [TIMELINE[0].isoformat(), TIMELINE[1].isoformat()])
    out = [f"{'date':10}  {'BSE50':>8} {'chg%':>6} {'turnover':>9} {'WeChat':>7} {'+30%':>5} {'score':>5}  "
           f"{'level':8} alerts",
           f"{'':10}  {'close':>8} {'':>6} {'bn yuan':>9} {'x med':>7} {'stks':>5}"]
    for r in rows:
        c = json.loads(r["components"])
        wechat = next((s["ratio"] for n, s in (c.get("attention") or {}).items() if n.startswith("WeChat")), None)
        out.append(f"{r['date']:10}  {c.get('close') or 0:8.2f} {c.get('pct_change') or 0:+6.2f} "
                   f"{(c.get('amount') or 0) / 1e9:9.2f} {_fmt(wechat):>7} {_count(c.get('breadth')):>5} "
                   f"{r['score']:5.0f}  {r['level']:8} "
                   f"{' '.join(marks.get(r['date'], []))}")
    return out


def _wechat_growth(db: Database) -> float | None:
    rows = {r["ts"]: r["value"] for r in db.query(
        "select ts, value from observations where source = 'wechat_index' and ts in ('2023-10-27', '2023-11-27')")}
    return rows["2023-11-27"] / rows["2023-10-27"] if len(rows) == 2 and rows["2023-10-27"] else None


def _count(breadth: dict | None) -> str:
    return "-" if not breadth or breadth.get("limit_up") is None else str(breadth["limit_up"])


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.1f}x"


def lead_lag_at(db: Database, day: date) -> tuple[pd.DataFrame, dict]:
    """The lead-lag table over the 60 trading days up to `day`, from stored bars and observations."""
    history = load_history(db, day)
    daily = scoring.score_history(history.market, history.attention).daily
    table = correlation.lead_lag_table(daily["attention_level"], history.market["amount"])
    return table, correlation.best_lag(table)


def run_demo(db: Database, out_dir: Path, directory: Path = DEMO_DIR, lang: str = "en") -> DemoResult:
    """Import the demo files, score day by day, store alerts, render the chart; returns what to print (in lang)."""
    market, attention, notices = demo_files(directory)
    stocks = directory / STOCKS_NAME  # reconstructed stock bars for the limit board (optional)
    result = replay.replay(db, [market, stocks] if stocks.is_file() else market, attention, notices)
    banner = i18n.t(lang, BANNER)
    lines = [banner, "",
             i18n.t(lang, "imported {bars} bars, {observations} attention values, {notices} notices ({first} .. "
                          "{last}); scored day by day", bars=result.bars, observations=result.observations,
                    notices=result.notices, first=result.first, last=result.last),
             "", i18n.t(lang, "Timeline (reconstructed):")]
    lines += _timeline(db, result.alerts)
    growth = _wechat_growth(db)
    if growth:
        lines.append(i18n.t(lang, "WeChat index 北交所, 2023-10-27 → 2023-11-27: ×{growth} (reported: about 40-fold "
                                  "in the month before 27 Nov; the reconstruction is built to match)",
                            growth=format(growth, ".1f")))
    lines += ["", i18n.t(lang, "Alerts ({n}):", n=len(result.alerts))]
    for a in result.alerts:
        score = "" if a.score is None else i18n.t(lang, " score {score}", score=format(a.score, ".0f"))
        lines.append(f"  {a.ts[:16]}  {a.kind.value:17} {a.level:8}{score}  {a.title}")
        if a.reasons:  # the stored reasons are English sentences (scoring writes them)
            lines.append(f"  {'':16}  " + i18n.t(lang, "why: {reasons}", reasons="; ".join(a.reasons)))
    table, best = lead_lag_at(db, LEADLAG_DAY)
    lines += ["", i18n.t(lang, "Lead-lag, 60 trading days to {day} (Δln attention vs Δln turnover; k>0: attention "
                               "first):", day=LEADLAG_DAY),
              "  " + "  ".join(f"{int(lag):+d}:{corr:+.2f}" for lag, corr in zip(table["lag"], table["corr"]) if pd.notna(corr)),
              "  → " + i18n.t(lang, "{lead_lag} (built into the reconstruction: shows the method, not a finding)",
                              lead_lag=describe_lead_lag(best, lang))]
    from sentibot.views.chart import render_chart  # matplotlib is loaded only here

    chart_path = render_chart(db, Path(out_dir) / CHART_NAME, days=CHART_DAYS, title=CHART_TITLE, lang="zh")
    lines += ["", i18n.t(lang, "chart: {path}", path=chart_path), "", banner]
    return DemoResult(lines, result.alerts, chart_path, best)
