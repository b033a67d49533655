"""The polite HTTP layer every collector shares: politeness, retries, host identity, cookies and session steps."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx

from sentibot.config import Settings
from sentibot.models import Outcome
from sentibot.tls import tls_context
# Block detection lives in verdict.py; collectors import it from here, as they always have.
from sentibot.collect.verdict import (  # noqa: F401
    BUSY_MARKERS, CAPTCHA_MARKERS, SHELL_MAX_BYTES, FetchError, Verdict, captcha_marker, classify_json,
    classify_page, unwrap_jsonp,
)

if TYPE_CHECKING:
    from sentibot.collect.sessions import HostFamily

log = logging.getLogger(__name__)

POOL_SIZE = 8  # DESIGN.md: httpx over loopback peaks at 4-8 connections and slows above that
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BLOCK_STATUSES = frozenset({403, 429})  # refusals that mean "go away", not "no such page"
MAX_RETRY_AFTER_S = 120.0  # a longer Retry-After is a block: give up now, the source pauses instead
UNREACHABLE_S = 60.0  # after a host refused every connection attempt, its other requests fail at once this long
MAX_REDIRECTS = 10
# With no network every attempt to connect waits out its timeout: a short connect timeout, no retry of a connect
# that timed out (the OS already resent the SYN within it) and one retry of a refused one keep `sentibot collect`
# offline to seconds per host (reading still gets http_timeout_s).
CONNECT_TIMEOUT_S = 5.0
CONNECT_RETRIES = 1
CONNECT_TIMEOUT_RETRIES = 0
# A connection that was made and then closed or reset before a status line: Eastmoney's way of saying no.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


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
        timeout=httpx.Timeout(settings.http_timeout_s, connect=min(settings.http_timeout_s, CONNECT_TIMEOUT_S)),
        # One jar per host lives in PoliteClient: httpx's own jar would share cookies across loopback ports and
        # follow redirects without the Set-Cookie a challenge hands out, so it accepts nothing.
        cookies=httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))),
        limits=httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE),
        proxy=settings.http_proxy,
        verify=tls_context(),
        transport=transport,
        follow_redirects=False,  # PoliteClient follows them, keeping each hop's cookies
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
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, clock: Callable[[], float] = time.monotonic,
                 families: list[HostFamily] | None = None):
        self.client = client
        self.families = families or []
        self.jar: dict[str, dict[str, str]] = {}  # netloc -> cookies its responses set
        self._session: dict[str, dict[str, str]] = {}  # family name -> cookies its session step got
        self._session_locks: dict[str, asyncio.Lock] = {}
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
                      **overrides: Any) -> PoliteClient:
        options: dict[str, Any] = dict(min_interval_s=settings.min_interval_s,
                                       host_concurrency=settings.host_concurrency, retries=settings.http_retries)
        options.update(overrides)
        if "families" not in options:
            from sentibot.collect.sessions import families_from

            options["families"] = families_from(settings)
        return cls(build_http_client(settings, transport), **options)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> PoliteClient:
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
                      data: dict | None = None, json: Any = None, session: bool = True) -> httpx.Response:
        """One polite request with retries; a 2xx/3xx response, or FetchError (BLOCKED or FAILED).

        The host's family (sentibot.collect.sessions) adds its identity headers and session cookies; a dropped
        connection (where the family says that is a refusal), a 403 or a challenge page runs the session step
        again and resends once, then is BLOCKED. session=False: a session step's own request, sent without it and
        never retried (it runs before other requests wait on it; the step has its own back-off).
        When every attempt failed to connect (no route, refused, DNS, connect timeout), the host's other requests
        fail at once for unreachable_s instead of each retrying with backoff: a source with many URLs on a host
        that is down reports in seconds, not minutes.
        """
        host = self._host(url)
        where = safe_url(url)
        family = self.family_of(url)
        if family is not None and not session:
            family = dataclasses.replace(family, step=None)  # identity and refusals still apply, the step not
        cookies = await self._open_session(family)
        attempt, renewed, answered = 0, False, False
        retries = self.retries if session else 0
        while True:
            last = attempt >= retries
            if (left := host.down_until - self._clock()) > 0:
                raise FetchError(f"{where}: host unreachable ({host.down_error}); not tried again for {left:.0f} s",
                                 Outcome.FAILED)
            async with host.gate:
                await self._wait_turn(host)
                try:
                    response = await self._send(method, url, params, self._headers(url, family, headers, cookies),
                                                data, json, family, cookies)
                except httpx.TransportError as exc:  # connect error, reset, dropped connection, timeout
                    response, reason = None, f"{type(exc).__name__}: {exc or 'connection dropped'}"
                    error = f"{where}: {reason}"
                    connect_failed = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                    timed_out = isinstance(exc, httpx.ConnectTimeout)
                    connect_tries = CONNECT_TIMEOUT_RETRIES if timed_out else CONNECT_RETRIES
                    dropped = family is not None and family.drop_is_refusal and isinstance(exc, DROPPED)
            if response is None:
                if dropped:  # the site refused: a new session may help once, retrying blindly invites a ban
                    if family is not None and family.step is not None and not renewed:
                        cookies, renewed = await self._renew(
                            family, cookies, f"{where}: blocked: connection dropped before any response"), True
                        continue
                    raise FetchError(f"{where}: blocked: connection dropped before any response "
                                     f"({family.refusal_hint if family else reason})", Outcome.BLOCKED)
                if last or (connect_failed and attempt >= connect_tries):
                    if connect_failed:
                        host.down_until, host.down_error = self._clock() + self.unreachable_s, reason
                    raise FetchError(error, Outcome.FAILED)
                log.info("retrying %s", error)
                await self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            host.down_until = 0.0  # it answered: reachable again
            status = response.status_code
            challenge = family.step.challenge(response) if family and family.step and status < 400 else None
            if challenge is not None:
                if challenge.cookies and not answered:  # e.g. bse.cn's C3VK: copy the cookie, resend once
                    self.jar.setdefault(urlsplit(str(response.url)).netloc, {}).update(challenge.cookies)
                    answered = True
                    continue
                raise FetchError(f"{where}: blocked: {challenge.detail}", Outcome.BLOCKED)
            if status < 400:
                return response
            detail = f"{where}: HTTP {status}"
            if status == 403 and family is not None and family.step is not None and not renewed:
                cookies, renewed = await self._renew(family, cookies, detail), True
                continue
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
            attempt += 1

    def family_of(self, url: str) -> HostFamily | None:
        """The host family a URL belongs to (the first registered one that covers its host), or None."""
        where = urlsplit(url).netloc
        return next((f for f in self.families if f.covers(where)), None)

    async def _open_session(self, family: HostFamily | None, *, stale: dict[str, str] | None = None
                            ) -> dict[str, str]:
        """The family's session cookies; stale = the ones just refused, replaced unless another request did."""
        if family is None or family.step is None:
            return {}
        lock = self._session_locks.setdefault(family.name, asyncio.Lock())
        async with lock:  # concurrent requests share one session step, and one refresh after a refusal
            current = self._session.get(family.name)
            if current is None or (stale is not None and current == stale):
                self._session[family.name] = await family.step.open(self, refresh=stale is not None)
            return self._session[family.name]

    async def _renew(self, family: HostFamily, stale: dict[str, str], refusal: str) -> dict[str, str]:
        """A new session after a refusal; when that fails too, the error names both."""
        try:
            return await self._open_session(family, stale=stale)
        except FetchError as exc:
            raise FetchError(f"{refusal}; {exc}", exc.outcome) from None

    def _headers(self, url: str, family: HostFamily | None, extra: dict | None,
                 cookies: dict[str, str]) -> dict[str, str]:
        where = urlsplit(url).netloc
        headers = dict(family.headers.get(where, {})) if family else {}
        jar = {**cookies, **self.jar.get(where, {})}
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        headers.update(extra or {})
        return headers

    async def _send(self, method: str, url: str, params: dict | None, headers: dict[str, str], data: dict | None,
                    json: Any, family: HostFamily | None, cookies: dict[str, str]) -> httpx.Response:
        """Send, then follow redirects by hand so each hop's Set-Cookie lands in its host's jar."""
        response = await self.client.request(method, url, params=params, headers=headers, data=data, json=json)
        hops: list[httpx.Response] = []
        while True:
            self._keep_cookies(response)
            follow = response.next_request
            if not response.is_redirect or follow is None or len(hops) >= MAX_REDIRECTS:
                break
            hops.append(response)
            jar = {**cookies, **self.jar.get(follow.url.netloc.decode(), {})}
            if jar:
                follow.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
            response = await self.client.send(follow)
        response.history = hops
        return response

    def _keep_cookies(self, response: httpx.Response) -> None:
        where = urlsplit(str(response.url)).netloc
        for raw in response.headers.get_list("set-cookie"):
            try:
                parsed = SimpleCookie(raw)
            except CookieError:
                continue  # a cookie the site mangled is one the site will ask for again
            jar = self.jar.setdefault(where, {})
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0":
                    jar.pop(name, None)
                else:
                    jar[name] = morsel.value

    def cookie_values(self) -> list[str]:
        """Every cookie value this client holds (session steps and jars): what a recorder must remove."""
        jars = [*self._session.values(), *self.jar.values()]
        return [value for jar in jars for value in jar.values() if value]

    async def get_text(self, url: str, params: dict | None = None, headers: dict | None = None) -> str:
        return (await self.get(url, params=params, headers=headers)).text


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), or None."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    if re.fullmatch(r"[0-9]{1,9}", raw):  # not str.isdigit: it accepts ² and ①, which float() refuses
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
