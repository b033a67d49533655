"""Loopback stand-ins for bse.cn, cninfo, CSRC, Baidu Index and WeChat Index that behave as ../shared/SOURCES.md
§0 and §3-§6 describe the real sites in 2026 (WAF, C3VK challenges, callbacks, JS-only lists, Cipher-Text, ...).

Each site is a threaded HTTP server on 127.0.0.1; its behaviour is plain attributes a test changes. Bodies are built
from the constructed fixtures in tests/fixtures (each folder's FORMAT.md says where every one comes from).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from sentibot.collect.search.cipher import read_cipher_text, trend_url
from tests.support.local_sites import QuietHandler
from tests.support.paths import FIXTURES


@dataclass
class Request:
    """What a site saw: method, path, query and form (lists), JSON body, headers, cookies."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    json: object
    headers: dict[str, str]
    cookies: dict[str, str]

    def arg(self, name: str, default: str = "") -> str:
        values = self.form.get(name) or self.query.get(name)
        return values[-1] if values else default


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(payload: object) -> Reply:
    return Reply(body=json.dumps(payload, ensure_ascii=False), content_type="application/json; charset=utf-8")


class Site:
    """A loopback host; `handle(request)` is the site's behaviour. Use as a context manager."""

    def __init__(self) -> None:
        self.log: list[Request] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hits(self, path: str) -> int:
        return sum(r.path == path for r in self.log)

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def __enter__(self):
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                parts = urlsplit(self.path)
                is_json = "json" in (self.headers.get("Content-Type") or "")
                cookies = dict(item.strip().split("=", 1) for item in (self.headers.get("Cookie") or "").split(";")
                               if "=" in item)
                request = Request(method, parts.path, parse_qs(parts.query), {} if is_json else parse_qs(raw),
                                  json.loads(raw) if is_json and raw else None,
                                  {k.lower(): v for k, v in self.headers.items()}, cookies)
                site.log.append(request)
                reply = site.handle(request)
                data = reply.body.encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def real_notice(name: str) -> tuple[str, str, str]:
    """(title, published_at, body) of a real notice file in tests/fixtures/bse (provenance lines dropped)."""
    lines = (FIXTURES / "bse" / name).read_text(encoding="utf-8").splitlines()
    head = dict(line.split(": ", 1) for line in lines if line and not line.startswith("#") and ": " in line[:14])
    body = [line for line in lines if line and not line.startswith("#") and ": " not in line[:14]]
    return head["title"], head["published_at"], "\n".join(body)


def _fixture(folder: str, name: str) -> str:
    return (FIXTURES / folder / name).read_text(encoding="utf-8")


# --- bse.cn ---------------------------------------------------------------------------------------------------

C3VK = "5f3a9c01d2e7"
SUPERVISION_NODE = "2760"  # the fake's 监管动态 node id (the real one is read from the real page by the collector)


class BseSite(Site):
    """bse.cn: WAF 403 for non-browser agents; C3VK challenge ('307', 'js', None, or one that persists: 'persist'
    for the JavaScript form, 'loop' for the 307 form); JSONP lists."""

    def __init__(self, challenge: str | None = "307") -> None:
        super().__init__()
        self.challenge = challenge
        self.news: dict[str, list[dict]] = {"1289": [], SUPERVISION_NODE: []}  # node -> items (with `text`)
        self.pages: dict[str, str] = {}  # path -> article HTML
        self.disclosures: list[dict] = []
        self.disclosures_refused = False  # True: companyAnnouncement.do answers 403 (cninfo takes over)
        self.page_size = 2  # disclosure rows per page, so totalPages > 1

    def _gate(self, request: Request) -> Reply | None:
        if not request.headers.get("user-agent", "").startswith("Mozilla/5.0"):
            return Reply(403, "<html><body>403 Forbidden</body></html>")  # "httpx 缺省 UA 被 WAF 403"
        if self.challenge is None or (request.cookies.get("C3VK") == C3VK and self.challenge not in ("persist", "loop")):
            return None
        if self.challenge == "js" or self.challenge == "persist":
            return Reply(body=f'<html><script>document.cookie="C3VK={C3VK}; path=/; max-age=300;";'
                              'location.reload();</script></html>')
        return Reply(307, "", headers={"Location": request.path, "Set-Cookie": f"C3VK={C3VK}; Path=/"})

    def handle(self, request: Request) -> Reply:
        refused = self._gate(request)
        if refused:
            return refused
        path = request.path
        if path in ("/news/important_news.html", "/disclosure/announcement.html", "/disclosure/supervision.html"):
            node = {"/news/important_news.html": "1289", "/disclosure/supervision.html": SUPERVISION_NODE}.get(path, "")
            headers = {"Set-Cookie": "JSESSIONID=warm; Path=/"} if "announcement" in path else {}
            return Reply(body=_fixture("bse", "constructed_column_page.html").replace("{NODE}", node), headers=headers)
        if path == "/info/listse.do":
            return self._listse(request)
        if path == "/disclosureInfoController/companyAnnouncement.do":
            return self._disclosures(request)
        if path == "/disclosureInfoController/infoResult.do":
            return Reply(302, "", headers={"Location": path})  # the old NEEQ controller: a redirect loop
        if path in self.pages:
            return Reply(body=self.pages[path])
        return Reply(404, "not found")

    def _listse(self, request: Request) -> Reply:
        fields = request.form.get("needFields[]") or []
        items = self.news.get(request.arg("nodeIds[]"), [])
        # without needFields[] the list carries no text (SOURCES.md §7 question 4: the safe assumption)
        rows = [{k: v for k, v in item.items() if k in fields} if fields else
                {k: v for k, v in item.items() if k != "text"} for item in items]
        body = {"data": {"content": rows, "totalPages": 1, "lastPage": True}, "status": 0}
        return Reply(body=f"{request.arg('callback', 'null')}([{json.dumps(body, ensure_ascii=False)}])")

    def _disclosures(self, request: Request) -> Reply:
        if self.disclosures_refused:
            return Reply(403, "forbidden")
        if request.cookies.get("JSESSIONID") != "warm":
            return Reply(body="null([])")  # no warm-up: the controller answers nothing usable
        needed = ("disclosureType[]", "xxfcbj[]", "needFields[]", "page")
        if not all(request.form.get(k) for k in needed) or not request.query.get("callback"):
            return Reply(body="null([])")
        keyword, page = request.arg("keyword"), int(request.arg("page"))
        rows = [d for d in self.disclosures if keyword in d["disclosureTitle"]]
        pages = max(1, -(-len(rows) // self.page_size))
        chunk = rows[page * self.page_size:(page + 1) * self.page_size]
        body = {"listInfo": {"content": chunk, "totalPages": pages, "totalElements": len(rows)}, "status": 0}
        return Reply(body=f"{request.arg('callback')}([{json.dumps(body, ensure_ascii=False)}])")


class CninfoSite(Site):
    """cninfo hisAnnouncement/query: title search over all markets (BSE rows filtered by the client)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []

    def handle(self, request: Request) -> Reply:
        if request.path != "/new/hisAnnouncement/query" or request.method != "POST":
            return Reply(404, "not found")
        key = request.arg("searchkey")
        rows = [dict(r, announcementTitle=r["announcementTitle"].replace(key, f"<em>{key}</em>"))
                for r in self.rows if key and key in r["announcementTitle"]]
        return json_reply({"announcements": rows or None, "totalAnnouncement": len(rows), "hasMore": False})


# --- CSRC -----------------------------------------------------------------------------------------------------

CSRC_CHANNEL = "a1a078ee0bc54721ab6b148884c784a8"  # 要闻 (SOURCES.md §4)


class CsrcSite(Site):
    """csrc.gov.cn: list pages filled in by JavaScript, the searchList JSON API, article pages with a late PubDate."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[dict] = []  # url given as a path; served protocol-relative
        self.pages: dict[str, str] = {}
        self.total: int | None = None  # None = len(results)

    def handle(self, request: Request) -> Reply:
        if request.path == "/csrc/c100028/common_list.shtml":
            return Reply(body=_fixture("csrc", "constructed_js_list.html"))
        if request.path == f"/searchList/{CSRC_CHANNEL}":
            if request.arg("_isJson") != "true":
                return Reply(body="<html>HTML template</html>")
            host = self.url.split("//", 1)[1]
            results = [dict(r, url=f"//{host}{r['url']}") for r in self.results]
            total = len(results) if self.total is None else self.total
            return json_reply({"data": {"results": results, "total": total}, "success": True})
        if request.path in self.pages:
            return Reply(body=self.pages[request.path])
        return Reply(404, "not found")


# --- Baidu Index ----------------------------------------------------------------------------------------------

BAIDU_KEY = "qW3eR7tYu9P0123456789,"
_ENCODE = dict(zip(BAIDU_KEY[11:], BAIDU_KEY[:11]))


class BaiduSite(Site):
    """Baidu Index: checks the cookie and the Cipher-Text (agent, first keyword, time); 10002 for unindexed words."""

    def __init__(self, cookie: str, now: datetime) -> None:
        super().__init__()
        self.cookie, self.now = cookie, now
        self.unindexed: set[str] = set()
        self.lag_days = 2  # values stop this many days before the asked end date

    def _cipher_ok(self, request: Request, first_word: str) -> bool:
        try:
            payload = read_cipher_text(request.headers.get("cipher-text", ""))
        except (ValueError, KeyError):
            return False
        drift = abs(payload["clientTs"] / 1000 - self.now.timestamp())
        return (payload["ua"] == request.headers.get("user-agent") and drift < 300
                and unquote(payload["url"]) == unquote(trend_url(first_word)))

    def handle(self, request: Request) -> Reply:
        if request.cookies.get("BDUSS") != self.cookie.split("=", 1)[1]:
            return json_reply({"status": 10000, "message": "not login"})
        if request.path == "/Interface/ptbk":
            return json_reply({"status": 0, "data": BAIDU_KEY})
        if request.path != "/api/SearchApi/index":
            return Reply(404, "not found")
        words = [group[0]["name"] for group in json.loads(request.arg("word"))]
        if not self._cipher_ok(request, words[0]):
            return json_reply({"status": 10018, "message": "疑似存在异常访问行为"})
        if set(words) & self.unindexed:
            return json_reply({"status": 10002, "message": "bad request"})
        first, last = (date.fromisoformat(request.arg(k)) for k in ("startDate", "endDate"))
        days = [first + timedelta(days=i) for i in range((last - first).days + 1 - self.lag_days)]
        indexes = []
        for n, word in enumerate(words):
            plain = ",".join(str(1000 * (n + 1) + d.day) for d in days)
            part = {"startDate": first.isoformat(), "endDate": last.isoformat(),
                    "data": "".join(_ENCODE[c] for c in plain)}
            indexes.append({"word": [{"name": word, "wordType": 1}], "type": "day", "all": part, "pc": part,
                            "wise": part})
        return json_reply({"status": 0, "data": {"uniqid": "u2026", "userIndexes": indexes}})


# --- WeChat Index ---------------------------------------------------------------------------------------------

class WechatSite(Site):
    """WeChat Index: POST wxaweb/wxindex GetDefaultIndex; wrong credentials answer code -10000."""

    def __init__(self, openid: str, search_key: str) -> None:
        super().__init__()
        self.openid, self.search_key = openid, search_key
        self.series = json.loads(_fixture("wechat_index", "wxindex_series_example.json"))

    def handle(self, request: Request) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        if request.path != "/cgi-bin/wxaweb/wxindex" or request.method != "POST":
            return Reply(404, "not found")
        if (body.get("openid"), body.get("search_key")) != (self.openid, self.search_key):
            return json_reply({"code": -10000, "msg": "auth failed"})
        if body.get("cgi_name") != "GetDefaultIndex":
            return json_reply({"code": -1, "msg": "process failed."})
        end = datetime.strptime(body["end_ymd"], "%Y%m%d").date()
        values = [int(v) for v in self.series["wxindex"].split(",")]
        resp = []
        for query in body.get("query", []):
            points = [{"time": int((end - timedelta(days=len(values) - 1 - i)).strftime("%Y%m%d")), "score": v}
                      for i, v in enumerate(values)]
            resp.append({"query": query, "indexes": [{"channel": "total", "time_indexes": points}]})
        return json_reply({"code": 0, "content": {"resp_list": resp}})
