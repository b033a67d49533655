"""The polite HTTP layer every collector shares, and block detection of what comes back."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from sentibot.config import Settings
from sentibot.errors import SentibotError
from sentibot.models import Outcome

log = logging.getLogger(__name__)

POOL_SIZE = 8  # DESIGN.md: httpx over loopback peaks at 4-8 connections and slows above that
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BLOCK_STATUSES = frozenset({403, 429})  # refusals that mean "go away", not "no such page"
MAX_RETRY_AFTER_S = 120.0  # a longer Retry-After is a block: give up now, the source pauses instead
UNREACHABLE_S = 60.0  # after a host refused every connection attempt, its other requests fail at once this long
CAPTCHA_MARKERS = ("em_captcha_modal", "slider-captcha", "slidecaptcha", "geetest", "验证码", "滑动验证")
BUSY_MARKERS = ("系统繁忙", "请稍后再试", "访问过于频繁", "访问频繁")
SHELL_MAX_BYTES = 4096  # the ~2.8 KB empty shell served with status 200 to blocked clients
JSONP = re.compile(r"^\s*[\w$.]+\s*\((.*)\)\s*;?\s*$", re.S)


class FetchError(SentibotError):
    """A request or response that yields nothing to store; outcome is BLOCKED or FAILED."""

    def __init__(self, message: str, outcome: Outcome = Outcome.FAILED):
        super().__init__(message)
        self.outcome = outcome


def quiet_http_logs() -> None:
    """httpx logs every request URL at INFO; the Telegram token lives in URLs, so keep those loggers at WARNING."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def safe_url(url: str | httpx.URL) -> str:
    """Scheme, host and path only: query strings can carry keys, URL paths of the Bot API carry the token."""
    parts = urlsplit(str(url))
    path = re.sub(r"/bot[^/]+", "/bot***", parts.path)
    return f"{parts.scheme}://{parts.netloc}{path}"


def build_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one httpx client of a process: pool capped at 8, User-Agent, timeout and proxy from settings."""
    quiet_http_logs()
    return httpx.AsyncClient(
        headers={"User-Agent": settings.user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
        timeout=settings.http_timeout_s,
        limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
        proxy=settings.http_proxy,
        transport=transport,
        follow_redirects=True,
        trust_env=False,  # the proxy is SENTIBOT_HTTP_PROXY, nothing else
    )


@dataclass
class _Host:
    gate: asyncio.Semaphore
    spacing: asyncio.Lock
    next_at: float = 0.0
    down_until: float = 0.0  # no connection could be made: fail the host's requests at once until then
    down_error: str = ""


class PoliteClient:
    """Per-host politeness (in-flight cap, minimum spacing, Retry-After) and retries over one httpx.AsyncClient."""

    def __init__(self, client: httpx.AsyncClient, *, min_interval_s: float = 2.0, host_concurrency: int = 1,
                 retries: int = 3, backoff_s: float = 1.0, unreachable_s: float = UNREACHABLE_S,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.min_interval_s = min_interval_s
        self.host_concurrency = host_concurrency
        self.retries = retries
        self.backoff_s = backoff_s
        self.unreachable_s = unreachable_s
        self._sleep = sleep
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    @classmethod
    def from_settings(cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None,
                      **overrides) -> "PoliteClient":
        options = dict(min_interval_s=settings.min_interval_s, host_concurrency=settings.host_concurrency,
                       retries=settings.http_retries)
        options.update(overrides)
        return cls(build_http_client(settings, transport), **options)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> "PoliteClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc
        if key not in self._hosts:
            self._hosts[key] = _Host(asyncio.Semaphore(self.host_concurrency), asyncio.Lock())
        return self._hosts[key]

    async def _wait_turn(self, host: _Host) -> None:
        async with host.spacing:
            delay = host.next_at - self._clock()
            if delay > 0:
                await self._sleep(delay)
            host.next_at = max(host.next_at, self._clock() + self.min_interval_s)

    def _backoff(self, attempt: int) -> float:
        return self.backoff_s * (2 ** attempt) * random.uniform(0.5, 1.5)

    async def get(self, url: str, params: dict | None = None, headers: dict | None = None) -> httpx.Response:
        """GET with politeness and retries; a 2xx/3xx response, or FetchError (BLOCKED or FAILED)."""
        return await self.request("GET", url, params=params, headers=headers)

    async def post(self, url: str, data: dict | None = None, json: Any = None,
                   headers: dict | None = None) -> httpx.Response:
        """POST (form data or JSON) with the same politeness, retries and block handling as get."""
        return await self.request("POST", url, data=data, json=json, headers=headers)

    async def request(self, method: str, url: str, *, params: dict | None = None, headers: dict | None = None,
                      data: dict | None = None, json: Any = None) -> httpx.Response:
        """One polite request with retries; a 2xx/3xx response, or FetchError (BLOCKED or FAILED).

        When every attempt failed to connect (no route, refused, DNS, connect timeout), the host's other requests
        fail at once for unreachable_s instead of each retrying with backoff: a source with many URLs on a host
        that is down reports in seconds, not minutes.
        """
        host = self._host(url)
        where = safe_url(url)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            if (left := host.down_until - self._clock()) > 0:
                raise FetchError(f"{where}: host unreachable ({host.down_error}); not tried again for {left:.0f} s",
                                 Outcome.FAILED)
            async with host.gate:
                await self._wait_turn(host)
                try:
                    response = await self.client.request(method, url, params=params, headers=headers,
                                                         data=data, json=json)
                except httpx.TransportError as exc:  # connect error, reset, dropped connection, timeout
                    response, reason = None, f"{type(exc).__name__}: {exc or 'connection dropped'}"
                    error = f"{where}: {reason}"
                    connect_failed = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
            if response is None:
                if last:
                    if connect_failed:
                        host.down_until, host.down_error = self._clock() + self.unreachable_s, reason
                    raise FetchError(error, Outcome.FAILED)
                log.info("retrying %s", error)
                await self._sleep(self._backoff(attempt))
                continue
            host.down_until = 0.0  # it answered: reachable again
            status = response.status_code
            if status < 400:
                return response
            detail = f"{where}: HTTP {status}"
            outcome = Outcome.BLOCKED if status in BLOCK_STATUSES else Outcome.FAILED
            if status not in RETRY_STATUSES:
                raise FetchError(detail, outcome)  # a 4xx that will not change: never retried
            wait = retry_after(response)
            if wait is not None:
                host.next_at = max(host.next_at, self._clock() + wait)  # every request to the host waits
                if wait > MAX_RETRY_AFTER_S:
                    raise FetchError(f"{detail} (Retry-After {wait:.0f} s)", Outcome.BLOCKED)
            if last:
                raise FetchError(f"{detail} after {self.retries + 1} attempts", outcome)
            log.info("retrying %s", detail)
            if wait is None:
                await self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    async def get_text(self, url: str, params: dict | None = None, headers: dict | None = None) -> str:
        return (await self.get(url, params=params, headers=headers)).text


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), or None."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# --- block detection: pure functions over response bodies ---

@dataclass(frozen=True)
class Verdict:
    """How a response body was classified, with the decoded payload when it is usable."""

    outcome: Outcome
    detail: str = ""
    payload: Any = None

    @property
    def usable(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.EMPTY)

    def raise_unusable(self, where: str) -> None:
        if not self.usable:
            raise FetchError(f"{where}: {self.detail}", self.outcome)


def captcha_marker(text: str) -> str | None:
    return next((m for m in CAPTCHA_MARKERS if m in text), None)


def classify_page(text: str, marker: str) -> Verdict:
    """An HTML page that must contain marker: a captcha or a short shell without it is a block."""
    found = captcha_marker(text)
    if found:
        return Verdict(Outcome.BLOCKED, f"captcha page ({found})")
    if marker in text:
        return Verdict(Outcome.OK, payload=text)
    size = len(text.encode("utf-8", "replace"))
    if size <= SHELL_MAX_BYTES:
        return Verdict(Outcome.BLOCKED, f"empty shell page ({size} bytes, no {marker})")
    return Verdict(Outcome.FAILED, f"page without {marker} ({size} bytes): layout changed?")


def unwrap_jsonp(text: str) -> str:
    match = JSONP.match(text)
    return match.group(1) if match and not text.lstrip().startswith(("{", "[")) else text


def classify_json(text: str, data_key: str | None = "data") -> Verdict:
    """A JSON or JSONP body: non-JSON, a busy message or a null data_key are blocks/failures, never empty data."""
    found = captcha_marker(text)
    try:
        payload = json.loads(unwrap_jsonp(text))
    except ValueError:
        if found:
            return Verdict(Outcome.BLOCKED, f"captcha page ({found}) where JSON was expected")
        snippet = " ".join(text[:60].split())
        return Verdict(Outcome.FAILED, f"not JSON ({len(text)} chars: {snippet!r})")
    if not isinstance(payload, dict):
        return Verdict(Outcome.FAILED, f"JSON {type(payload).__name__} where an object was expected")
    message = str(payload.get("me") or payload.get("message") or payload.get("msg") or "")
    if any(m in message for m in BUSY_MARKERS):
        return Verdict(Outcome.BLOCKED, f"busy message rc={payload.get('rc')}: {message}")
    if data_key is not None and payload.get(data_key) is None:
        return Verdict(Outcome.BLOCKED, f"{data_key}: null (rc={payload.get('rc')})")
    return Verdict(Outcome.OK, payload=payload)
