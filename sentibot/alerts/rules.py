"""Alert rules (heat transitions, regulator warnings, source outages) and one Telegram formatter per alert kind."""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from sentibot.models import Alert, AlertKind, Notice
from sentibot.telegram_html import escape as _e
from sentibot.telegram_html import text_limit, units

EXCERPT = 160  # characters of the notice text shown in a regulator_warning alert
CLOSE_TIME = "T15:00:00+08:00"  # heat is scored on the daily close
LEVEL_EMOJI = {"calm": "🟢", "warming": "🟡", "hot": "🟠", "frenzy": "🔴"}


def classify_notice(text: str, title: str = ""):
    """The project's one notice classifier, sentibot.text.tokenizer.classify_notice (imported late: keeps the CLI fast)."""
    from sentibot.text.tokenizer import classify_notice as classify

    return classify(text, title)


def regulator_alert(notice: Notice, cls: Any, level: str = "", score: float | None = None) -> Alert:
    """A regulator_warning alert for a notice the classifier labelled regulator_warning."""
    triggers = tuple(getattr(cls, "triggers", ()) or ())
    text = " ".join(notice.text.split())
    excerpt = (text[:EXCERPT] + "…" if len(text) > EXCERPT else text,) if text else ()
    reasons = excerpt + tuple(f"measure: {t}" for t in triggers[:8]) + (f"source: {notice.source}",)
    return Alert(kind=AlertKind.REGULATOR_WARNING, ts=notice.published_at, title=notice.title, level=level,
                 score=score, reasons=reasons, dedupe_key=f"regulator_warning:{notice.url}", stocks=notice.stocks)


def source_down_alert(source: str, since: str, detail: str) -> Alert:
    """An admin-only alert: a source has been unhealthy since `since`."""
    return Alert(kind=AlertKind.SOURCE_DOWN, ts=since, title=f"source {source} is down since {since}",
                 reasons=(detail,) if detail else (), dedupe_key=f"source_down:{source}:{since}")


def heat_alert(date: str, level: str, score: float | None, reasons: tuple[str, ...], previous: str,
               ts: str | None = None) -> Alert:
    """An upward heat transition (kind frenzy, level = the new level); ts = when its evidence was observed."""
    title = f"BSE heat {previous} → {level}"
    return Alert(kind=AlertKind.FRENZY, ts=ts or date + CLOSE_TIME, title=title, level=level, score=score,
                 reasons=reasons, dedupe_key=f"frenzy:{date}:{level}")


def cooling_alert(date: str, level: str, score: float | None, reasons: tuple[str, ...], previous: str,
                  ts: str | None = None) -> Alert:
    """Leaving hot/frenzy after two days below the hot threshold; ts = when its evidence was observed."""
    title = f"BSE heat cooling: {previous} → {level}"
    return Alert(kind=AlertKind.COOLING, ts=ts or date + CLOSE_TIME, title=title, level=level, score=score,
                 reasons=reasons, dedupe_key=f"cooling:{date}:{level}")


def _score(alert: Alert) -> str:
    return "" if alert.score is None else f" · score {alert.score:.0f}/100"


def _reasons(alert: Alert) -> list[str]:
    return [f"• {_e(r)}" for r in alert.reasons]


def _format_frenzy(alert: Alert) -> list[str]:
    icon = LEVEL_EMOJI.get(alert.level, "🔥")
    head = f"{icon} <b>Heat: {_e(alert.level.upper() or 'UP')}</b>{_score(alert)}"
    return [head, _e(alert.title), *_reasons(alert), f"<i>{_e(alert.ts)}</i>"]


def _format_cooling(alert: Alert) -> list[str]:
    head = f"🧊 <b>Cooling: now {_e(alert.level or 'lower')}</b>{_score(alert)}"
    return [head, _e(alert.title), *_reasons(alert), f"<i>{_e(alert.ts)}</i>"]


def _format_regulator(alert: Alert) -> list[str]:
    head = "⚠️ <b>Regulator warning</b>"
    context = f"heat when published: {_e(alert.level)}{_score(alert)}" if alert.level else ""
    named = [f"stocks: {_e(', '.join(alert.stocks))}"] if alert.stocks else []
    return [head, f"<b>{_e(alert.title)}</b>", *named, *_reasons(alert), *([context] if context else []),
            f"<i>{_e(alert.ts)}</i>"]


def _format_source_down(alert: Alert) -> list[str]:
    return ["🛠 <b>Source down</b> (admins)", _e(alert.title), *_reasons(alert)]


FORMATTERS: dict[AlertKind, Callable[[Alert], list[str]]] = {
    AlertKind.FRENZY: _format_frenzy,
    AlertKind.COOLING: _format_cooling,
    AlertKind.REGULATOR_WARNING: _format_regulator,
    AlertKind.SOURCE_DOWN: _format_source_down,
}


def format_alert(alert: Alert) -> str:
    """Telegram HTML for an alert; every scraped string escaped; cut to text_limit() UTF-16 units."""
    lines = FORMATTERS[alert.kind](alert)
    text = "\n".join(lines)
    while units(text) > text_limit() and len(lines) > 2:
        lines = lines[:-2] + ["…"]  # drop whole reason lines so no HTML tag or entity is cut in half
        text = "\n".join(lines)
    if units(text) > text_limit():
        text = _e(alert.title[:1000]) + "…"  # cut the raw string, then escape: no entity is split
    return text
