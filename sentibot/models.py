"""Typed records passed between layers: sources -> store -> scoring -> alerts -> bot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum


class Level(str, Enum):
    """Heat levels, ordered from calm to frenzy."""

    CALM = "calm"
    WARMING = "warming"
    HOT = "hot"
    FRENZY = "frenzy"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class AlertKind(str, Enum):
    FRENZY = "frenzy"
    COOLING = "cooling"
    REGULATOR_WARNING = "regulator_warning"
    SOURCE_DOWN = "source_down"
    DIGEST = "digest"  # the daily summary after the close (sentibot.alerts.digest), to chats that turned it on


# the kinds that mark a moment of the market: /heat's recent alerts and the chart's marks (not the admins'
# source_down, not the daily digest, which sums the others up)
EVENT_KINDS = tuple(k.value for k in (AlertKind.FRENZY, AlertKind.COOLING, AlertKind.REGULATOR_WARNING))


class DeliveryStatus(StrEnum):
    """Where one outbox row (an alert or a broadcast to one chat) stands; the values are what the database stores."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed (committed) before its request; its outcome is not known yet
    SENT = "sent"
    UNKNOWN = "unknown"  # the request may have reached Telegram: never re-sent
    FAILED = "failed"
    BLOCKED = "blocked"  # the chat blocked the bot (403): unsubscribed
    CANCELLED = "cancelled"  # the chat unsubscribed before its turn
    CONSOLE = "console"  # written to the log because no Telegram token is set (run/jobs.py)


class Outcome(str, Enum):
    """How one fetch attempt of a source ended."""

    OK = "ok"
    EMPTY = "empty"  # a legitimate empty answer (no new posts, no notices today)
    BLOCKED = "blocked"  # captcha, empty shell, busy message, not-logged-in
    FAILED = "failed"  # network error, 5xx, unparseable body
    NOT_CONFIGURED = "not_configured"  # credentials missing: not an error
    PAUSED = "paused"  # skipped because the source is backing off


@dataclass(slots=True)
class Post:
    """One forum post from a list page.

    Not frozen, unlike the other records: a page makes 80 of them, and a frozen dataclass's __init__ (one
    object.__setattr__ per field) cost as much as decoding the page's JSON. Treat it as read-only all the same.
    """

    source: str
    post_id: str
    bar: str
    title: str
    published_at: str  # ISO-8601 with +08:00
    reads: int | None = None
    comments: int | None = None
    author_id: str | None = None
    author_name: str | None = None
    kind: str = "normal"  # normal, pinned, qa (问董秘), news (财富号/资讯)
    url: str | None = None


@dataclass(frozen=True)
class Observation:
    """One value of an attention series: (source, subject, metric) at ts."""

    source: str
    subject: str
    metric: str
    ts: str  # ISO date (daily) or datetime (hourly)
    value: float
    origin: str = "collected"  # collected, imported, reconstructed


@dataclass(frozen=True)
class Bar:
    """One daily market bar; code 899050 is the BSE 50 index."""

    code: str
    date: str
    close: float
    amount: float  # turnover in yuan
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None
    turnover_rate: float | None = None
    origin: str = "collected"


@dataclass(frozen=True)
class Notice:
    """A regulator or exchange notice, or a company disclosure title."""

    url: str
    source: str
    published_at: str
    title: str
    text: str = ""
    origin: str = "collected"
    stocks: tuple[str, ...] = ()  # 920xxx codes the notice names (sentibot.text.notice_stocks), stored with it


@dataclass(frozen=True)
class Alert:
    """An alert as stored, printed as JSON and sent to subscribers."""

    kind: AlertKind
    ts: str
    title: str
    level: str = ""
    score: float | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    dedupe_key: str = ""
    stocks: tuple[str, ...] = ()  # the stock the alert is about, or the stocks a notice names (DESIGN.md)

    def to_json(self) -> dict:
        """The alert JSON of DESIGN.md."""
        return {
            "kind": self.kind.value,
            "ts": self.ts,
            "level": self.level,
            "score": self.score,
            "title": self.title,
            "reasons": list(self.reasons),
            "stocks": list(self.stocks),
        }


BSE50_CODE = "899050"
