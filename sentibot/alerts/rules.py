"""Alert rules: heat transitions, regulator warnings, source outages (their formatters: sentibot.alerts.texts)."""

from __future__ import annotations

from typing import Any

from sentibot.alerts.texts import FORMATTERS, LEVEL_EMOJI, format_alert  # noqa: F401  (the formatters' home)
from sentibot.models import Alert, AlertKind, Notice

EXCERPT = 160  # characters of the notice text shown in a regulator_warning alert
CLOSE_TIME = "T15:00:00+08:00"  # heat is scored on the daily close


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
