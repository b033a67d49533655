"""PNG chart from the stored history: BSE 50 close, turnover, attention, heat score; heat level shaded; alerts marked."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlite_utils import Database

from sentibot import i18n
from sentibot.errors import InputError
from sentibot.i18n import N_
from sentibot.models import BSE50_CODE, EVENT_KINDS

# Fonts with Chinese glyphs, tried when the packaged one is missing (an install made with --no-deps): the first
# found is used.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
                "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "Droid Sans Fallback")
LEVEL_COLOURS = {"warming": "#fff3b0", "hot": "#ffc078", "frenzy": "#ff8787"}
WIDTH_IN, DPI = 10.8, 100  # 1,080 px wide: a phone shows the PNG at about that width, so sizes are set for it
LABELS = {  # msgids: translated with the chart's language (English when no CJK font can be found)
    "close": N_("BSE 50 close"), "amount": N_("turnover (100m yuan)"), "attention": N_("attention (start=100, log)"),
    "regulator": N_("regulator warning"), "cooling": N_("cooling"), "title": N_("BSE 50 heat"),
    "score": N_("heat score"), "limit_up": N_("stocks at +30%"),
    "reconstructed": N_("reconstructed demo data"),
}


def packaged_font() -> Path | None:
    """Noto Sans SC Regular (OFL 1.1) from the pylopdf-fonts-zh-cn dependency, or None when it is not installed."""
    try:
        import pylopdf_fonts_zh_cn  # data only: importing it loads no font and touches no matplotlib setting
    except ImportError:
        return None
    path = pylopdf_fonts_zh_cn.sans_path()
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Path of a font with Chinese glyphs: the packaged Noto Sans SC, else one installed on the machine."""
    packaged = packaged_font()
    if packaged is not None:
        return str(packaged)
    from matplotlib import font_manager

    by_name = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    return next((by_name[family] for family in CJK_FAMILIES if family in by_name), None)


def chart_language(lang: str) -> str:
    """The language the chart's labels can be drawn in: lang, or English when no CJK font exists."""
    return lang if lang == i18n.SOURCE_LANGUAGE or cjk_font() else i18n.SOURCE_LANGUAGE


def _frames(db: Database, days: int, lang: str) -> tuple[pd.DataFrame, pd.DataFrame, list[dict], bool]:
    scores = pd.DataFrame(db.query("select date, score, level, components from scores order by date desc limit ?",
                                   [days]))
    if scores.empty:
        raise InputError(i18n.t(lang, "no scores to chart yet: run `sentibot collect` or `sentibot replay` first"))
    scores = scores.sort_values("date")
    parsed = [json.loads(c or "{}") for c in scores["components"]]
    scores["limit_up"] = [(c.get("breadth") or {}).get("limit_up") for c in parsed]
    reconstructed = any(c.get("reconstructed") for c in parsed)
    scores = scores.drop(columns="components")
    first, last = scores["date"].iloc[0], scores["date"].iloc[-1]
    bars = pd.DataFrame(db.query("select date, close, amount from bars where code = ? and date between ? and ? "
                                 "order by date", [BSE50_CODE, first, last]), columns=["date", "close", "amount"])
    frame = scores.merge(bars, on="date", how="left")
    frame["date"] = pd.to_datetime(frame["date"])
    from sentibot.score.rescore import (
        load_history,  # the same market-wide series the score uses
    )

    attention = load_history(db, date.fromisoformat(last)).attention
    attention = attention.loc[attention.index >= pd.Timestamp(first)] if not attention.empty else attention
    alerts = list(db.query(f"select kind, ts, level from alerts where kind in ({','.join('?' * len(EVENT_KINDS))})"
                           " and substr(ts, 1, 10) between ? and ? order by ts", [*EVENT_KINDS, first, last]))
    return frame, attention, alerts, reconstructed


def is_reconstructed(db: Database, days: int = 90) -> bool:
    """Whether any charted day was scored from reconstructed (demo) data."""
    rows = db.query("select components from scores order by date desc limit ?", [days]) if db["scores"].exists() \
        else []
    return any(json.loads(r["components"] or "{}").get("reconstructed") for r in rows)


def chart_caption(db: Database, lang: str, days: int = 90) -> str:
    """The photo caption: what the chart shows, whether its data are reconstructed, and the English fallback."""
    caption = i18n.t(lang, "北证50: index, turnover, attention and heat score, last {days} days", days=days)
    if is_reconstructed(db, days):
        caption += "\n" + i18n.t(lang, "Reconstructed demo data, not market records.")
    if chart_language(lang) != lang:
        caption += "\n" + i18n.t(lang, "No Chinese font was found on this server, so the chart's labels are in "
                                       "English.")
    return caption


def render_chart(db: Database, out_path: Path, days: int = 90, title: str | None = None, lang: str = "en") -> Path:
    """Write the chart of the last `days` scored days to out_path (PNG, 1,080 px wide) and return the path."""
    fig = chart_figure(db, days, title, lang)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, format="png")
    return out_path


def chart_figure(db: Database, days: int = 90, title: str | None = None, lang: str = "en"):
    """The matplotlib Figure of the chart (render_chart saves it; tests read its texts and fonts)."""
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    frame, attention, alerts, reconstructed = _frames(db, days, lang)
    font_path = cjk_font()
    lang = chart_language(lang)
    text = {key: i18n.t(lang, msgid) for key, msgid in LABELS.items()}
    text.update({lv: i18n.level_name(lang, lv) for lv in i18n.LEVELS})
    shown = (lambda s: s) if font_path else _ascii  # without a CJK font, Chinese would render as empty boxes
    fp = FontProperties(fname=font_path, size=12) if font_path else FontProperties(size=12)
    fig = Figure(figsize=(WIDTH_IN, 13), dpi=DPI, layout="constrained")
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 1.8, 1.4]})
    ax_close, ax_amount, ax_att, ax_score = axes
    dates = frame["date"]
    for start, end, level in _level_runs(frame):  # heat level shaded behind every panel
        for ax in axes:
            ax.axvspan(start, end, color=LEVEL_COLOURS[level], lw=0, zorder=0)
    ax_close.plot(dates, frame["close"], color="#1c3d5a", lw=1.8, zorder=3)
    ax_close.margins(y=0.18)  # headroom for the alert labels above the line
    ax_amount.bar(dates, frame["amount"] / 1e8, width=0.8, color="#5c7cfa", zorder=3)
    legend_font = fp.copy()
    legend_font.set_size(12)
    if not attention.empty:
        att = attention.reindex(dates)
        for name in att.columns:
            series = att[name].dropna()
            if len(series):
                label = shown(_series(lang, name))
                ax_att.plot(series.index, series / series.iloc[0] * 100, lw=1.4, zorder=3, label=label)
        ax_att.set_yscale("log")
        if ax_att.get_legend_handles_labels()[0]:
            ax_att.legend(prop=legend_font, loc="upper left", framealpha=0.85)
    _score_panel(ax_score, frame, text, fp)
    for ax, key in ((ax_close, "close"), (ax_amount, "amount"), (ax_att, "attention"), (ax_score, "score")):
        ax.set_ylabel(text[key], fontproperties=fp)
        ax.tick_params(labelsize=11)
        if ax is not ax_close and ax is not ax_att:  # the top tick of a short panel would touch the panel above
            ax.yaxis.set_major_locator(MaxNLocator(4, prune="upper"))
    fig.align_ylabels(axes)
    _mark_alerts(ax_close, frame, alerts, text, fp)
    handles = [_patch(LEVEL_COLOURS[lv], text[lv]) for lv in ("warming", "hot", "frenzy")]
    ax_close.legend(handles=handles, prop=legend_font, loc="upper left", ncols=3, framealpha=0.85)
    title_font = fp.copy()
    title_font.set_size(15)
    if title:
        heading = shown(title)
    else:
        heading = f"{text['title']} {dates.iloc[0]:%Y-%m-%d} – {dates.iloc[-1]:%Y-%m-%d}"
        if reconstructed:
            heading += f" ({text['reconstructed']})"
    fig.suptitle(heading, fontproperties=title_font)
    for label in ax_score.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    return fig


def _series(lang: str, name: str) -> str:
    from sentibot.alerts.texts import series_name

    return series_name(lang, name)


def _score_panel(ax, frame: pd.DataFrame, text: dict, fp) -> None:
    """The heat score (0-100) with its level thresholds and, on its own axis, the stocks closing at +30%."""
    from sentibot.score.scoring import THRESHOLDS

    for level, value in THRESHOLDS.items():
        if level in LEVEL_COLOURS:
            ax.axhline(value, color="#868e96", lw=0.8, ls=":", zorder=1)
    ax.plot(frame["date"], frame["score"], color="#862e9c", lw=1.6, zorder=3)
    ax.set_ylim(0, 105)
    limit_up = pd.to_numeric(frame["limit_up"], errors="coerce")
    if limit_up.notna().any():
        twin = ax.twinx()
        twin.bar(frame["date"], limit_up.fillna(0), width=0.8, color="#e8590c", alpha=0.5, zorder=2)
        twin.set_ylabel(text["limit_up"], fontproperties=fp, color="#e8590c")
        twin.tick_params(labelsize=11)


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


BOX = {"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85}  # a label stays legible over lines


def _mark_alerts(ax, frame: pd.DataFrame, alerts: list[dict], text: dict, fp) -> None:
    """One marker per alert; labels of one day are stacked (above the line for rises and warnings, below for
    cooling) on a white box, so they neither collide nor sit on the price line."""
    closes = frame.set_index("date")["close"]
    above: dict[pd.Timestamp, int] = {}
    below: dict[pd.Timestamp, int] = {}
    for alert in alerts:
        day = pd.Timestamp(alert["ts"][:10])
        if day not in closes.index or pd.isna(closes[day]):
            continue
        y = closes[day]
        if alert["kind"] == "cooling":
            n = below[day] = below.get(day, -1) + 1
            ax.scatter([day], [y], marker="v", s=80, color="#1971c2", zorder=5)
            ax.annotate(text["cooling"], (day, y), xytext=(0, -26 - 18 * n), textcoords="offset points",
                        ha="center", fontproperties=fp, color="#1971c2", bbox=BOX, zorder=6)
            continue
        n = above[day] = above.get(day, -1) + 1
        if alert["kind"] == "regulator_warning":
            ax.axvline(day, color="#c92a2a", ls="--", lw=1.2, zorder=4)
            label, colour, arrow = text["regulator"], "#c92a2a", {"arrowstyle": "->", "color": "#c92a2a"}
        else:
            ax.scatter([day], [y], marker="^", s=80, color="#e03131", zorder=5)
            label, colour, arrow = text.get(alert["level"], alert["level"]), "#e03131", None
        ax.annotate(label, (day, y), xytext=(0, 16 + 20 * n), textcoords="offset points", ha="center",
                    fontproperties=fp, color=colour, bbox=BOX, arrowprops=arrow, zorder=6)
