"""Eastmoney popularity rank of BSE stocks: parser and collector over real HTTP to a local server."""

import asyncio
import json
from datetime import date, datetime

import pytest

from sentibot.config import load_settings
from sentibot.errors import InputError
from sentibot.models import Observation, Outcome
from sentibot.collect.cycle import CollectContext, collect_one
from sentibot.collect.em_rank import BODY, market_series, parse_rank_history, stock_code
from sentibot.collect.http import PoliteClient
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI
from tests.support.eastmoney_session import serve_webreport
from tests.support.paths import FIXTURES

FIX = FIXTURES / "em_rank"


def fixture(name):
    return (FIX / name).read_text(encoding="utf-8")


def test_stock_code_is_the_920_code_in_any_form():
    assert stock_code("831526") == "920526" == stock_code("bj920526") == stock_code("SZ831526")
    assert stock_code("839946") == "920146"  # not 920 + the last three digits: the shipped map says so
    with pytest.raises(InputError, match="SENTIBOT_EM_RANK_CODES: '8315' is not"):
        stock_code("8315")


def test_parse_and_market_series():
    obs = parse_rank_history(json.loads(fixture("constructed_his_list_BJ831526.json")), "831526", "x")
    assert len(obs) == 30 and obs[17] == Observation("em_rank", "831526", "rank", "2023-11-18", 12.0)
    market = market_series([Observation("em_rank", "a", "rank", "2023-11-18", 10.0),
                            Observation("em_rank", "b", "rank", "2023-11-18", 1000.0)])
    assert market == [Observation("em_rank", "北交所", "inv_rank", "2023-11-18", 50.5)]


@pytest.mark.parametrize("payload, reason", [({"data": None}, "data: null for 831526"),
                                             ({"data": {}}, "expected a list"),
                                             (json.loads(fixture("constructed_bad_rank.json")), r"data\[0\] needs")])
def test_bad_answers(payload, reason):
    with pytest.raises(InputError, match=reason):
        parse_rank_history(payload, "831526", "x")


def run(server, tmp_path, since=None):
    serve_webreport(server)
    base = server.url_for("").rstrip("/")
    settings = load_settings({}, None, em_rank_url=base, eastmoney_session_url=base, em_rank_codes=("920526", "920171"))
    db = open_store(tmp_path / "s.db")

    async def go():
        async with PoliteClient.from_settings(settings, min_interval_s=0, retries=0) as client:
            return await collect_one("em_rank", CollectContext(client, db, settings,
                                                               datetime(2023, 12, 1, 9, tzinfo=SHANGHAI)), since)

    return asyncio.run(go()), db


def test_collect_both_stocks_and_market_series(httpserver, tmp_path):
    for old, code in (("831526", "920526"), ("832171", "920171")):
        httpserver.expect_request("/stockrank/getHisList", method="POST", json=dict(BODY, srcSecurityCode=f"BJ{code}")
                                  ).respond_with_data(fixture(f"constructed_his_list_BJ{old}.json"))
    result, db = run(httpserver, tmp_path, since=date(2023, 11, 10))
    assert result.outcome is Outcome.OK, result.detail
    assert "42 daily ranks of 2/2 stock(s), 2023-11-10..2023-11-30" in result.detail
    market = {r["ts"]: r["value"] for r in db.query("select ts, value from observations where metric = 'inv_rank'")}
    assert len(market) == 21 and max(market, key=market.get) == "2023-11-18"
    assert market["2023-11-18"] == pytest.approx((1000 / 12 + 1000 / 40) / 2, abs=1e-3)


def test_one_bad_stock_is_skipped_and_named_the_other_stored(httpserver, tmp_path):
    httpserver.expect_request("/stockrank/getHisList", json=dict(BODY, srcSecurityCode="BJ920526")
                              ).respond_with_data(fixture("constructed_his_list_BJ831526.json"))
    httpserver.expect_request("/stockrank/getHisList").respond_with_data(fixture("constructed_bad_rank.json"))
    result, db = run(httpserver, tmp_path)
    assert result.outcome is Outcome.OK and "30 daily ranks of 1/2 stock(s)" in result.detail
    assert "skipped 1: " in result.detail and "data[0] needs calcTime" in result.detail
    stored = {r["subject"] for r in db.query("select distinct subject from observations where metric = 'rank'")}
    assert stored == {"920526"}


def test_every_stock_failing_is_a_failure(httpserver, tmp_path):
    httpserver.expect_request("/stockrank/getHisList").respond_with_data(json.dumps({"status": 0, "data": None}))
    result, db = run(httpserver, tmp_path)
    assert result.outcome is Outcome.FAILED and db["observations"].count == 0
    assert "920526: data: null under BJ and SZ" in result.detail
