"""A stock's chart (close, turnover, attention, its heat levels shaded, its alerts marked), drawn with chart.py's
helpers so the market and stock charts look alike."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from sentibot.errors import InputError
from sentibot.store.stock_names import Stock
from sentibot import i18n
from sentibot.i18n import N_
from sentibot.views.chart import LABELS, LEVEL_COLOURS, _ascii, _level_runs, _mark_alerts, _patch, cjk_font

STOCK_LABELS = {"close": N_("close"), "amount": N_("turnover (m yuan)"), "attention": N_("attention (x 20-day median)"),
                "forum": N_("forum"), "popularity": N_("popularity rank")}  # msgids, translated like LABELS


def _frames(db: Database, stock: Stock, days: int) -> tuple[pd.DataFrame, list[dict]]:
    scores = pd.DataFrame(db.query(
        "select date, level, close, forum_ratio, popularity_ratio from stock_scores where code = ? "
        "order by date desc limit ?", [stock.code, days])) if db["stock_scores"].exists() else pd.DataFrame()
    if scores.empty:
        raise InputError(f"no heat scores for {stock.label} to chart yet")
    scores = scores.sort_values("date")
    first, last = scores["date"].iloc[0], scores["date"].iloc[-1]
    codes = [c for c in (stock.code, stock.old_code) if c]
    marks = ",".join("?" * len(codes))
    bars = pd.DataFrame(db.query(f"select date, amount from bars where code in ({marks}) and date between ? and ? "
                                 "group by date", [*codes, first, last]), columns=["date", "amount"])
    frame = scores.merge(bars, on="date", how="left")
    frame["date"] = pd.to_datetime(frame["date"])
    alerts = list(db.query("select a.kind, a.ts, a.level from alerts a, json_each(coalesce(a.stocks, '[]')) s "
                           "where s.value = ? and substr(a.ts, 1, 10) between ? and ? order by a.ts",
                           [stock.code, first, last]))
    return frame, alerts


def render_stock_chart(db: Database, stock: Stock, out_path: Path, days: int = 90) -> Path:
    """Write the chart of the stock's last `days` scored days to out_path (PNG) and return the path."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    frame, alerts = _frames(db, stock, days)
    font_path = cjk_font()
    lang = "zh" if font_path else "en"
    text = {key: i18n.t(lang, msgid) for key, msgid in LABELS.items()}  # the market chart's labels, translated
    text.update({lv: i18n.level_name(lang, lv) for lv in i18n.LEVELS})
    own = {key: i18n.t(lang, msgid) for key, msgid in STOCK_LABELS.items()}
    fp = FontProperties(fname=font_path) if font_path else FontProperties()
    fig = Figure(figsize=(11, 8), dpi=100)
    ax_close, ax_amount, ax_att = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 1.7]})
    dates = frame["date"]
    for start, end, level in _level_runs(frame):
        for ax in (ax_close, ax_amount, ax_att):
            ax.axvspan(start, end, color=LEVEL_COLOURS[level], lw=0, zorder=0)
    ax_close.plot(dates, frame["close"], color="#1c3d5a", lw=1.6, zorder=3)
    ax_close.set_ylabel(own["close"], fontproperties=fp)
    ax_amount.bar(dates, frame["amount"] / 1e6, width=0.8, color="#5c7cfa", zorder=3)
    ax_amount.set_ylabel(own["amount"], fontproperties=fp)
    for column, key in (("forum_ratio", "forum"), ("popularity_ratio", "popularity")):
        series = frame.set_index("date")[column].dropna()
        if len(series):
            ax_att.plot(series.index, series, lw=1.2, zorder=3, label=own[key])
    if ax_att.lines:
        ax_att.set_yscale("log")
        ax_att.axhline(1, color="#868e96", lw=0.8, ls=":")
        small = fp.copy()
        small.set_size(7)
        ax_att.legend(prop=small, loc="upper left")
    ax_att.set_ylabel(own["attention"], fontproperties=fp)
    _mark_alerts(ax_close, frame, alerts, text, fp)
    legend_font = fp.copy()
    legend_font.set_size(8)
    ax_close.legend(handles=[_patch(LEVEL_COLOURS[lv], text[lv]) for lv in ("warming", "hot", "frenzy")],
                    prop=legend_font, loc="upper left")
    title_font = fp.copy()
    title_font.set_size(13)
    title = f"{stock.name} {stock.code} {dates.iloc[0]:%Y-%m-%d} – {dates.iloc[-1]:%Y-%m-%d}"
    fig.suptitle(title if font_path else (_ascii(title) or stock.code), fontproperties=title_font)
    fig.autofmt_xdate()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png", bbox_inches="tight")
    return out_path
