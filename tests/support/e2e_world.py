"""The local world `sentibot run` lives in during the end-to-end test and the benchmark.

Local sites stand in for every source (recorded or constructed responses from tests/fixtures, changeable over time),
a calm history is preloaded into the database through the store (and the Guba collector's own derivation), and the
service runs as a real subprocess whose log lines are collected.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path

from sentibot.collect.sessions import WEBREPORT_PATH
from tests.support.eastmoney_session import webreport_body
from tests.support.local_sites import LocalSite, text

from sentibot.store import db as store
from sentibot.models import BSE50_CODE, Bar, Observation, Post
from sentibot.collect.guba.collector import derive_observations
from sentibot.timeutil import SHANGHAI
from tests.support.paths import FIXTURES

FIXTURES = FIXTURES
BAR = "zs899050"
NOTICE_URL_PATH = "/news/c/2023-11-27/520001.html"
CALM_DAYS = 120
CALM_POSTS = 10
CALM_AMOUNT = 1.0e10  # BSE 50 turnover, yuan
CALM_CLOSE = 1000.0


def _guba_builder():
    spec = importlib.util.spec_from_file_location("guba_fixture_build", FIXTURES / "guba" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GUBA = _guba_builder()


def past_weekdays(today: date, n: int) -> list[date]:
    """The n weekdays before today, oldest first (the calm history's trading days)."""
    days, day = [], today
    while len(days) < n:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days[::-1]


def _wiggle(i: int, size: float) -> float:
    return 1.0 + size * math.sin(i * 1.7)  # small deterministic noise: calm, never a surge


def preload_calm_history(db_path: Path, today: date) -> None:
    """CALM_DAYS trading days of calm market, turnover and forum activity ending yesterday, via the store."""
    db = store.open_store(db_path)
    stamp = datetime.now(SHANGHAI).isoformat(timespec="seconds")
    days = past_weekdays(today, CALM_DAYS)
    store.upsert_bars(db, [Bar(code=BSE50_CODE, date=d.isoformat(), close=round(CALM_CLOSE * _wiggle(i, 0.01), 2),
                               amount=CALM_AMOUNT * _wiggle(i, 0.05), origin="imported")
                           for i, d in enumerate(days)], stamp)
    store.upsert_observations(db, [Observation("market", "北交所", "amount", d.isoformat(),
                                               calm_clist_total() * _wiggle(i, 0.05), "imported")
                                   for i, d in enumerate(days)], stamp)
    posts = []
    for i, d in enumerate(days):
        for j in range(CALM_POSTS):
            ts = datetime(d.year, d.month, d.day, 9 + j % 6, 10 + j, tzinfo=SHANGHAI)
            posts.append(Post(source="guba", post_id=f"calm{i:03d}{j:02d}", bar=BAR, title=GUBA.TITLES[(i + j) % 15],
                              published_at=ts.isoformat(timespec="seconds"), reads=100 + j, comments=1 + j % 3,
                              author_id=f"u{(i * 7 + j) % 40}", kind="normal"))
    store.upsert_posts(db, posts, stamp)
    store.upsert_observations(db, derive_observations(db, {d.isoformat() for d in days}), stamp)
    db.close()


def calm_clist_total() -> float:
    return sum(row["f6"] for row in _clist_rows(1.0) if isinstance(row["f6"], float))


def _clist_rows(scale: float) -> list[dict]:
    rows = json.loads((FIXTURES / "eastmoney" / "constructed_clist_bse.json").read_text())["data"]["diff"]
    return [dict(r, f6=r["f6"] * scale if isinstance(r["f6"], float) else r["f6"]) for r in rows]


def clist_body(scale: float) -> str:
    data = json.loads((FIXTURES / "eastmoney" / "constructed_clist_bse.json").read_text())
    data["data"]["diff"] = _clist_rows(scale)
    return json.dumps(data, ensure_ascii=False)


def kline_body(today: date, close: float, amount: float) -> str:
    """The recorded kline shape (8 fields) with a bar for yesterday's calm close and today's values."""
    data = json.loads((FIXTURES / "eastmoney" / "constructed_kline_bse50_8field.json").read_text())
    yesterday = past_weekdays(today, 1)[0]
    data["data"]["klines"] = [f"{yesterday},1000.00,1000.00,1005.00,995.00,6342101,{CALM_AMOUNT:.2f},4.10",
                              f"{today},1000.00,{close:.2f},{close:.2f},999.00,9342101,{amount:.2f},6.10"]
    data["data"]["dktotal"] = 2
    return json.dumps(data, ensure_ascii=False)


BULLISH = ("北证50今天又大涨了", "满仓干，不解释", "看好后市，继续持有", "北交所是下一个风口", "涨停板排队中",
           "量能放大，突破在即")


def surge_page(now: datetime, n: int = 60, first_id: int = 1400000000) -> str:
    """A constructed list page (shape from shared/samples/guba/FORMAT.md): n bullish posts of today, newest first."""
    newest = now.astimezone(SHANGHAI).replace(tzinfo=None) - timedelta(seconds=30)
    seconds_today = int((newest - newest.replace(hour=0, minute=0, second=0)).total_seconds())
    step = max(1, min(420, seconds_today // n))  # every post today, even just after midnight
    items = GUBA.posts(BAR, first_id, newest, n=n)
    for i, item in enumerate(items):
        stamp = (newest - timedelta(seconds=step * i)).strftime("%Y-%m-%d %H:%M:%S")
        item.update(post_title=BULLISH[i % len(BULLISH)], post_publish_time=stamp, post_last_time=stamp,
                    post_display_time=stamp)
    return GUBA.list_page(BAR, items, chrome=False)


def notice_list(published: datetime | None) -> str:
    """bse.cn listse.do answer: the real 2023-11-27 statement's title and URL (when published) plus an old item."""
    real = (FIXTURES / "bse" / "notice_2023-11-27_trading_supervision.txt").read_text(encoding="utf-8")
    title = next(line.split(":", 1)[1].strip() for line in real.splitlines() if line.startswith("title:"))
    body = (FIXTURES / "bse" / "constructed_listse_1289.jsonp").read_text(encoding="utf-8").strip()
    payload = json.loads(body[len("null("):-1])
    content = payload[0]["data"]["content"]
    content[0].update(title=title)
    if published is None:
        content.pop(0)
    else:
        content[0]["publishDate"] = published.strftime("%Y-%m-%d %H:%M:%S")
    payload[0]["data"]["numberOfElements"] = payload[0]["data"]["totalElements"] = len(content)
    return "null(" + json.dumps(payload, ensure_ascii=False) + ")"


def notice_page() -> str:
    """The notice page template with the real statement's text as its body."""
    real = (FIXTURES / "bse" / "notice_2023-11-27_trading_supervision.txt").read_text(encoding="utf-8")
    paragraphs = [line for line in real.splitlines()[6:] if line.strip() and not line.startswith("#")]
    page = (FIXTURES / "bse" / "constructed_notice_page.html").read_text(encoding="utf-8")
    return page.replace("{NOTICE_BODY}", "".join(f"<p>{p}</p>" for p in paragraphs))


class World:
    """Every local site, started; .env() gives the service's environment pointing at them."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.guba = self.stack.enter_context(LocalSite("guba"))
        self.kline = self.stack.enter_context(LocalSite("eastmoney"))
        self.clist = self.stack.enter_context(LocalSite("eastmoney_list"))
        self.bse = self.stack.enter_context(LocalSite("bse"))
        self.csrc = self.stack.enter_context(LocalSite("csrc"))
        self.elsewhere = self.stack.enter_context(LocalSite("unserved"))  # em_rank etc.: always 404
        disclosures = (FIXTURES / "bse" / "disclosure_list_2021-07-19.jsonp").read_text(encoding="utf-8")
        self.bse.route("GET", "/disclosure/announcement.html", text("<html><body>公告</body></html>"))  # warm-up
        self.bse.route("POST", "/disclosureInfoController/companyAnnouncement.do",
                       text(disclosures.replace('"totalPages":833', '"totalPages":1'), "text/plain"))
        self.bse.route("GET", NOTICE_URL_PATH, text(notice_page()))
        self.bse.route("POST", "/info/listse.do", text(notice_list(None), "text/plain"))
        csrc_list = (FIXTURES / "csrc" / "constructed_js_list.html").read_text(encoding="utf-8")
        self.csrc.route("GET", "*", text(csrc_list))  # list pages filled in by JavaScript; the JSON API has nothing new
        self.csrc.route("GET", "/searchList/a1a078ee0bc54721ab6b148884c784a8",
                        text(json.dumps({"data": {"results": [], "total": 0}}), "application/json"))

    def serve_market(self, today: date, close: float, amount: float, clist_scale: float) -> None:
        self.kline.route("GET", "/api/qt/stock/kline/get", text(kline_body(today, close, amount), "application/json"))
        self.clist.route("GET", "/api/qt/clist/get", text(clist_body(clist_scale), "application/json"))
        self.kline.route("POST", WEBREPORT_PATH, text(webreport_body(), "application/json"))

    def serve_guba(self, page: str) -> None:
        self.guba.route("GET", f"/list,{BAR},f_1.html", text(page))

    def serve_notice(self, published: datetime | None) -> None:
        self.bse.route("POST", "/info/listse.do", text(notice_list(published), "text/plain"))

    def env(self, db: Path, telegram_url: str, token: str, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIBOT_")}
        env.update({
            "SENTIBOT_DB": str(db), "SENTIBOT_TELEGRAM_TOKEN": token, "SENTIBOT_TELEGRAM_API_URL": telegram_url,
            "SENTIBOT_ADMIN_IDS": "9001",
            "SENTIBOT_GUBA_URL": self.guba.url, "SENTIBOT_GUBA_API_URL": self.elsewhere.url,
            "SENTIBOT_EASTMONEY_URL": self.kline.url, "SENTIBOT_EASTMONEY_LIST_URL": self.clist.url,
            "SENTIBOT_EASTMONEY_SESSION_URL": self.kline.url,
            "SENTIBOT_BSE_URL": self.bse.url, "SENTIBOT_CSRC_URL": self.csrc.url,
            "SENTIBOT_CNINFO_URL": self.elsewhere.url,
            "SENTIBOT_EM_RANK_URL": self.elsewhere.url, "SENTIBOT_BAIDU_INDEX_URL": self.elsewhere.url,
            "SENTIBOT_WECHAT_INDEX_URL": self.elsewhere.url,
            "SENTIBOT_GUBA_BARS": BAR, "SENTIBOT_GUBA_SCOPE": "bars", "SENTIBOT_MARKET_SCOPE": "index",
            "SENTIBOT_GUBA_MAX_PAGES": "1", "SENTIBOT_BSE_NODES": "1289",
            "SENTIBOT_MIN_INTERVAL_S": "0", "SENTIBOT_HTTP_RETRIES": "0", "SENTIBOT_HTTP_TIMEOUT_S": "5",
            "SENTIBOT_HOST_CONCURRENCY": "4",
            "SENTIBOT_GUBA_INTERVAL_S": "1", "SENTIBOT_MARKET_INTERVAL_S": "1", "SENTIBOT_OFF_HOURS_INTERVAL_S": "1",
            "SENTIBOT_NOTICES_INTERVAL_S": "1", "SENTIBOT_SEARCH_INTERVAL_S": "3600",
            "SENTIBOT_SENDER_INTERVAL_S": "0.1", "SENTIBOT_POLLING_WATCHDOG_S": "30",
            "SENTIBOT_SOURCE_DOWN_AFTER_S": "2", "SENTIBOT_BLOCK_PAUSE_S": "1",
            "SENTIBOT_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
        })
        env.update(extra)
        return env

    def close(self) -> None:
        self.stack.close()


class Service:
    """`sentibot run` as a subprocess; its log lines are collected as they come."""

    def __init__(self, env: dict, cwd: Path) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "sentibot", "run"], env=env, cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, needle: str, timeout: float = 20.0, start: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if needle in line:
                    return line
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no log line with {needle!r} within {timeout} s; last lines:\n" +
                             "\n".join(self.lines[-30:]))

    def terminate(self, timeout: float = 15.0) -> tuple[int, float]:
        """SIGTERM; returns (exit status, seconds until exit)."""
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code, time.monotonic() - start

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
