"""Eastmoney and Guba on loopback, behaving as ../shared/SOURCES.md §0-§2 says they answer in 2026.

Built from SOURCES.md (no live capture exists): the hosts and their checks follow the clients it cites.
- Eastmoney data hosts (push2his kline, push2 clist, emappdata rank; one LocalSite here) drop the connection
  without any response unless the request carries nid18/nid18_create_time and a browser User-Agent (akshare
  #6644, #6856; GustinLau/daily_stock_analysis patch/eastmoney_patch.py at 0b87caf5); webreport hands out nid18.
- clist serves the BSE list only for `fs=m:0 t:81 s:2048`, at most 100 rows a page, in code order for `fid=f12`
  (efinance's sort) and in market-value order otherwise, with the values moving between pages (why f12 matters).
  Codes are 920xxx, taken from the shipped old -> 920 map (sentibot/data/codes/), names included.
- kline answers `secid=0.899050` and `0.<920xxx>` with f51..f61 rows.
- emappdata answers ranks under `SZ<code>` only and `data: null` under `BJ<code>` (akshare's documented BSE
  example is SZ871245); `unranked` codes are null under both.
- Guba refuses non-browser agents by dropping the connection. Of the BSE 50 candidates, `forum` serves the
  article_list, `zsbj899050` is missing (404), `zssz899050` redirects to the Guba home page, `zs899050` is a big
  page without article_list. Stock bars are the bare codes; `missing_bars` answer 404. Each article_list holds
  a topic row and an ad among the posts, and half the posts carry the user under post_user (zcyeee/EastMoney_Crawler
  issue #5). Post rows follow the real MIT posts in ../shared/data/guba_600519_list_posts_2024-05.csv (titles,
  read and comment counts, post types, in its order), read from ../shared: the world skips without it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from sentibot import codes
from sentibot.collect.sessions import WEBREPORT_PATH
from tests.support.eastmoney_session import NID, admitted, webreport_body
from tests.support.local_sites import CAPTCHA_PAGE, LocalSite, text
from tests.support.paths import SHARED_DATA

POSTS_CSV = SHARED_DATA / "guba_600519_list_posts_2024-05.csv"
FS = "m:0 t:81 s:2048"
PER_PAGE = 20  # posts per Guba list page here (the real site shows 80; fewer keep the tests quick)
PAGES = 2  # each bar has two full pages, then an empty one
# How a refusing host answers, per shape (SOURCES.md §1-§2 and the captcha/shell pages blocked clients get).
SHELL = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>股吧</title>"
         + "".join(f'<link rel="stylesheet" href="//gbfek.dfcfw.com/css/{i:03d}.css">' for i in range(46))
         + "</head><body></body></html>")
CHALLENGE = ('<html><head><script>document.cookie="acw_sc__v2=5f1e2d3c4b5a69788796a5b4c3d2e1f0; path=/";'
             "location.reload();</script></head><body></body></html>")
REFUSALS = {"403": text("<html><body>403 Forbidden</body></html>", status=403), "challenge": text(CHALLENGE),
            "shell": text(SHELL), "captcha": text(CAPTCHA_PAGE)}
SHAPES = ("403", "challenge", "dropped", "shell", "captcha")


def template_posts() -> list[dict]:
    """The real posts' list layout (MIT, 6YoungHome/EastMoneyCrawler at 55796f0); skips the test without ../shared."""
    if not POSTS_CSV.exists():
        pytest.skip(f"{POSTS_CSV} is absent: the Guba rows are built from it")
    with POSTS_CSV.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def browser(headers) -> bool:
    return headers.get("User-Agent", "").startswith("Mozilla/5.0")


@dataclass
class Eastmoney2026:
    """Two loopback hosts (Eastmoney data + webreport, Guba) and the settings that point sentibot at them."""

    now: datetime
    stocks: int = 120  # listed BSE stocks: two clist pages
    forum: str = "899050"
    missing_bars: tuple[str, ...] = ()
    unranked: tuple[str, ...] = ()
    refusing: dict[str, str] = field(default_factory=dict)  # "guba" or "rank" -> one of SHAPES
    eastmoney: LocalSite = field(default_factory=lambda: LocalSite("eastmoney"))
    guba: LocalSite = field(default_factory=lambda: LocalSite("guba"))

    def __post_init__(self) -> None:
        pairs = sorted(codes.code_map().names.items())[: self.stocks]
        # market value falls with the position in this list, so "the 50 largest" is a known set
        self.listed = [{"f12": code, "f14": name, "f20": 9e9 - i * 1e7, "f6": 1e8 + i * 1e5}
                       for i, (code, name) in enumerate(pairs)]
        self.template = template_posts()

    @property
    def largest(self) -> list[str]:
        return [row["f12"] for row in self.listed[:50]]

    def __enter__(self) -> Eastmoney2026:
        self.eastmoney.__enter__()
        self.guba.__enter__()
        em = self.eastmoney
        em.admit = self.admit_eastmoney
        em.route("POST", WEBREPORT_PATH, text(webreport_body(NID), "application/json"))
        em.route("GET", "/api/qt/stock/kline/get", self.kline)
        em.route("GET", "/api/qt/clist/get", self.clist)
        em.route("POST", "/stockrank/getHisList", self.rank)
        self.guba.admit = lambda h: browser(h) and self.refusing.get("guba") != "dropped"
        self.guba.route_prefix("GET", "/list,", self.list_page)
        self.guba.route("GET", "/", text("<html><title>股吧首页</title>" + "<p>x</p>" * 2000 + "</html>"))
        return self

    def __exit__(self, *exc) -> None:
        self.guba.__exit__(*exc)
        self.eastmoney.__exit__(*exc)

    def admit_eastmoney(self, headers) -> bool:
        if "st_nvi=" in headers.get("Cookie", ""):  # webreport: a browser agent is enough
            return browser(headers)
        return admitted(headers) and self.refusing.get("rank") != "dropped"

    def env(self) -> dict[str, str]:
        """SENTIBOT_* settings for the CLI: every source URL on loopback, no waits, no retries."""
        return {"SENTIBOT_EASTMONEY_URL": self.eastmoney.url, "SENTIBOT_EASTMONEY_LIST_URL": self.eastmoney.url,
                "SENTIBOT_EASTMONEY_SESSION_URL": self.eastmoney.url, "SENTIBOT_EM_RANK_URL": self.eastmoney.url,
                "SENTIBOT_GUBA_URL": self.guba.url, "SENTIBOT_MIN_INTERVAL_S": "0", "SENTIBOT_HTTP_RETRIES": "0"}

    def kline(self, params: dict) -> tuple:
        market, _, code = params.get("secid", "").partition(".")
        if market != "0" or not (code == "899050" or any(r["f12"] == code for r in self.listed)):
            return text(json.dumps({"rc": 0, "data": None}), "application/json")
        end = self.now.date()
        days = [end - timedelta(days=d) for d in range(6, -1, -1) if (end - timedelta(days=d)).weekday() < 5]
        rows = [f"{d.isoformat()},10.0,10.{i},10.9,9.8,{1000 + i},{1e7 + i:.2f},1.2,0.5,0.05,{0.3 + i / 100:.2f}"
                for i, d in enumerate(days)]
        data = {"code": code, "market": 0, "name": code, "dktotal": len(rows), "klines": rows}
        return text(json.dumps({"rc": 0, "data": data}, ensure_ascii=False), "application/json")

    def clist(self, params: dict) -> tuple:
        if params.get("fs") != FS:
            return text(json.dumps({"rc": 0, "data": None}), "application/json")
        size, page = min(int(params.get("pz", 20)), 100), int(params.get("pn", 1))
        rows = list(self.listed)
        if params.get("fid") != "f12":  # by market value, and values move while a client pages
            rows = sorted(rows, key=lambda r: -r["f20"])
            rows = rows[page:] + rows[:page]
        diff = rows[(page - 1) * size: page * size]
        data = {"total": len(rows), "diff": diff}
        return text(json.dumps({"rc": 0, "data": data}, ensure_ascii=False), "application/json")

    def rank(self, params: dict) -> tuple:
        if self.refusing.get("rank") in REFUSALS:
            return REFUSALS[self.refusing["rank"]]
        body = json.loads(params.get("_json", "{}"))
        wanted = str(body.get("srcSecurityCode", ""))
        prefix, code = wanted[:2], wanted[2:]
        if prefix != "SZ" or code in self.unranked or body.get("yearType") != "5":
            return text(json.dumps({"status": 0, "data": None}), "application/json")
        days = [(self.now.date() - timedelta(days=d)).isoformat() for d in range(9, -1, -1)]
        rows = [{"calcTime": day, "rank": 100 + (int(code) + i) % 900} for i, day in enumerate(days)]
        return text(json.dumps({"status": 0, "data": rows}), "application/json")

    def posts(self, bar: str, page: int) -> list[dict]:
        """PER_PAGE posts of a bar's page, newest first, in the layout of the real rows."""
        out = []
        base = (int(bar) if bar.isdigit() else 899050) * 1000
        for i in range(PER_PAGE):
            n = (page - 1) * PER_PAGE + i
            row = self.template[(n + base) % len(self.template)]
            when = self.now - timedelta(minutes=5 * n + 1)
            item = {"post_id": base + n, "post_title": row["post_title"], "stockbar_code": bar,
                    "post_click_count": int(row["post_click_count"]),
                    "post_comment_count": int(row["post_comment_count"]), "post_forward_count": 0,
                    "post_type": 0,  # the real rows' 20 (财富号) all sit in the cfhpl bar: here every post is a post
                    "post_top_status": 0, "post_publish_time": when.strftime("%Y-%m-%d %H:%M:%S")}
            user = {"user_id": str(7100000000000000 + n), "user_nickname": f"股友{n:04d}"}
            item.update(user if n % 2 else {"post_user": user})
            out.append(item)
        return out

    def list_page(self, path: str, params: dict) -> tuple:
        if self.refusing.get("guba") in REFUSALS:
            return REFUSALS[self.refusing["guba"]]
        try:
            bar, page_part = path.removeprefix("/list,").removesuffix(".html").split(",")
            page = int(page_part.removeprefix("f_"))
        except ValueError:
            return text("not found", "text/plain", 404)
        if bar == "zssz899050":
            return 302, "text/html", "", {"Location": "/"}
        if bar == "zs899050":
            return text("<html><title>北证50(899050)_行情</title>" + "<div>quote</div>" * 3000 + "</html>")
        known = bar == self.forum or bar in self.largest
        if not known or bar in self.missing_bars:
            return text("<html>404</html>", status=404)
        items: list[dict] = self.posts(bar, page) if page <= PAGES else []
        if items:  # a topic row and an ad sit among the posts (other shapes, no post_publish_time)
            items.insert(3, {"topic_id": 90000 + page, "topic_name": "北证50怎么看", "post_type": 51})
            items.insert(7, {"ad_id": "ad-1", "ad_title": "开户送好礼", "post_id": 1})
        data = {"re": items, "count": PAGES * PER_PAGE, "bar_code": bar, "rc": 1, "me": "操作成功"}
        blob = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text(f"<html><head><title>{bar}吧</title></head><body><script>var article_list={blob};"
                    "</script>" + "<div>chrome</div>" * 400 + "</body></html>")
