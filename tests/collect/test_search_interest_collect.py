"""Baidu Index and WeChat Index collectors over real HTTP to a local server."""

import asyncio
import json
from datetime import date, datetime, timedelta

import pytest
from werkzeug.wrappers import Response

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import CollectContext, collect_one
from sentibot.collect.http import PoliteClient
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI
from tests.support.paths import FIXTURES
from tests.support.sites_2026 import BaiduSite, WechatSite
from sentibot.collect.search.cipher import read_cipher_text
from urllib.parse import unquote

FIX = FIXTURES
NOW = datetime(2023, 12, 1, 8, 0, tzinfo=SHANGHAI)
KEY = "qW3eR7tYu9P0123456789,"
ENCODE = dict(zip(KEY[11:], KEY[:11]))


def load(folder, name):
    return (FIX / folder / name).read_text(encoding="utf-8")


def encrypted_answer(request):
    """A SearchApi/index answer for whatever range and words were asked (value = day of year; 11-11 missing)."""
    first, last = (date.fromisoformat(request.args[k]) for k in ("startDate", "endDate"))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    plain = ",".join("" if d == date(2023, 11, 11) else str(d.timetuple().tm_yday) for d in days)
    part = {"startDate": first.isoformat(), "endDate": last.isoformat(), "data": "".join(ENCODE[c] for c in plain)}
    indexes = [{"word": group, "type": "day", "all": part, "pc": part, "wise": part}
               for group in json.loads(request.args["word"])]
    return Response(json.dumps({"status": 0, "data": {"uniqid": "u1", "userIndexes": indexes}}),
                    content_type="application/json")


def run(server, tmp_path, name, since=None, **overrides):
    base = server.url_for("").rstrip("/")
    options = dict(baidu_index_url=base, wechat_index_url=base, baidu_keywords=("北交所",))
    options.update(overrides)
    settings = load_settings({}, None, **options)
    db = open_store(tmp_path / "s.db")

    async def go():
        async with PoliteClient.from_settings(settings, min_interval_s=0, retries=0) as client:
            return await collect_one(name, CollectContext(client, db, settings, NOW), since)

    return asyncio.run(go()), db


def values(db, source, metric):
    return {r["ts"]: r["value"] for r in db.query(
        "select ts, value from observations where source = ? and metric = ?", [source, metric])}


@pytest.mark.parametrize("name, setting", [("baidu_index", "SENTIBOT_BAIDU_COOKIE"),
                                           ("wechat_index", "SENTIBOT_WECHAT_OPENID")])
def test_not_configured_is_a_clear_line_not_an_error(httpserver, tmp_path, name, setting):
    for _ in range(3):  # repeated cycles never turn into failures, pauses or alerts
        result, db = run(httpserver, tmp_path, name)
    assert result.outcome is Outcome.NOT_CONFIGURED and setting in result.detail
    health = db["source_health"].get(name)
    assert health["status"] == "not_configured" and health["unhealthy_since"] is None
    assert len(httpserver.log) == 0 and db["alerts"].count == 0


def test_baidu_daily_fixture_with_cookie(httpserver, tmp_path):
    httpserver.expect_request("/api/SearchApi/index", headers={"Cookie": "BDUSS=abc"},
                              query_string={"area": "0", "word": '[[{"name": "北交所", "wordType": 1}]]',
                                            "startDate": "2023-11-01", "endDate": "2023-11-30"},
                              ).respond_with_data(load("baidu_index", "constructed_index_day.json"))
    httpserver.expect_request("/Interface/ptbk", query_string="uniqid=c0ffee01d").respond_with_data(
        load("baidu_index", "constructed_ptbk.json"))
    result, db = run(httpserver, tmp_path, "baidu_index", date(2023, 11, 1), baidu_cookie="BDUSS=abc")
    assert result.outcome is Outcome.OK, result.detail
    daily = values(db, "baidu_index", "all")
    assert len(daily) == 29 and "2023-11-11" not in daily and daily["2023-11-24"] == 21000
    assert len(values(db, "baidu_index", "wise")) == 29
    assert {r["subject"] for r in db["observations"].rows} == {"北交所"}


@pytest.mark.slow
def test_backfill_is_split_into_windows_of_at_most_90_days(httpserver, tmp_path):
    httpserver.expect_request("/api/SearchApi/index").respond_with_handler(encrypted_answer)
    httpserver.expect_request("/Interface/ptbk").respond_with_data(json.dumps({"status": 0, "data": KEY}))
    result, db = run(httpserver, tmp_path, "baidu_index", date(2023, 6, 1), baidu_cookie="BDUSS=abc",
                     baidu_keywords=("北交所", "北证50", "北交所开户", "北交所打新", "k5", "k6"))
    assert result.outcome is Outcome.OK, result.detail
    asked = [(r.args["startDate"], r.args["endDate"]) for r, _ in httpserver.log if r.path == "/api/SearchApi/index"]
    windows = sorted(set(asked))
    assert windows == [("2023-06-01", "2023-08-29"), ("2023-08-30", "2023-11-27"), ("2023-11-28", "2023-11-30")]
    assert len(asked) == 6  # 6 keywords = 2 requests (5 + 1) per window
    daily = values(db, "baidu_index", "all")
    assert len(daily) == 183 - 1 and daily["2023-11-30"] == 334 and "2023-11-11" not in daily


@pytest.mark.parametrize("fixture, words", [("constructed_status_10000.json", "not logged in"),
                                            ("constructed_status_10001.json", "request limited")])
def test_status_codes_pause_and_say_why(httpserver, tmp_path, fixture, words):
    httpserver.expect_request("/api/SearchApi/index").respond_with_data(load("baidu_index", fixture))
    result, db = run(httpserver, tmp_path, "baidu_index", baidu_cookie="BDUSS=old")
    assert result.outcome is Outcome.BLOCKED and words in result.detail and "paused until" in result.detail
    again, db = run(httpserver, tmp_path, "baidu_index", baidu_cookie="BDUSS=old")
    assert again.outcome is Outcome.PAUSED and words in again.detail
    assert len(httpserver.log) == 1  # the paused cycle sent nothing
    assert words in db["source_health"].get("baidu_index")["detail"]
    renewed, _ = run(httpserver, tmp_path, "baidu_index", baidu_cookie="BDUSS=new")
    # a new cookie ends a not-logged-in pause at once; a rate limit holds whatever the cookie
    assert (renewed.outcome is Outcome.BLOCKED) == ("10000" in fixture)
    assert "BDUSS" not in result.detail + again.detail + renewed.detail


@pytest.mark.parametrize("key, reason", [("qW3e0123", "key too short"),
                                         ("AAAAAAAAAAA0123456789,", "missing from the key")])
def test_bad_key_stores_nothing(httpserver, tmp_path, key, reason):
    httpserver.expect_request("/api/SearchApi/index").respond_with_data(load("baidu_index", "constructed_index_day.json"))
    httpserver.expect_request("/Interface/ptbk").respond_with_data(json.dumps({"status": 0, "data": key}))
    result, db = run(httpserver, tmp_path, "baidu_index", date(2023, 11, 1), baidu_cookie="BDUSS=abc")
    assert result.outcome is Outcome.FAILED and reason in result.detail and "nothing stored" in result.detail
    assert db["observations"].count == 0


def test_baidu_data_null_is_a_failure_not_empty(httpserver, tmp_path):
    httpserver.expect_request("/api/SearchApi/index").respond_with_data(load("baidu_index", "constructed_data_null.json"))
    result, db = run(httpserver, tmp_path, "baidu_index", baidu_cookie="BDUSS=abc")
    assert result.outcome is Outcome.FAILED and db["observations"].count == 0


BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def run_at(site, tmp_path, name, now, since=None, **overrides):
    options = dict(baidu_index_url=site.url, wechat_index_url=site.url, user_agent=BROWSER)
    options.update(overrides)
    settings = load_settings({}, None, **options)
    db = open_store(tmp_path / "s.db")

    async def go():
        async with PoliteClient.from_settings(settings, min_interval_s=0, retries=0) as client:
            return await collect_one(name, CollectContext(client, db, settings, now), since)

    return asyncio.run(go()), db


LIVE = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)


def test_baidu_cipher_text_per_request_unindexed_word_costs_only_itself(tmp_path):
    with BaiduSite("BDUSS=abc", LIVE) as site:
        site.unindexed = {"北交所打新"}
        result, db = run_at(site, tmp_path, "baidu_index", LIVE, baidu_cookie="BDUSS=abc",
                            baidu_keywords=("北交所", "北证50", "北交所打新"))
    assert result.outcome is Outcome.OK, result.detail
    assert "not indexed: 北交所打新" in result.detail
    daily = values(db, "baidu_index", "all")
    subjects = {r["subject"] for r in db.query("select distinct subject from observations")}
    assert subjects == {"北交所", "北证50"}
    # yesterday and the day before are not there yet (Baidu's lag): accepted, stored as missing
    assert max(daily) == (LIVE.date() - timedelta(days=3)).isoformat()
    asked = [r for r in site.log if r.path == "/api/SearchApi/index"]
    assert len(asked) == 4  # the group (10002), then each keyword alone
    signed = [read_cipher_text(r.headers["cipher-text"]) for r in asked]  # one per request, for its first keyword
    firsts = [json.loads(r.arg("word"))[0][0]["name"] for r in asked]
    assert [unquote(p["url"]).rsplit("=", 1)[1] for p in signed] == firsts == ["北交所", "北交所", "北证50", "北交所打新"]
    assert {p["ua"] for p in signed} == {BROWSER}


def test_baidu_wrong_clock_gets_10018_and_a_long_pause(tmp_path):
    with BaiduSite("BDUSS=abc", LIVE) as site:
        result, db = run_at(site, tmp_path, "baidu_index", LIVE - timedelta(hours=1), baidu_cookie="BDUSS=abc",
                            baidu_keywords=("北交所",))
        again, _ = run_at(site, tmp_path, "baidu_index", LIVE - timedelta(minutes=50), baidu_cookie="BDUSS=new")
    assert result.outcome is Outcome.BLOCKED and "10018" in result.detail and "paused until" in result.detail
    assert again.outcome is Outcome.PAUSED  # an anti-bot pause holds whatever the cookie
    assert sum(r.path == "/api/SearchApi/index" for r in site.log) == 1


WX = dict(wechat_openid="oid", wechat_search_key="skey", wechat_keywords=("北交所", "北证50"))


def test_wechat_post_getdefaultindex(tmp_path):
    with WechatSite("oid", "skey") as site:
        result, db = run_at(site, tmp_path, "wechat_index", NOW, **WX)
    assert result.outcome is Outcome.OK, result.detail
    [request] = site.log
    assert request.method == "POST" and request.json["cgi_name"] == "GetDefaultIndex"
    assert "MicroMessenger" in request.headers["user-agent"] and request.headers["xweb_xhr"] == "1"
    series = values(db, "wechat_index", "index")
    assert len(series) == 29 and "2023-11-30" not in series  # 30-day lookback; the last value is -1
    assert db["observations"].count == 29 * 2  # both keywords


def test_wechat_rejected_credentials_need_renewing_without_a_request_loop(tmp_path):
    with WechatSite("oid", "fresh") as site:
        result, db = run_at(site, tmp_path, "wechat_index", NOW, **WX)
        again, db = run_at(site, tmp_path, "wechat_index", NOW + timedelta(days=1), **WX)
        assert len(site.log) == 1  # the rejected credentials are not sent again
        renewed, db = run_at(site, tmp_path, "wechat_index", NOW + timedelta(days=1),
                             **dict(WX, wechat_search_key="fresh"))
    assert result.outcome is Outcome.NOT_CONFIGURED and result.detail.startswith("needs credentials")
    assert "code -10000" in result.detail and "skey" not in result.detail
    assert again.outcome is Outcome.NOT_CONFIGURED and "needs credentials" in again.detail
    health = db["source_health"].get("wechat_index")
    assert renewed.outcome is Outcome.OK and health["unhealthy_since"] is None and db["alerts"].count == 0


def test_wechat_non_numeric_stores_nothing(httpserver, tmp_path):
    httpserver.expect_request("/cgi-bin/wxaweb/wxindex", method="POST").respond_with_data(
        load("wechat_index", "constructed_getdefaultindex_non_numeric.json"))
    result, db = run(httpserver, tmp_path, "wechat_index", **WX)
    assert result.outcome is Outcome.FAILED and "item 2 is not a number: 'abc'" in result.detail
    assert db["observations"].count == 0
