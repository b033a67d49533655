"""Host families: per-host identity headers, what a refusal looks like, and the session step run before requests.

A host family is the set of hosts one site operator runs (Eastmoney's push2/push2his/emappdata, Guba, bse.cn...).
PoliteClient asks the family of each request's host for:
- headers: the Referer (and X-Requested-With where the site's own page sends it) for that host;
- drop_is_refusal: whether a connection dropped before any response is the site saying no (Eastmoney, SOURCES.md §1)
  rather than a network failure;
- step: a SessionStep, run before the family's first request and again after a refusal (Eastmoney's nid18 cookie);
  its `challenge` also spots refusals disguised as answers (bse.cn's C3VK JavaScript page).

Adding a family is one factory in FAMILIES: `def my_family(settings) -> HostFamily`, keyed by name.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import httpx

from sentibot.config import Settings
from sentibot.models import Outcome

if TYPE_CHECKING:
    from sentibot.collect.http import PoliteClient

WEBREPORT_PATH = "/backend/api/webreport"
NVI_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"  # SOURCES.md §1
SESSION_MAX_AGE_S = 3600.0  # clients keep nid18 from 20 s to hours; it is refreshed on any refusal anyway
SESSION_BACKOFF_S = 300.0  # webreport itself refused: minutes before asking it again (bans follow hammering)
QUOTE_REFERER = "https://quote.eastmoney.com/"
GUBA_REFERER = "https://guba.eastmoney.com/"
BSE_REFERER = "/news/important_news.html"  # under SENTIBOT_BSE_URL (SOURCES.md §0)


@dataclass(frozen=True)
class Challenge:
    """A refusal that came as an answer: what it is, and the cookies that answer it (resend once), if any."""

    detail: str
    cookies: Mapping[str, str] = field(default_factory=dict)


class SessionStep(Protocol):
    """A family's way in: cookies got before its first request, refreshed after a refusal."""

    async def open(self, client: PoliteClient, *, refresh: bool) -> dict[str, str]:
        """Cookies for every host of the family; FetchError(BLOCKED) when the step itself is refused."""
        ...

    def challenge(self, response: httpx.Response) -> Challenge | None:
        """A challenge page or other refusal dressed as a 2xx answer, or None for a real answer."""
        ...


@dataclass
class HostFamily:
    """The hosts of one site operator and how to talk to them."""

    name: str
    hosts: frozenset[str]  # netlocs (host[:port]) of the configured base URLs
    suffixes: tuple[str, ...] = ()  # the operator's real domains, e.g. ("eastmoney.com",)
    headers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # netloc -> extra request headers
    drop_is_refusal: bool = False
    step: SessionStep | None = None
    refusal_hint: str = ""  # appended to a refusal's detail: what usually causes it

    def covers(self, netloc: str) -> bool:
        host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
        return netloc in self.hosts or any(host == s or host.endswith("." + s) for s in self.suffixes)


def netloc(url: str) -> str:
    return urlsplit(url).netloc


def parse_cookie_header(raw: str) -> dict[str, str]:
    """'a=1; b=2' (as pasted from a browser's request headers) -> {'a': '1', 'b': '2'}."""
    pairs = (part.strip().partition("=") for part in raw.split(";"))
    return {name.strip(): value.strip() for name, sep, value in pairs if sep and name.strip()}


def st_nvi() -> str:
    """The st_nvi cookie webreport expects: 21 random characters of its alphabet plus 4 hex digits of their sha256."""
    body = "".join(secrets.choice(NVI_ALPHABET) for _ in range(21))
    return body + hashlib.sha256(body.encode()).hexdigest()[:4]


def webreport_body(user_agent: str) -> dict:
    """The device report akshare-era clients send (SOURCES.md §1); the fingerprints are random md5 hex strings."""
    def fingerprint() -> str:
        return hashlib.md5(secrets.token_bytes(16)).hexdigest()

    return {"osPlatform": "Windows", "sourceType": "WEB", "osversion": "Windows 10.0", "language": "zh-CN",
            "timezone": "Asia/Shanghai",
            "webDeviceInfo": {"screenResolution": "1920X1080", "userAgent": user_agent, "canvasKey": fingerprint(),
                              "webglKey": fingerprint(), "fontKey": fingerprint(), "audioKey": fingerprint()}}


class EastmoneySession:
    """The nid18 cookie: pasted (SENTIBOT_EASTMONEY_COOKIE) or asked of webreport, cached, refreshed on refusal."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)):
        self.url = f"{settings.eastmoney_session_url}{WEBREPORT_PATH}"
        self.user_agent = settings.user_agent
        self.pasted = parse_cookie_header(settings.eastmoney_cookie) if settings.eastmoney_cookie else {}
        self._clock, self._wall_ms = clock, wall_ms
        self._cookies: dict[str, str] = {}
        self._fetched_at = 0.0
        self._refused_until = 0.0
        self._refusal = ""
        self.fetches = 0  # webreport answers used; /status and the probe report it

    async def open(self, client: PoliteClient, *, refresh: bool) -> dict[str, str]:
        from sentibot.collect.verdict import FetchError

        if self.pasted:  # never replaced: the user owns it, and only the user can get a fresh one
            if refresh:
                raise FetchError("Eastmoney refused the pasted SENTIBOT_EASTMONEY_COOKIE: paste a fresh one from a "
                                 "browser, or unset it to use webreport", Outcome.BLOCKED)
            return dict(self.pasted)
        now = self._clock()
        if self._cookies and not refresh and now - self._fetched_at < SESSION_MAX_AGE_S:
            return dict(self._cookies)
        if (left := self._refused_until - now) > 0:
            raise FetchError(f"Eastmoney session step (webreport) refused: {self._refusal}; "
                             f"not asked again for {left:.0f} s", Outcome.BLOCKED)
        try:
            response = await client.request("POST", self.url, json=webreport_body(self.user_agent),
                                            headers={"Cookie": f"st_nvi={st_nvi()}", "Referer": QUOTE_REFERER},
                                            session=False)
            nid = _webreport_nid(response.text)
        except FetchError as exc:
            if exc.outcome is not Outcome.BLOCKED:  # unreachable: the client's host-down cache answers fast
                raise FetchError(f"Eastmoney session step (webreport) failed: {exc}", exc.outcome) from None
            self._refused_until, self._refusal = self._clock() + SESSION_BACKOFF_S, str(exc)
            raise FetchError(f"Eastmoney session step (webreport) refused: {exc}", Outcome.BLOCKED) from None
        self._cookies = {"nid18": nid, "nid18_create_time": str(self._wall_ms())}
        self._fetched_at = self._clock()
        self.fetches += 1
        return dict(self._cookies)

    def challenge(self, response: httpx.Response) -> Challenge | None:
        return None  # Eastmoney refuses by dropping the connection, never with a page

    @property
    def kind(self) -> str:
        return "pasted cookie (SENTIBOT_EASTMONEY_COOKIE)" if self.pasted else "nid18 from webreport"


def _webreport_nid(text: str) -> str:
    from sentibot.collect.verdict import FetchError

    try:
        payload = json.loads(text)
    except ValueError:
        raise FetchError(f"webreport answered non-JSON ({len(text)} chars)", Outcome.BLOCKED) from None
    data = payload.get("data") if isinstance(payload, dict) else None
    nid = data.get("nid") if isinstance(data, dict) else None
    if str(payload.get("returnCode") if isinstance(payload, dict) else "") != "0" or not isinstance(nid, str) or not nid:
        code = payload.get("returnCode") if isinstance(payload, dict) else None
        raise FetchError(f"webreport answered without data.nid (returnCode={code!r})", Outcome.BLOCKED)
    return nid


def eastmoney_family(settings: Settings) -> HostFamily:
    """push2his (kline), push2 (stock list), emappdata (rank) and webreport: browser identity, nid18, drops are
    refusals (webreport's own request is sent without the step)."""
    hosts = {netloc(u) for u in (settings.eastmoney_url, settings.eastmoney_list_url, settings.em_rank_url,
                                 settings.eastmoney_session_url)}
    headers = {netloc(settings.eastmoney_url): {"Referer": QUOTE_REFERER},
               netloc(settings.eastmoney_list_url): {"Referer": QUOTE_REFERER}}
    return HostFamily("eastmoney", frozenset(hosts), ("push2.eastmoney.com", "push2his.eastmoney.com",
                                                       "emappdata.eastmoney.com", "anonflow2.eastmoney.com"),
                      headers, drop_is_refusal=True, step=EastmoneySession(settings),
                      refusal_hint="Eastmoney drops clients without the nid18 cookie or a browser User-Agent")


def guba_family(settings: Settings) -> HostFamily:
    """Guba list pages: the forum Referer; a dropped connection is Eastmoney's refusal here too."""
    host = netloc(settings.guba_url)
    return HostFamily("guba", frozenset({host}), ("guba.eastmoney.com",), {host: {"Referer": GUBA_REFERER}},
                      drop_is_refusal=True, refusal_hint="Guba throttles and drops clients it does not trust")


class BseSession:
    """bse.cn's WAF: no step before the first request; its C3VK challenge is answered when it comes (SOURCES.md §3).

    The 307 + Set-Cookie form is answered by the cookie jar while the redirect is followed; the 200 JavaScript form
    (`document.cookie="C3VK=<value>; path=/"`) by copying the value and resending once. A challenge that persists
    (the page again after the resend, or a redirect loop) is a block.
    """

    async def open(self, client: PoliteClient, *, refresh: bool) -> dict[str, str]:
        return {}

    def challenge(self, response: httpx.Response) -> Challenge | None:
        from sentibot.collect.notices.parse import c3vk_value
        from sentibot.collect.verdict import SHELL_MAX_BYTES

        if response.is_redirect:  # the client stopped following: the 307 challenge did not let it through
            sets = " ".join(response.headers.get_list("set-cookie"))
            return Challenge("C3VK challenge persists (307 redirect loop)" if "C3VK=" in sets else "redirect loop")
        if len(response.content) > SHELL_MAX_BYTES or "<script" not in response.text:
            return None  # real answers (JSONP, pages) are larger, or carry no script
        value = c3vk_value(response.text)
        return Challenge("C3VK JavaScript challenge", {"C3VK": value}) if value else None


def bse_family(settings: Settings) -> HostFamily:
    """www.bse.cn: the news Referer by default (disclosure requests send their own), the C3VK challenge step."""
    host = netloc(settings.bse_url)
    return HostFamily("bse", frozenset({host}), ("bse.cn",), {host: {"Referer": f"{settings.bse_url}{BSE_REFERER}"}},
                      step=BseSession(), refusal_hint="bse.cn's WAF refuses non-browser agents and challenges cold "
                                                      "clients (C3VK)")


# name -> factory; a new family is one line here.
FAMILIES: dict[str, Callable[[Settings], HostFamily]] = {
    "eastmoney": eastmoney_family,
    "guba": guba_family,
    "bse": bse_family,
}


def families_from(settings: Settings) -> list[HostFamily]:
    """Every registered family, built from the settings (so loopback test sites join the right family)."""
    return [factory(settings) for factory in FAMILIES.values()]
