"""`sentibot probe`: ask each endpoint of each source once and say, per endpoint, whether it works.

The contract every source's probe follows (the runner, the CLI and `--record` build on it):
- PROBES maps a source name to "module:function"; the function is `async def probe(ctx, recorder) ->
  list[ProbeLine]`, using ctx.client (the same client, politeness and session steps as collection).
- Each endpoint asked gives one ProbeLine; a recorder, when given, is handed every raw response.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

if TYPE_CHECKING:
    import httpx

    from sentibot.collect.cycle import CollectContext


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

    @property
    def ok(self) -> bool:
        return self.status is ProbeStatus.OK


class Recorder(Protocol):
    """Keeps raw responses as fixtures (`probe --record DIR`), with every cookie, token and credential removed."""

    def save(self, source: str, endpoint: str, response: httpx.Response) -> None: ...


Probe = Callable[["CollectContext", "Recorder | None"], Awaitable[list[ProbeLine]]]

# source name -> "module:function" (imported only when probed); each source module adds its own line.
PROBES: dict[str, str] = {}
