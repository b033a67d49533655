"""PoliteClient over real loopback HTTP: spacing, concurrency, retries, Retry-After, proxy, User-Agent, logging."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from werkzeug.wrappers import Response

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.http import FetchError, PoliteClient, classify_json, classify_page, safe_url


def settings(**overrides):
    return load_settings(environ={}, env_file=None, **overrides)


def client(**overrides) -> PoliteClient:
    options = dict(min_interval_s=0.0, retries=2, backoff_s=0.01)
    options.update(overrides)
    return PoliteClient.from_settings(settings(), **options)


def run(coro):
    return asyncio.run(coro)


def timed_handler(stamps, body="ok", status=200, headers=None):
    def handler(request):
        stamps.append(time.monotonic())
        return Response(body, status=status, headers=headers or {})
    return handler


@pytest.mark.slow
def test_spacing_between_requests_to_one_host(httpserver):
    stamps: list[float] = []
    httpserver.expect_request("/page").respond_with_handler(timed_handler(stamps))

    async def go():
        async with client(min_interval_s=0.2) as c:
            await asyncio.gather(*(c.get(httpserver.url_for("/page")) for _ in range(4)))

    run(go())
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert len(stamps) == 4
    assert min(gaps) >= 0.18, gaps


class _SlowHandler(BaseHTTPRequestHandler):
    """Sleeps 50 ms per request and records the peak number of requests in flight (a threaded server)."""

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def do_GET(self):
        with self.lock:
            self.state["now"] += 1
            self.state["peak"] = max(self.state["peak"], self.state["now"])
        time.sleep(0.05)
        with self.lock:
            self.state["now"] -= 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@contextmanager
def threaded_server(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_one_request_in_flight_per_host_by_default():
    async def go(base, concurrency):
        async with client(host_concurrency=concurrency) as c:
            await asyncio.gather(*(c.get(f"{base}/slow") for _ in range(6)))

    with threaded_server(_SlowHandler) as base:
        run(go(base, 1))
        assert _SlowHandler.state["peak"] == 1
        _SlowHandler.state["peak"] = 0
        run(go(base, 3))
        assert _SlowHandler.state["peak"] > 1  # the cap is the setting, not an accident of the server


@pytest.mark.slow
def test_retry_after_is_obeyed(httpserver):
    stamps: list[float] = []
    httpserver.expect_ordered_request("/busy").respond_with_handler(
        timed_handler(stamps, "slow down", 429, {"Retry-After": "1"}))
    httpserver.expect_ordered_request("/busy").respond_with_handler(timed_handler(stamps, "fine"))

    async def go():
        async with client() as c:
            return (await c.get(httpserver.url_for("/busy"))).text

    assert run(go()) == "fine"
    assert stamps[1] - stamps[0] >= 0.95


def test_long_retry_after_is_a_block_without_waiting(httpserver):
    httpserver.expect_request("/gone").respond_with_data("no", status=503, headers={"Retry-After": "3600"})

    async def go():
        async with client() as c:
            await c.get(httpserver.url_for("/gone"))

    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        run(go())
    assert err.value.outcome is Outcome.BLOCKED and "Retry-After 3600" in str(err.value)
    assert time.monotonic() - started < 2
    assert len(httpserver.log) == 1


def test_5xx_is_retried_then_fails(httpserver):
    httpserver.expect_request("/err").respond_with_data("oops", status=502)

    async def go():
        async with client(retries=2) as c:
            await c.get(httpserver.url_for("/err"))

    with pytest.raises(FetchError) as err:
        run(go())
    assert err.value.outcome is Outcome.FAILED and "HTTP 502 after 3 attempts" in str(err.value)
    assert len(httpserver.log) == 3


def test_5xx_then_success(httpserver):
    httpserver.expect_ordered_request("/flaky").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/flaky").respond_with_data("fine")

    async def go():
        async with client() as c:
            return (await c.get(httpserver.url_for("/flaky"))).text

    assert run(go()) == "fine"


@pytest.mark.parametrize("status,outcome", [(404, Outcome.FAILED), (400, Outcome.FAILED), (403, Outcome.BLOCKED)])
def test_4xx_is_never_retried(httpserver, status, outcome):
    httpserver.expect_request("/nope").respond_with_data("no", status=status)

    async def go():
        async with client(retries=3) as c:
            await c.get(httpserver.url_for("/nope"))

    with pytest.raises(FetchError) as err:
        run(go())
    assert err.value.outcome is outcome
    assert len(httpserver.log) == 1


def test_connect_error_is_retried_once_then_failed():
    import socket as socket_module
    with socket_module.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    calls = []

    async def sleep(seconds):
        calls.append(seconds)

    async def go():
        async with client(retries=2, sleep=sleep, backoff_s=1.0) as c:
            await c.get(f"http://127.0.0.1:{port}/x")

    with pytest.raises(FetchError) as err:
        run(go())
    assert err.value.outcome is Outcome.FAILED and "ConnectError" in str(err.value)
    # once, jittered: offline, every connect waits out its timeout, so retries=2 would triple the wait
    assert len(calls) == 1 and 0.5 <= calls[0] <= 1.5


def test_the_connect_timeout_is_short_and_reading_keeps_the_setting():
    from sentibot.collect.http import CONNECT_TIMEOUT_S, build_http_client

    built = build_http_client(load_settings({}, None, http_timeout_s=20.0))
    assert built.timeout.connect == CONNECT_TIMEOUT_S < 20.0 and built.timeout.read == 20.0
    run(built.aclose())


def test_a_browser_user_agent_is_sent_by_default_and_the_setting_overrides_it(httpserver):
    httpserver.expect_request("/ua").respond_with_data("ok")
    run(_get(client(), httpserver.url_for("/ua")))
    assert httpserver.log[0][0].headers["User-Agent"].startswith("Mozilla/5.0 (Windows NT 10.0")  # SOURCES.md §0
    run(_get(PoliteClient.from_settings(settings(user_agent="probe/1"), min_interval_s=0), httpserver.url_for("/ua")))
    assert httpserver.log[1][0].headers["User-Agent"] == "probe/1"


async def _get(c: PoliteClient, url: str) -> str:
    async with c:
        return (await c.get(url)).text


class _ProxyHandler(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):
        type(self).seen.append(self.requestline)
        body = b"via proxy"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_proxy_receives_absolute_uri_requests():
    with threaded_server(_ProxyHandler) as proxy:
        c = PoliteClient.from_settings(settings(http_proxy=proxy), min_interval_s=0)
        # The target host is never resolved or contacted: only the proxy is.
        text = run(_get(c, "http://guba.example.test/list,zs899050.html"))
    assert text == "via proxy"
    assert _ProxyHandler.seen == ["GET http://guba.example.test/list,zs899050.html HTTP/1.1"]


def test_request_urls_never_reach_the_logs(httpserver, caplog):
    httpserver.expect_request("/bot123456:SECRET/getMe").respond_with_data("ok")
    caplog.set_level(logging.DEBUG)
    run(_get(client(), httpserver.url_for("/bot123456:SECRET/getMe")))
    ours = [r.getMessage() for r in caplog.records if r.name != "werkzeug"]  # the server's own access log aside
    assert ours and not any("SECRET" in line for line in ours)
    assert logging.getLogger("httpx").level == logging.WARNING
    assert safe_url("https://api.telegram.org/bot123:ABC/sendMessage?x=1") == "https://api.telegram.org/bot***/sendMessage"


@pytest.mark.parametrize("body,outcome,detail", [
    ('{"rc":0,"data":{"x":1}}', Outcome.OK, ""),
    ('cb_123({"rc":0,"data":{"x":1}});', Outcome.OK, ""),
    ('{"rc":0,"data":null}', Outcome.BLOCKED, "data: null"),
    ('{"rc":0,"me":"系统繁忙, 请稍后再试[00003]","data":{}}', Outcome.BLOCKED, "busy message rc=0"),
    ("<html>服务暂不可用</html>", Outcome.FAILED, "not JSON"),
    ('<html><div id="em_captcha_modal"></div></html>', Outcome.BLOCKED, "captcha page"),
    ("[1, 2]", Outcome.FAILED, "JSON list"),
])
def test_classify_json(body, outcome, detail):
    verdict = classify_json(body)
    assert verdict.outcome is outcome and detail in verdict.detail


def test_classify_page():
    assert classify_page("<html>" + "x" * 9000 + "<table id=notices></table></html>", "id=notices").usable
    shell = classify_page("<html><head></head><body></body></html>", "id=notices")
    assert shell.outcome is Outcome.BLOCKED and "empty shell" in shell.detail
    changed = classify_page("<html>" + "x" * 9000 + "</html>", "id=notices")
    assert changed.outcome is Outcome.FAILED and "layout changed" in changed.detail
    with pytest.raises(FetchError, match="http://h/p: empty shell"):
        shell.raise_unusable("http://h/p")


def test_guard_catches_remote_attempts_even_when_swallowed():
    from tests import conftest

    async def go():
        async with client(retries=0) as c:
            try:
                await c.get("http://guba.example.test/list,zs899050,f_1.html")
            except FetchError:
                pass  # a collector would turn this into a FAILED result

    run(go())
    seen = list(conftest._attempts)
    conftest._attempts.clear()  # this test's own attempt was deliberate
    assert seen == ["resolve guba.example.test"]


def test_a_host_that_refuses_every_connection_fails_its_other_requests_at_once():
    now = [1000.0]
    attempts = {"down.example": 0, "up.example": 0}

    def handler(request):
        attempts[request.url.host] += 1  # fault injection: one host refuses connections, the other answers
        if request.url.host == "down.example" and now[0] < 2000:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return httpx.Response(200, text="ok")

    async def sleep(seconds):
        now[0] += seconds

    async def go():
        polite = PoliteClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), min_interval_s=0.0,
                              retries=2, backoff_s=1.0, unreachable_s=60.0, sleep=sleep, clock=lambda: now[0])
        async with polite as c:
            with pytest.raises(FetchError, match=r"http://down.example/a: ConnectError: \[Errno 111\]"):
                await c.get("http://down.example/a")
            assert attempts["down.example"] == 2  # a failed connect is retried once, whatever retries says
            with pytest.raises(FetchError, match=r"http://down.example/b: host unreachable \(ConnectError: "
                                                 r"\[Errno 111\] Connection refused\); not tried again for 6\d s"):
                await c.get("http://down.example/b")
            assert attempts["down.example"] == 2  # no new attempt, no backoff
            assert (await c.get_text("http://up.example/")) == "ok"  # other hosts are not affected
            now[0] = 2000.0  # 60 s later the host is tried again, and answers
            assert (await c.get_text("http://down.example/c")) == "ok"

    run(go())


def test_a_read_timeout_does_not_mark_the_host_unreachable():
    calls = []

    def handler(request):
        calls.append(request.url.path)
        raise httpx.ReadTimeout("slow")

    async def go():
        polite = PoliteClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), min_interval_s=0.0,
                              retries=1, backoff_s=0.0)
        async with polite as c:
            for path in ("/a", "/b"):
                with pytest.raises(FetchError, match="ReadTimeout"):
                    await c.get(f"http://slow.example{path}")

    run(go())
    assert calls == ["/a", "/a", "/b", "/b"]  # the host answered connections: each request makes its own attempts
