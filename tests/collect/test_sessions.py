"""Host identity, cookie jars and session steps over real loopback HTTP: Eastmoney's nid18 gate as SOURCES.md §1 says.

The Eastmoney site here (tests/support/eastmoney_session.py) drops the connection without any response unless the
request carries the nid18 pair from webreport and a browser User-Agent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from datetime import datetime, timedelta

import httpx
import pytest

from sentibot.collect.cycle import collect_cycle
from sentibot.collect.http import FetchError, PoliteClient
from sentibot.collect.sessions import (NVI_ALPHABET, SESSION_BACKOFF_S, WEBREPORT_PATH, Challenge, EastmoneySession,
                                       HostFamily, eastmoney_family)
from sentibot.config import Secret, load_settings
from sentibot.models import Outcome
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI
from tests.support.eastmoney_session import NID, admitted, webreport_body
from tests.support.local_sites import LocalSite, text
from tests.support.paths import FIXTURES

KLINE = (FIXTURES / "eastmoney" / "constructed_kline_bse50_8field.json").read_text(encoding="utf-8")
CLIST = (FIXTURES / "eastmoney" / "constructed_clist_bse.json").read_text(encoding="utf-8")
KLINE_PATH = "/api/qt/stock/kline/get"
NOW = datetime(2023, 11, 16, 10, 0, tzinfo=SHANGHAI)


def settings(site: LocalSite, **kw):
    options = dict(eastmoney_url=site.url, eastmoney_list_url=site.url, eastmoney_session_url=site.url,
                   min_interval_s=0.0, http_retries=0, market_scope="index")
    options.update(kw)
    return load_settings(environ={}, env_file=None, **options)


@pytest.fixture
def eastmoney():
    with LocalSite("eastmoney") as site:
        site.route("POST", WEBREPORT_PATH, text(webreport_body(), "application/json"))
        site.route("GET", KLINE_PATH, text(KLINE, "application/json"))
        site.route("GET", "/api/qt/clist/get", text(CLIST, "application/json"))
        site.admit = lambda headers: True
        yield site


def requests_to(site: LocalSite, path: str) -> list[dict]:
    return [headers for _, p, headers in site.seen if p == path]


def fetch(s, path: str = KLINE_PATH, families=None, **kw) -> str:
    async def go():
        options = {} if families is None else {"families": families}
        async with PoliteClient.from_settings(s, **options) as client:
            return (await client.get(f"{s.eastmoney_url}{path}", **kw)).text

    return asyncio.run(go())


def webreport_gate(site: LocalSite, nid: str = NID) -> None:
    """Data requests pass only with the nid18 pair and a browser agent; webreport (sent with st_nvi) always."""
    site.admit = lambda headers: admitted(headers, nid) or "st_nvi=" in headers.get("Cookie", "")


def test_the_nid18_step_runs_once_and_opens_the_gate(eastmoney):
    webreport_gate(eastmoney)
    s = settings(eastmoney)

    async def go():
        async with PoliteClient.from_settings(s) as client:
            for _ in range(2):
                await client.get(f"{s.eastmoney_url}{KLINE_PATH}")

    asyncio.run(go())
    (report,) = requests_to(eastmoney, WEBREPORT_PATH)  # cached: one webreport for both requests
    nvi = report["Cookie"].removeprefix("st_nvi=")
    assert len(nvi) == 25 and set(nvi[:21]) <= set(NVI_ALPHABET)
    assert nvi[21:] == hashlib.sha256(nvi[:21].encode()).hexdigest()[:4]
    klines = requests_to(eastmoney, KLINE_PATH)
    assert len(klines) == 2 and all(f"nid18={NID}" in h["Cookie"] for h in klines)
    assert klines[0]["Referer"] == "https://quote.eastmoney.com/"
    assert klines[0]["User-Agent"].startswith("Mozilla/5.0")


def test_the_webreport_body_carries_the_user_agent_sent(eastmoney):
    s = settings(eastmoney, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    fetch(s)
    (report,) = requests_to(eastmoney, WEBREPORT_PATH)
    assert report["Content-Type"] == "application/json"
    (body,) = [json.loads(raw) for path, raw in eastmoney.posted if path == WEBREPORT_PATH]
    assert (body["osPlatform"], body["sourceType"], body["timezone"]) == ("Windows", "WEB", "Asia/Shanghai")
    device = body["webDeviceInfo"]
    assert device["userAgent"] == s.user_agent and device["screenResolution"] == "1920X1080"
    assert all(len(device[k]) == 32 and int(device[k], 16) >= 0 for k in ("canvasKey", "webglKey", "fontKey",
                                                                            "audioKey"))


def test_a_non_browser_agent_is_dropped_and_that_is_a_block_not_a_network_failure(eastmoney):
    webreport_gate(eastmoney)
    with pytest.raises(FetchError) as err:
        fetch(settings(eastmoney, user_agent="python-httpx/0.28"))
    assert err.value.outcome is Outcome.BLOCKED
    assert "connection dropped before any response" in str(err.value) and "nid18" in str(err.value)
    assert len(requests_to(eastmoney, WEBREPORT_PATH)) == 2  # the step ran again after the refusal, once


def test_a_refusal_refreshes_the_session_once(eastmoney):
    nids = iter(["expired0000", NID])
    eastmoney.route("POST", WEBREPORT_PATH, lambda form: text(webreport_body(next(nids)), "application/json"))
    webreport_gate(eastmoney)  # only NID opens the gate: the first cookie is refused, the refreshed one works
    assert fetch(settings(eastmoney)) == KLINE
    assert len(requests_to(eastmoney, WEBREPORT_PATH)) == 2 and len(requests_to(eastmoney, KLINE_PATH)) == 2


def test_requests_refused_together_share_one_refresh(eastmoney):
    nids = iter(["expired0000", NID, "never-used"])
    eastmoney.route("POST", WEBREPORT_PATH, lambda form: text(webreport_body(next(nids)), "application/json"))
    webreport_gate(eastmoney)
    s = settings(eastmoney)

    async def go():
        async with PoliteClient.from_settings(s) as client:
            return await asyncio.gather(*(client.get_text(f"{s.eastmoney_url}{KLINE_PATH}") for _ in range(3)))

    assert asyncio.run(go()) == [KLINE] * 3
    assert len(requests_to(eastmoney, WEBREPORT_PATH)) == 2  # the stale cookie is replaced once, not per request


def test_a_refused_pasted_cookie_is_blocked_and_says_what_to_do(eastmoney):
    webreport_gate(eastmoney)
    with pytest.raises(FetchError, match="refused the pasted SENTIBOT_EASTMONEY_COOKIE: paste a fresh one") as err:
        fetch(settings(eastmoney, eastmoney_cookie=Secret("nid18=old; nid18_create_time=1")))
    assert err.value.outcome is Outcome.BLOCKED and "nid18=old" not in str(err.value)
    assert requests_to(eastmoney, WEBREPORT_PATH) == [] and len(requests_to(eastmoney, KLINE_PATH)) == 1


def test_webreport_refusing_backs_off_for_minutes(eastmoney):
    eastmoney.route("POST", WEBREPORT_PATH, text("forbidden", status=403))
    now = [1000.0]
    s = settings(eastmoney)
    family = dataclasses.replace(eastmoney_family(s), step=EastmoneySession(s, clock=lambda: now[0]))

    for expected_reports in (1, 1):
        with pytest.raises(FetchError, match=r"session step \(webreport\) refused") as err:
            fetch(s, families=[family])
        assert err.value.outcome is Outcome.BLOCKED
        assert len(requests_to(eastmoney, WEBREPORT_PATH)) == expected_reports  # the second is not asked
    assert "not asked again for 300 s" in str(err.value)
    assert requests_to(eastmoney, KLINE_PATH) == []  # no data request without a session
    now[0] += SESSION_BACKOFF_S + 1
    eastmoney.route("POST", WEBREPORT_PATH, text(webreport_body(), "application/json"))
    assert fetch(s, families=[family]) == KLINE


def test_a_pasted_cookie_is_used_instead_of_webreport(eastmoney):
    webreport_gate(eastmoney)
    s = settings(eastmoney, eastmoney_cookie=Secret(f"nid18={NID}; nid18_create_time=1733000000000"))
    assert fetch(s) == KLINE
    assert requests_to(eastmoney, WEBREPORT_PATH) == []
    assert "nid18_create_time=1733000000000" in requests_to(eastmoney, KLINE_PATH)[0]["Cookie"]


def test_a_dropped_connection_from_a_host_outside_any_family_stays_a_network_failure():
    async def go():
        def handler(request):
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

        polite = PoliteClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), min_interval_s=0.0,
                              retries=0)
        async with polite as c:
            await c.get("http://elsewhere.example/x")

    with pytest.raises(FetchError) as err:
        asyncio.run(go())
    assert err.value.outcome is Outcome.FAILED


def test_cookies_are_kept_per_host():
    with LocalSite("a") as a, LocalSite("b") as b:
        a.route("GET", "/set", (200, "text/html", "set"))
        a.route("GET", "/again", (200, "text/html", "again"))
        b.route("GET", "/page", (200, "text/html", "b"))
        s = load_settings(environ={}, env_file=None, min_interval_s=0.0, http_retries=0)

        async def go():
            async with PoliteClient.from_settings(s) as client:
                response = await client.get(f"{a.url}/set")
                # what a Set-Cookie answer leaves behind (LocalSite cannot send one)
                client._keep_cookies(httpx.Response(200, headers={"Set-Cookie": "sid=abc123; Path=/"},
                                                    request=response.request))
                await client.get(f"{a.url}/again")
                await client.get(f"{b.url}/page")

        asyncio.run(go())
        assert requests_to(a, "/again")[0]["Cookie"] == "sid=abc123"
        assert "Cookie" not in requests_to(b, "/page")[0]  # same 127.0.0.1, other port: another host's jar


def test_a_redirect_that_sets_a_cookie_is_followed_with_it(httpserver):
    """bse.cn's first C3VK shape (SOURCES.md §3): a 307 back to the same URL with Set-Cookie."""
    from werkzeug.wrappers import Response

    def handler(request):
        if "C3VK=v1" in request.headers.get("Cookie", ""):
            return Response("the page")
        return Response("", status=307, headers={"Location": request.url, "Set-Cookie": "C3VK=v1; path=/"})

    httpserver.expect_request("/news").respond_with_handler(handler)
    s = load_settings(environ={}, env_file=None, min_interval_s=0.0, http_retries=0)

    async def go():
        async with PoliteClient.from_settings(s) as client:
            response = await client.get(httpserver.url_for("/news"))
            return response.text, len(response.history)

    assert asyncio.run(go()) == ("the page", 1)


class _ChallengeStep:
    """A family step as bse.cn's will be: no cookies up front; a short JS page hands out the cookie to resend with."""

    async def open(self, client, *, refresh):
        return {}

    def challenge(self, response):
        if 'document.cookie="C3VK=' in response.text:
            value = response.text.split('C3VK=', 1)[1].split(";", 1)[0]
            return Challenge("C3VK challenge page", {"C3VK": value})
        return None


@pytest.mark.parametrize("passes", [True, False])
def test_a_challenge_page_is_answered_once_then_blocked(httpserver, passes):
    from werkzeug.wrappers import Response

    page = '<script>document.cookie="C3VK=xyz; path=/";location.reload()</script>'

    def handler(request):
        ok = passes and "C3VK=xyz" in request.headers.get("Cookie", "")
        return Response("the list" if ok else page)

    httpserver.expect_request("/list").respond_with_handler(handler)
    s = load_settings(environ={}, env_file=None, min_interval_s=0.0, http_retries=0)
    host = httpserver.url_for("/").removeprefix("http://").rstrip("/")
    family = HostFamily("bse", frozenset({host}), step=_ChallengeStep())

    async def go():
        async with PoliteClient.from_settings(s, families=[family]) as client:
            return (await client.get(httpserver.url_for("/list"))).text

    if passes:
        assert asyncio.run(go()) == "the list"
    else:
        with pytest.raises(FetchError, match="blocked: C3VK challenge page") as err:
            asyncio.run(go())
        assert err.value.outcome is Outcome.BLOCKED
    assert len(httpserver.log) == 2  # the challenge answered once, never more


def test_market_dropped_by_eastmoney_is_blocked_stores_nothing_pauses_after_3_and_recovers(eastmoney, tmp_path):
    db = open_store(tmp_path / "m.db")
    s = settings(eastmoney, user_agent="sentibot/0.1")  # the agent sentibot used to send: dropped every time
    webreport_gate(eastmoney)
    outcomes = []
    for minute in range(4):
        (result,) = asyncio.run(collect_cycle(["market"], s, db, NOW + timedelta(minutes=minute)))
        outcomes.append(result.outcome)
    assert outcomes == [Outcome.BLOCKED] * 3 + [Outcome.PAUSED]
    assert db["source_attempts"].count == 4
    assert all("connection dropped before any response" in row["detail"]
               for row in db["source_attempts"].rows_where("outcome = ?", ["blocked"]))
    assert db["bars"].count == 0 and db["universe"].count == 0
    later = NOW + timedelta(hours=2)  # past the first pause (10 min)
    (result,) = asyncio.run(collect_cycle(["market"], settings(eastmoney), db, later))
    assert result.outcome is Outcome.OK and db["bars"].count == 4
    assert db["source_health"].get("market")["consecutive_blocks"] == 0
