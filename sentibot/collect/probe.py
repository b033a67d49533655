"""`sentibot probe`: ask each endpoint of each source once and say, per endpoint, whether it works.

The contract every source's probe follows (the runner, the CLI and `--record` build on it):
- PROBES maps a source name to "module:function"; the function is `async def probe(ctx, recorder) ->
  list[ProbeLine]`, using ctx.client (the same client, politeness and session steps as collection).
- Each endpoint asked gives one ProbeLine; a recorder, when given, is handed every raw response.
- `ask` does the asking for most endpoints: one request, the raw response to the recorder, the parser's verdict
  mapped to a line (a parser that finds its keys missing gives FORMAT_CHANGED, a refusal BLOCKED).
- A line with status NEEDS and configured=False says a source is not set up: it does not fail the probe; every
  other line that is not OK does (`sentibot probe` exits non-zero).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from sentibot.config import Settings
from sentibot.errors import InputError
from sentibot.models import Outcome
from sentibot.collect.http import PoliteClient, safe_url
from sentibot.collect.verdict import FetchError, Verdict

if TYPE_CHECKING:
    import httpx
    from sqlite_utils import Database

    from sentibot.collect.cycle import CollectContext

log = logging.getLogger(__name__)


class ProbeStatus(str, Enum):
    """What one endpoint answered, as the person running the probe needs to hear it."""

    OK = "ok"  # answered in the shape the parser expects (detail: size and the shape recognised)
    BLOCKED = "blocked"  # refused (detail: dropped connection, 403, challenge page, captcha, anti-bot status)
    NEEDS = "needs"  # a credential is missing or expired (detail: which setting)
    FORMAT_CHANGED = "format changed"  # answered, but a key or marker the parser needs is missing (detail: which)
    FAILED = "failed"  # could not be reached at all (detail: the network error)


@dataclass(frozen=True)
class ProbeLine:
    """One endpoint's verdict: printed as one line, or one JSON object with --json."""

    source: str  # a collect source name: guba, market, universe, em_rank, notices, baidu_index, wechat_index
    endpoint: str  # a short, stable name of the endpoint, e.g. "kline 899050", "list zsbj899050"
    status: ProbeStatus
    detail: str = ""
    url: str = ""  # safe_url(): scheme, host and path only
    configured: bool = True  # False: NEEDS because the source is not set up at all (does not fail the probe)

    @property
    def ok(self) -> bool:
        return self.status is ProbeStatus.OK

    @property
    def fails(self) -> bool:
        """Whether this line makes `sentibot probe` exit non-zero."""
        return not self.ok and not (self.status is ProbeStatus.NEEDS and not self.configured)

    def to_json(self) -> dict:
        return {"source": self.source, "endpoint": self.endpoint, "status": self.status.value,
                "detail": self.detail, "url": self.url, "configured": self.configured}


class Recorder(Protocol):
    """Keeps raw responses as fixtures (`probe --record DIR`), with every cookie, token and credential removed."""

    def save(self, source: str, endpoint: str, response: httpx.Response) -> None: ...


Probe = Callable[["CollectContext", "Recorder | None"], Awaitable[list[ProbeLine]]]

# source name -> "module:function" (imported only when probed); each source module adds its own line.
PROBES: dict[str, str] = {
    "market": "sentibot.collect.market:probe",
    "universe": "sentibot.collect.universe:probe",
    "guba": "sentibot.collect.guba.probe:probe",
    "em_rank": "sentibot.collect.em_rank:probe",
    "notices": "sentibot.collect.notices.probe:probe",
    "baidu_index": "sentibot.collect.search.probe:probe_baidu",
    "wechat_index": "sentibot.collect.search.probe:probe_wechat",
}

Parse = Callable[[str], "tuple[Verdict, str]"]  # body -> (verdict, what was recognised, e.g. "4 bars")


def line_for(source: str, endpoint: str, verdict: Verdict, url: str, size: int, recognised: str) -> ProbeLine:
    """A parser's verdict as a probe line: usable = OK, blocked = BLOCKED, anything else = the format changed."""
    if verdict.usable:
        return ProbeLine(source, endpoint, ProbeStatus.OK, f"{size} bytes, {recognised or verdict.detail}", url)
    if verdict.outcome is Outcome.BLOCKED:
        return ProbeLine(source, endpoint, ProbeStatus.BLOCKED, verdict.detail, url)
    return ProbeLine(source, endpoint, ProbeStatus.FORMAT_CHANGED, verdict.detail, url)


def error_line(source: str, endpoint: str, exc: FetchError, url: str) -> ProbeLine:
    status = ProbeStatus.BLOCKED if exc.outcome is Outcome.BLOCKED else ProbeStatus.FAILED
    return ProbeLine(source, endpoint, status, str(exc), url)


async def ask(ctx: CollectContext, recorder: Recorder | None, source: str, endpoint: str, method: str, url: str,
              parse: Parse, **request: Any) -> ProbeLine:
    """Ask one endpoint once through the collection client, record the raw answer, and judge it."""
    where = safe_url(url)
    try:
        response = await ctx.client.request(method, url, **request)
    except FetchError as exc:
        return error_line(source, endpoint, exc, where)
    if recorder is not None:
        recorder.save(source, endpoint, response)
    verdict, recognised = parse(response.text)
    return line_for(source, endpoint, verdict, where, len(response.content), recognised)


def check_probe_names(names: list[str] | tuple[str, ...]) -> list[str]:
    """The given probe names (all registered ones when empty); an unknown one is an InputError."""
    unknown = [n for n in names if n not in PROBES]
    if unknown:
        raise InputError(f"unknown source {unknown[0]!r} to probe; known: {', '.join(PROBES)}")
    return list(dict.fromkeys(names)) or list(PROBES)


async def probe_one(name: str, ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """One source's probe; a crash or an uncaught refusal becomes its line, never an exception."""
    module, _, function = PROBES[name].partition(":")
    try:
        probe: Probe = getattr(importlib.import_module(module), function)
        return await probe(ctx, recorder)
    except FetchError as exc:
        return [error_line(name, "-", exc, "")]
    except Exception as exc:  # one broken probe must not hide the others' answers
        log.exception("probe %s crashed", name)
        return [ProbeLine(name, "-", ProbeStatus.FAILED, f"{type(exc).__name__}: {exc}")]


async def run_probes(names: list[str] | tuple[str, ...], settings: Settings, now: datetime, *,
                     db: Database | None = None, recorder: Recorder | None = None,
                     transport: httpx.AsyncBaseTransport | None = None) -> list[ProbeLine]:
    """Every named source's probe, one source after another (politeness), over one collection client.

    db is only read (e.g. for the stored universe); without one, an empty in-memory history is used.
    """
    from sentibot.collect.cycle import CollectContext

    names = check_probe_names(names)
    if db is None:
        from sqlite_utils import Database

        from sentibot.store.schema import migrations

        db = Database(memory=True)
        migrations.apply(db)
    lines: list[ProbeLine] = []
    async with PoliteClient.from_settings(settings, transport) as client:
        ctx = CollectContext(client, db, settings, now)
        for name in names:
            lines.extend(await probe_one(name, ctx, recorder))
    return lines
