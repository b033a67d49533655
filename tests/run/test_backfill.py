"""Day one: `sentibot run` on a history without BSE 50 bars backfills first (resumably, once), then scores."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import pytest

from sentibot.collect.http import PoliteClient
from sentibot.config import load_settings
from sentibot.models import BSE50_CODE, Bar
from sentibot.run import backfill
from sentibot.run.jobs import Runtime
from sentibot.store import db as store
from sentibot.timeutil import SHANGHAI
from sentibot.timeutil import now as shanghai_now
from tests.support.local_sites import CAPTCHA_PAGE, text
from tests.support.market_site import MarketSite

NOW = datetime(2023, 11, 27, 16, 0, tzinfo=SHANGHAI)
DEAD = "http://127.0.0.1:9"  # nothing listens: every other source fails at once


def env_for(site_url: str, db, **extra) -> dict:
    env = {"SENTIBOT_DB": str(db), "SENTIBOT_EASTMONEY_URL": site_url, "SENTIBOT_EASTMONEY_LIST_URL": site_url,
           "SENTIBOT_EASTMONEY_SESSION_URL": site_url,
           "SENTIBOT_MARKET_SCOPE": "all", "SENTIBOT_MIN_INTERVAL_S": "0", "SENTIBOT_HTTP_RETRIES": "0",
           "SENTIBOT_HTTP_TIMEOUT_S": "5", "SENTIBOT_EM_RANK_URL": DEAD, "SENTIBOT_GUBA_URL": DEAD,
           "SENTIBOT_GUBA_API_URL": DEAD, "SENTIBOT_BSE_URL": DEAD, "SENTIBOT_CSRC_URL": DEAD,
           "SENTIBOT_BAIDU_INDEX_URL": DEAD, "SENTIBOT_WECHAT_INDEX_URL": DEAD}
    env.update(extra)
    return env


def run_backfill(settings, clock=NOW) -> bool:
    async def scenario():
        async with PoliteClient.from_settings(settings) as client:
            db = store.open_store(settings.db)
            try:
                return await backfill.run(Runtime(settings=settings, db=db, client=client, clock=lambda: clock))
            finally:
                db.close()

    return asyncio.run(scenario())


@pytest.fixture
def site():
    with MarketSite(NOW.date(), days=160, stocks=12) as s:
        s.requested = []
        kline = s.kline

        def counting(params):
            s.requested.append(params["secid"].split(".")[1])
            return kline(params)

        s.site.route("GET", "/api/qt/stock/kline/get", counting)
        yield s


def test_a_fresh_history_is_backfilled_once_then_scored(tmp_path, site, caplog):
    settings = load_settings(env_for(site.url, tmp_path / "h.db"), env_file=None)
    with caplog.at_level(logging.INFO, logger="sentibot.run.backfill"):
        assert run_backfill(settings) is True
    lines = [r.getMessage() for r in caplog.records]
    assert any(line.startswith("event=backfill_start since=2023-05-11") for line in lines)
    assert any(line.startswith("event=backfill_progress done=13 total=13") for line in lines)
    db = sqlite3.connect(tmp_path / "h.db")
    assert db.execute("select count(*) from bars where code = ?", [BSE50_CODE]).fetchone()[0] >= 130
    assert db.execute("select count(distinct code) from bars").fetchone()[0] == 13
    latest = db.execute("select date, components from scores order by date desc limit 1").fetchone()
    assert latest[0] == "2023-11-27" and '"basis": "market_only"' in latest[1] and '"breadth"' in latest[1]
    assert sorted(set(site.requested)) == sorted([BSE50_CODE, *site.codes])
    asked = len(site.requested)
    assert run_backfill(settings) is False  # never twice
    assert len(site.requested) == asked


@pytest.mark.slow
def test_an_interrupted_backfill_resumes_with_the_codes_not_done(tmp_path, site):
    settings = load_settings(env_for(site.url, tmp_path / "h.db"), env_file=None)
    served = site.site.routes[("GET", "/api/qt/stock/kline/get")]
    calls = []

    def blocked_after_five(params):
        calls.append(1)
        return served(params) if len(calls) <= 5 else text(CAPTCHA_PAGE)

    site.site.route("GET", "/api/qt/stock/kline/get", blocked_after_five)
    assert run_backfill(settings) is False
    assert backfill.state(store.open_store(settings.db))[0] == "started"
    first = list(site.requested)
    site.site.route("GET", "/api/qt/stock/kline/get", served)
    assert run_backfill(settings) is True
    again = site.requested[len(first):]
    done_before = set(first[:5])
    assert not done_before & set(again)  # the codes fetched before the block are not asked again
    assert set(first[:5]) | set(again) == {BSE50_CODE, *site.codes}
    assert backfill.state(store.open_store(settings.db)) == ("done", datetime(2023, 5, 11).date())


def test_a_history_with_bars_is_not_backfilled(tmp_path, site):
    settings = load_settings(env_for(site.url, tmp_path / "h.db"), env_file=None)
    db = store.open_store(settings.db)
    store.upsert_bars(db, [Bar(code=BSE50_CODE, date="2023-11-24", close=1000.0, amount=1e9)], NOW.isoformat())
    db.close()
    assert run_backfill(settings) is False and site.requested == []


@pytest.mark.slow
def test_sentibot_run_on_a_fresh_history_has_a_score_within_two_minutes(tmp_path):
    today = shanghai_now().date()
    with MarketSite(today, days=160, stocks=30) as site:
        db_path = tmp_path / "fresh.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIBOT_")}
        env.update(env_for(site.url, db_path, SENTIBOT_LOG_LEVEL="INFO", SENTIBOT_TELEGRAM_TOKEN="",
                           PYTHONUNBUFFERED="1"))
        log = tmp_path / "run.log"
        started = time.monotonic()
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "sentibot", "run"], cwd=tmp_path, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            scored = False
            while time.monotonic() - started < 120 and proc.poll() is None and not scored:
                time.sleep(0.5)
                if db_path.exists():
                    try:
                        scored = sqlite3.connect(db_path).execute("select count(*) from scores").fetchone()[0] > 0
                    except sqlite3.OperationalError:
                        pass  # the schema is still being created
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        output = log.read_text()
        assert scored, output[-2000:]
        assert "event=backfill_start" in output and "event=backfill_end finished=True" in output
