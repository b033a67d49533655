"""Local stand-ins for the remote sources: threaded HTTP servers on 127.0.0.1 whose answers a test changes over time.

Each LocalSite serves one source host. Routes map (method, path) to a function of the parsed query/form that returns
(status, content type, body); a site switched to `captcha` answers every request with a captcha page, as a blocked
client sees it. `admit`, when set, sees each request's headers first: False closes the connection without any
response (Eastmoney's refusal, SOURCES.md §1). `seen` keeps every request's (method, path, headers), `posted`
every POST's (path, raw body). A JSON POST body reaches its route as params["_json"] (the raw text); `route_prefix`
serves every path under a prefix with a function of (path, params); an answer may carry a fourth element, a dict of
extra headers (a redirect's Location).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Mapping
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, str, bytes | str]
Route = Callable[[dict], Answer]
CAPTCHA_PAGE = ("<!DOCTYPE html><html><head><title>安全验证</title></head><body><div id=\"em_captcha_modal\">"
                "请完成滑动验证 slider-captcha</div><script src=\"/captcha.js\"></script></body></html>")


def text(body: str, content_type: str = "text/html; charset=utf-8", status: int = 200) -> Answer:
    return status, content_type, body


class QuietHandler(BaseHTTPRequestHandler):
    """The handler base of every local site: keep-alive HTTP/1.1, no Nagle delay, no log lines on stderr."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK add ~40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass

class LocalSite:
    """One local source host; use as a context manager."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: dict[tuple[str, str], Route] = {}
        self.prefixes: list[tuple[str, str, Callable[[str, dict], Answer]]] = []
        self.captcha = False
        self.hits: dict[str, int] = {}
        self.admit: Callable[[Mapping[str, str]], bool] | None = None
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.posted: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def route(self, method: str, path: str, answer: Route | Answer) -> None:
        """Serve answer (a fixed Answer or a function of the query/form dict) for method + path."""
        self.routes[(method, path)] = answer if callable(answer) else (lambda params, a=answer: a)

    def route_prefix(self, method: str, prefix: str, answer: Callable[[str, dict], Answer]) -> None:
        """Serve answer(path, params) for every path starting with prefix that has no exact route."""
        self.prefixes.append((method, prefix, answer))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LocalSite:
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self._answer("GET", {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                with site._lock:
                    site.posted.append((urlsplit(self.path).path, body))
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    self._answer("POST", {"_json": [body]})
                else:
                    self._answer("POST", parse_qs(body))

            def _answer(self, method: str, form: dict) -> None:
                parts = urlsplit(self.path)
                headers = dict(self.headers.items())
                with site._lock:
                    site.seen.append((method, parts.path, headers))
                if site.admit is not None and not site.admit(headers):
                    self.close_connection = True  # no status line, no body: the client sees a dropped connection
                    return
                params = {k: v[-1] for k, v in {**parse_qs(parts.query), **form}.items()}
                status, ctype, body, *extra = site.answer(method, parts.path, params)
                data = body.encode("utf-8") if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.request_queue_size = 256
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, params: dict) -> Answer:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        if self.captcha:
            return text(CAPTCHA_PAGE)
        route = self.routes.get((method, path))
        if route is None:
            for verb, prefix, answer in self.prefixes:
                if verb == method and path.startswith(prefix):
                    return answer(path, params)
            route = self.routes.get((method, "*"))
        if route is None:
            return text(f"no route for {method} {path}", "text/plain", 404)
        return route(params)
