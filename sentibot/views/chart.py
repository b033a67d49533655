"""PNG chart from the stored history: BSE 50 close, turnover, attention; heat level shaded; alerts marked."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from sentibot.errors import InputError
from sentibot.models import BSE50_CODE

CJK_FAMILIES = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
                "Source Han Sans CN", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN",
                "Droid Sans Fallback")
LEVEL_COLOURS = {"warming": "#fff3b0", "hot": "#ffc078", "frenzy": "#ff8787"}
LABELS = {  # Chinese when a CJK font exists, English otherwise (never boxes of missing glyphs)
    "zh": {"close": "北证50 收盘", "amount": "成交额 (亿元)", "attention": "关注度 (起点=100, 对数)",
           "calm": "平静", "warming": "升温", "hot": "过热", "frenzy": "狂热", "regulator": "监管警示",
           "cooling": "降温", "title": "北证50 热度", "score": "热度分", "limit_up": "涨停家数"},
    "en": {"close": "BSE 50 close", "amount": "turnover (100m yuan)", "attention": "attention (start=100, log)",
           "calm": "calm", "warming": "warming", "hot": "hot", "frenzy": "frenzy", "regulator": "regulator warning",
           "cooling": "cooling", "title": "BSE 50 heat", "score": "heat score", "limit_up": "stocks at +30%"},
}


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Path of an installed font with Chinese glyphs (matplotlib's font list), or None."""
    from matplotlib import font_manager

    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in by_name:
            return by_name[family]
    for f in font_manager.fontManager.ttflist:  # any other CJK-looking family
        if any(key in f.name for key in ("CJK", "Hei", "Song", "Ming", "Kai", "WenQuanYi")):
            return f.fname
    return None


def _frames(db: Database, days: int) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    scores = pd.DataFrame(db.query("select date, score, level, components from scores order by date desc limit ?",
                                   [days]))
    if scores.empty:
        raise InputError("no scores to chart yet: run `sentibot collect` or `sentibot replay` first")
    scores = scores.sort_values("date")
    scores["limit_up"] = [(json.loads(c or "{}").get("breadth") or {}).get("limit_up") for c in scores["components"]]
    scores = scores.drop(columns="components")
    first, last = scores["date"].iloc[0], scores["date"].iloc[-1]
    bars = pd.DataFrame(db.query("select date, close, amount from bars where code = ? and date between ? and ? "
                                 "order by date", [BSE50_CODE, first, last]), columns=["date", "close", "amount"])
    frame = scores.merge(bars, on="date", how="left")
    frame["date"] = pd.to_datetime(frame["date"])
    from sentibot.score.rescore import load_history  # the same market-wide series the score uses

    attention = load_history(db, date.fromisoformat(last)).attention
    attention = attention.loc[attention.index >= pd.Timestamp(first)] if not attention.empty else attention
    alerts = list(db.query("select kind, ts, level from alerts where kind != 'source_down' and substr(ts, 1, 10) "
                           "between ? and ? order by ts", [first, last]))
    return frame, attention, alerts


def render_chart(db: Database, out_path: Path, days: int = 90, title: str | None = None) -> Path:
    """Write the chart of the last `days` scored days to out_path (PNG) and return the path."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    frame, attention, alerts = _frames(db, days)
    font_path = cjk_font()
    text = LABELS["zh" if font_path else "en"]
    shown = (lambda s: s) if font_path else _ascii  # without a CJK font, Chinese would render as empty boxes
    fp = FontProperties(fname=font_path) if font_path else FontProperties()
    fig = Figure(figsize=(11, 9.5), dpi=100)
    ax_close, ax_amount, ax_att, ax_score = fig.subplots(4, 1, sharex=True,
                                                         gridspec_kw={"height_ratios": [3, 1.3, 1.7, 1.3]})
    dates = frame["date"]
    for start, end, level in _level_runs(frame):  # heat level shaded behind every panel
        for ax in (ax_close, ax_amount, ax_att, ax_score):
            ax.axvspan(start, end, color=LEVEL_COLOURS[level], lw=0, zorder=0)
    ax_close.plot(dates, frame["close"], color="#1c3d5a", lw=1.6, zorder=3)
    ax_close.set_ylabel(text["close"], fontproperties=fp)
    ax_amount.bar(dates, frame["amount"] / 1e8, width=0.8, color="#5c7cfa", zorder=3)
    ax_amount.set_ylabel(text["amount"], fontproperties=fp)
    if not attention.empty:
        att = attention.reindex(dates)
        for name in att.columns:
            series = att[name].dropna()
            if len(series):
                ax_att.plot(series.index, series / series.iloc[0] * 100, lw=1.2, zorder=3, label=shown(name))
        ax_att.set_yscale("log")
        small = fp.copy()
        small.set_size(7)
        ax_att.legend(prop=small, loc="upper left")
    ax_att.set_ylabel(text["attention"], fontproperties=fp)
    _score_panel(ax_score, frame, text, fp)
    _mark_alerts(ax_close, frame, alerts, text, fp)
    handles = [_patch(LEVEL_COLOURS[lv], text[lv]) for lv in ("warming", "hot", "frenzy")]
    legend_font = fp.copy()
    legend_font.set_size(8)
    ax_close.legend(handles=handles, prop=legend_font, loc="upper left")
    title_font = fp.copy()
    title_font.set_size(13)
    fig.suptitle(shown(title) if title else f"{text['title']} {dates.iloc[0]:%Y-%m-%d} – {dates.iloc[-1]:%Y-%m-%d}",
                 fontproperties=title_font)
    fig.autofmt_xdate()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png", bbox_inches="tight")
    return out_path


def _score_panel(ax, frame: pd.DataFrame, text: dict, fp) -> None:
    """The heat score (0-100) and, on its own axis, the stocks closing at +30% (the limit board)."""
    ax.plot(frame["date"], frame["score"], color="#862e9c", lw=1.4, zorder=3)
    ax.set_ylim(0, 100)
    ax.set_ylabel(text["score"], fontproperties=fp)
    limit_up = pd.to_numeric(frame["limit_up"], errors="coerce")
    if limit_up.notna().any():
        twin = ax.twinx()
        twin.bar(frame["date"], limit_up.fillna(0), width=0.8, color="#e8590c", alpha=0.6, zorder=2)
        twin.set_ylabel(text["limit_up"], fontproperties=fp, color="#e8590c")


def _ascii(label: str) -> str:
    return " ".join("".join(ch if ord(ch) < 128 else " " for ch in label).split()).replace("( /", "(").strip()


def _level_runs(frame: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """Contiguous runs of one non-calm level, each from its first day to the next scored day (weekends included)."""
    dates, levels = list(frame["date"]), list(frame["level"])
    runs: list[tuple[pd.Timestamp, pd.Timestamp, str]] = []
    for i, level in enumerate(levels):
        end = dates[i + 1] if i + 1 < len(dates) else dates[i] + pd.Timedelta(days=1)
        if level not in LEVEL_COLOURS:
            continue
        if runs and runs[-1][2] == level and runs[-1][1] == dates[i]:
            runs[-1] = (runs[-1][0], end, level)
        else:
            runs.append((dates[i], end, level))
    return runs


def _patch(colour: str, label: str):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, label=label)


def _mark_alerts(ax, frame: pd.DataFrame, alerts: list[dict], text: dict, fp) -> None:
    closes = frame.set_index("date")["close"]
    for alert in alerts:
        day = pd.Timestamp(alert["ts"][:10])
        if day not in closes.index or pd.isna(closes[day]):
            continue
        y = closes[day]
        if alert["kind"] == "regulator_warning":
            ax.axvline(day, color="#c92a2a", ls="--", lw=1.2, zorder=4)
            ax.annotate(text["regulator"], (day, y), xytext=(-60, 25), textcoords="offset points",
                        fontproperties=fp, color="#c92a2a", arrowprops={"arrowstyle": "->", "color": "#c92a2a"})
        elif alert["kind"] == "cooling":
            ax.scatter([day], [y], marker="v", s=80, color="#1971c2", zorder=5)
            ax.annotate(text["cooling"], (day, y), xytext=(6, -16), textcoords="offset points", fontproperties=fp,
                        color="#1971c2")
        else:
            ax.scatter([day], [y], marker="^", s=80, color="#e03131", zorder=5)
            ax.annotate(text.get(alert["level"], alert["level"]), (day, y), xytext=(-14, 10),
                        textcoords="offset points", fontproperties=fp, color="#e03131")

