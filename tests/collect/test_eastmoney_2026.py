"""Eastmoney and Guba as SOURCES.md says they answer in 2026 (tests/support/eastmoney_2026.py), end to end.

`sentibot collect guba market em_rank` and `sentibot probe` against the loopback world; every refusal shape
through collect on Guba and em_rank: blocked, nothing written, paused after three, recovered.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
import pytest

from sentibot.collect.cycle import collect_cycle
from sentibot.collect.guba.collector import forum_status
from sentibot.collect.market import STOCKS_AFTER
from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.store.db import open_store
from sentibot.store.stocks import resolve_stock
from sentibot.timeutil import SHANGHAI
from tests.support.eastmoney_2026 import PAGES, PER_PAGE, SHAPES, Eastmoney2026
from tests.support.cli import run

NOW = datetime(2026, 12, 1, 10, 30, tzinfo=SHANGHAI)  # a Tuesday, in trading hours


@pytest.fixture
def world(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SENTIBOT_EASTMONEY_COOKIE", "SENTIBOT_GUBA_BARS", "SENTIBOT_EM_RANK_CODES", "SENTIBOT_USER_AGENT"):
        monkeypatch.delenv(name, raising=False)
    with Eastmoney2026(datetime.now(SHANGHAI), missing_bars=("920047",), unranked=("920017",)) as site:
        for name, value in {**site.env(), "SENTIBOT_DB": str(tmp_path / "s.db")}.items():
            monkeypatch.setenv(name, value)
        yield site


@pytest.mark.slow
def test_collect_stores_the_universe_the_index_bars_both_forums_and_the_ranks(world, capsys, tmp_path):
    code, out, err = run(["collect", "guba", "market", "em_rank"], capsys)
    lines = {line.split()[0]: line for line in out.splitlines()}
    assert code == 0, out + err
    db = open_store(tmp_path / "s.db")
    stocks = list(db.query("select code, old_code from universe where listed = 1"))
    assert len(stocks) == 120 and all(r["code"].startswith("920") and r["old_code"] for r in stocks)
    with_bars = {r["code"] for r in db.query("select distinct code from bars")}
    after_close = datetime.now(SHANGHAI).time() >= STOCKS_AFTER  # stock bars are fetched once a day after 15:30
    assert "899050" in with_bars and bool(with_bars - {"899050"}) == after_close, (after_close, len(with_bars))
    # the BSE 50 forum (899050 of the four candidates) and every stock bar in scope but the missing one
    per_bar = {r["bar"]: r["n"] for r in db.query("select bar, count(*) as n from posts group by bar")}
    assert per_bar.pop("899050") == PAGES * PER_PAGE
    assert set(per_bar) == set(world.largest) - {"920047"} and set(per_bar.values()) == {PAGES * PER_PAGE}
    assert "920047 page 1: HTTP 404" in lines["guba"] and lines["guba"].split()[1] == "ok"
    assert "list items skipped" in lines["guba"]  # the topic rows and ads
    assert forum_status(db, load_settings({}, None)) == "Guba BSE 50 forum: 899050"
    # ranks of the 20 largest under SZ, the unranked one skipped and named
    ranked = {r["subject"] for r in db.query("select distinct subject from observations "
                                             "where source = 'em_rank' and metric = 'rank'")}
    assert len(ranked) == 19 and "920017" not in ranked and "skipped 1: 920017" in lines["em_rank"]
    assert {r["value"] for r in db.query("select value from cursors where key like 'prefix:%'")} == {"SZ"}
    # either code form of a stock resolves to the one stored
    assert resolve_stock(db, "430017")["code"] == "920017" == resolve_stock(db, "BJ920017")["code"]
    assert resolve_stock(db, "星昊医药")["code"] == "920017" and resolve_stock(db, "600519") is None


@pytest.mark.slow
def test_the_forum_is_looked_for_once(world, capsys, tmp_path):
    run(["collect", "guba", "market"], capsys)
    asked = world.guba.hits.get("/list,zsbj899050,f_1.html")
    run(["collect", "guba"], capsys)
    assert asked == 1 and world.guba.hits.get("/list,zsbj899050,f_1.html") == 1


def test_probe_passes_and_names_the_forum(world, capsys):
    code, out, err = run(["probe", "market", "universe", "guba", "em_rank"], capsys)
    assert code == 0, out + err
    assert any(line.split()[:5] == ["guba", "BSE", "50", "forum", "ok"] and line.rstrip().endswith("899050")
               for line in out.splitlines())
    assert "not a forum: redirects to" in out and "SZ920819" in out


def test_probe_fails_naming_the_refusal_when_eastmoney_refuses(world, capsys, monkeypatch):
    world.refusing.update(guba="dropped", rank="dropped")
    code, out, err = run(["probe", "guba", "em_rank"], capsys)
    assert code == 1
    assert "blocked" in out and "connection dropped before any response" in out
    assert "guba, em_rank not working" in err


def settings_for(world, source):
    options: dict = {"guba_url": world.guba.url, "em_rank_url": world.eastmoney.url,
                     "eastmoney_session_url": world.eastmoney.url, "min_interval_s": 0.0, "http_retries": 0,
                     "guba_scope": "bars"}
    if source == "em_rank":
        options["em_rank_codes"] = ("920017", "920047")
    return load_settings({}, None, **options)


@pytest.mark.parametrize("source", ["guba", "em_rank"])
# the fast tier tries one refusal per source; the full suite tries every shape SOURCES.md describes
@pytest.mark.parametrize("shape", [s if s == "challenge" else pytest.param(s, marks=pytest.mark.slow) for s in SHAPES])
def test_each_refusal_blocks_writes_nothing_pauses_after_three_and_recovers(source, shape, tmp_path):
    with Eastmoney2026(NOW) as world:
        world.refusing["guba" if source == "guba" else "rank"] = shape
        db = open_store(tmp_path / "s.db")
        settings = settings_for(world, source)

        def cycle(now):
            (result,) = asyncio.run(collect_cycle([source], settings, db, now))
            return result

        for minute in range(3):
            result = cycle(NOW + timedelta(minutes=minute))
            assert result.outcome is Outcome.BLOCKED, result.detail
        assert db["posts"].count == 0 and db["observations"].count == 0
        assert not list(db.query("select * from cursors where source = ?", [source]))
        asked = sum(world.guba.hits.values()) + sum(world.eastmoney.hits.values()) + len(world.guba.seen)
        paused = cycle(NOW + timedelta(minutes=4))
        assert paused.outcome is Outcome.PAUSED
        assert sum(world.guba.hits.values()) + sum(world.eastmoney.hits.values()) + len(world.guba.seen) == asked
        world.refusing.clear()
        recovered = cycle(NOW + timedelta(hours=2))
        assert recovered.outcome is Outcome.OK, recovered.detail
        assert (db["posts"].count if source == "guba" else db["observations"].count) > 0


def test_offline_every_host_is_tried_once_and_nothing_waits_on_a_timeout_twice(tmp_path):
    asked: dict[str, int] = {}

    def no_network(request):  # fault injection: every connection attempt times out, as with no route
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        raise httpx.ConnectTimeout("timed out", request=request)

    settings = load_settings({}, None, min_interval_s=0.0)  # the real default URLs and retries
    db = open_store(tmp_path / "s.db")
    results = asyncio.run(collect_cycle(["guba", "market", "em_rank", "notices"], settings, db, NOW,
                                        transport=httpx.MockTransport(no_network)))
    assert {r.source: r.outcome for r in results} == {"guba": Outcome.FAILED, "market": Outcome.FAILED,
                                                      "em_rank": Outcome.EMPTY, "notices": Outcome.FAILED}
    assert asked["anonflow2.eastmoney.com"] == 1  # the session step is not retried
    assert set(asked.values()) == {1} and "push2his.eastmoney.com" not in asked  # no data request without nid18


def test_no_candidate_is_a_forum_said_once_a_day_and_not_an_error_per_candidate(tmp_path):
    with Eastmoney2026(NOW, forum="none-of-them") as world:
        db = open_store(tmp_path / "s.db")
        settings = settings_for(world, "guba")
        (result,) = asyncio.run(collect_cycle(["guba"], settings, db, NOW))
        assert result.outcome is Outcome.FAILED and "no BSE 50 forum among the candidates" in result.detail
        assert "899050: HTTP 404" in result.detail and "zs899050: no posts found" in result.detail
        assert forum_status(db, settings).startswith("Guba BSE 50 forum: none of zsbj899050, zssz899050")
        asked = dict(world.guba.hits)
        asyncio.run(collect_cycle(["guba"], settings, db, NOW + timedelta(hours=1)))
        assert world.guba.hits == asked  # not asked again the same day
        world.forum = "899050"
        (found,) = asyncio.run(collect_cycle(["guba"], settings, db, NOW + timedelta(days=1)))
        assert found.outcome is Outcome.OK and forum_status(db, settings) == "Guba BSE 50 forum: 899050"
        pinned = load_settings({}, None, guba_bars=("zsbj899050",))
        assert forum_status(db, pinned) == "Guba BSE 50 forum: zsbj899050 (SENTIBOT_GUBA_BARS)"
