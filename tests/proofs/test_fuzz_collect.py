"""Malformed pages over real HTTP to the real collectors: 0 rows written from anything the parsers cannot use.

The hostile Guba pages and kline bodies of test_fuzz_parsers are served by a local server to `collect_cycle`; after
each cycle, a response judged unusable left every table's row count unchanged and the cycle's outcome says blocked
or failed (never ok/empty), and no cycle raised. COLLECT_EXAMPLES per collector (150; SENTIBOT_PROOF_SCALE scales it
from the issue's 1,000).
"""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import datetime
from http.server import ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings

from sentibot.config import Secret, load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import collect_cycle
from sentibot.collect.guba.parse import parse_list_page
from sentibot.collect.market import parse_kline
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI
from tests.proofs.test_fuzz_parsers import GUBA_INPUTS, KLINE_INPUTS

from tests.support.paths import FIXTURES
from tests.support.local_sites import QuietHandler


def scaled(full: int, ci: int) -> int:
    raw = os.environ.get("SENTIBOT_PROOF_SCALE")
    return max(1, round(full * float(raw))) if raw else ci


COLLECT_EXAMPLES = scaled(1000, 150)
NOW = datetime(2023, 11, 27, 11, 0, tzinfo=SHANGHAI)
BAR = "zs899050"
TABLES = ("posts", "observations", "bars", "universe", "notices", "alerts")
CLIST = (FIXTURES / "eastmoney" / "constructed_clist_bse.json").read_text(encoding="utf-8")
FUZZ = settings(max_examples=COLLECT_EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


class Site:
    """Serves `body` for every path (and the clist fixture for the stock list)."""

    def __init__(self) -> None:
        self.body = ""
        site = self

        class Handler(QuietHandler):
            def do_GET(self):
                data = (CLIST if self.path.startswith("/api/qt/clist") else site.body).encode("utf-8", "replace")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


def counts(db) -> dict:
    return {t: db[t].count for t in TABLES if db[t].exists()}


@pytest.mark.slow
def test_malformed_guba_pages_over_http_write_nothing(site, tmp_path):
    db = open_store(tmp_path / "g.db")
    s = load_settings(environ={}, env_file=None, guba_url=site.url, guba_scope="bars", guba_bars=(BAR,),
                      guba_max_pages=1, min_interval_s=0.0, http_retries=0)
    seen = {"n": 0, "unusable": 0}

    @FUZZ
    @given(GUBA_INPUTS)
    def run(text):
        seen["n"] += 1
        site.body = text
        usable = parse_list_page(text, BAR, NOW, site.url).verdict.usable
        before = counts(db)
        (result,) = asyncio.run(collect_cycle(["guba"], s, db, NOW))
        if not usable:
            seen["unusable"] += 1
            assert counts(db) == before, (result, text[:200])
            assert result.outcome in (Outcome.BLOCKED, Outcome.FAILED), result
        db["source_health"].delete_where()  # no pause between examples: every example is fetched

    run()
    assert seen["n"] >= COLLECT_EXAMPLES and seen["unusable"] > COLLECT_EXAMPLES // 4, seen
    print(f"\nguba: {seen['n']} hostile pages over HTTP, {seen['unusable']} unusable, 0 rows written from them")


@pytest.mark.slow
def test_malformed_kline_bodies_over_http_write_no_bars(site, tmp_path):
    db = open_store(tmp_path / "k.db")
    s = load_settings(environ={}, env_file=None, eastmoney_url=site.url, eastmoney_list_url=site.url,
                      market_scope="index", min_interval_s=0.0, http_retries=0,
                      eastmoney_cookie=Secret("nid18=fuzz; nid18_create_time=1"))  # the bodies, not the session
    seen = {"n": 0, "unusable": 0}

    @FUZZ
    @given(KLINE_INPUTS)
    def run(text):
        seen["n"] += 1
        site.body = text
        usable = parse_kline(text, "899050")[0].usable
        bars_before = db["bars"].count
        db["cursors"].delete_where()  # every example asks for the whole history again
        (result,) = asyncio.run(collect_cycle(["market"], s, db, NOW))
        if not usable:
            seen["unusable"] += 1
            assert db["bars"].count == bars_before, (result, text[:200])
            assert result.outcome in (Outcome.BLOCKED, Outcome.FAILED), result
        db["source_health"].delete_where()

    run()
    assert seen["n"] >= COLLECT_EXAMPLES and seen["unusable"] > COLLECT_EXAMPLES // 4, seen
    print(f"\nkline: {seen['n']} hostile bodies over HTTP, {seen['unusable']} unusable, 0 bars written from them")
