"""Market data: kline parsing on the real samples and failure shapes, the BSE universe, the collector over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
from datetime import date, datetime

import pytest
from werkzeug.wrappers import Response

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import collect_cycle
from sentibot.collect.market import parse_kline, universe
from sentibot.collect.universe import parse_clist, store_universe, tracked_codes
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI

from sentibot.config import Secret
from tests.support.eastmoney_session import serve_webreport
from tests.support.paths import FIXTURES

AFTER_CLOSE = datetime(2023, 11, 16, 16, 0, tzinfo=SHANGHAI)


def fixture(name: str) -> str:
    return (FIXTURES / "eastmoney" / name).read_text(encoding="utf-8")


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "m.db")


def test_real_11_field_daily_sample():
    verdict, bars = parse_kline(fixture("real_kline_daily_601872.json"), "601872")
    assert verdict.outcome is Outcome.OK and len(bars) == 10
    first = bars[0]
    assert (first.date, first.open, first.close, first.high, first.low) == ("2024-12-18", 6.11, 6.18, 6.28, 6.10)
    assert (first.volume, first.amount, first.turnover_rate) == (842743, 542829495.00, 1.03)


def test_real_jsonp_sample():
    verdict, bars = parse_kline(fixture("real_kline_weekly_jsonp.txt"), "APP")
    assert verdict.outcome is Outcome.OK and len(bars) == 6 and bars[-1].close == 68.35


def test_8_field_index_rows_and_jsonp_agree():
    verdict, bars = parse_kline(fixture("constructed_kline_bse50_8field.json"), "899050")
    _, wrapped = parse_kline(fixture("constructed_kline_bse50_jsonp.txt"), "899050")
    assert verdict.outcome is Outcome.OK and bars == wrapped and len(bars) == 4
    assert bars[2].amount == 24123456789.00 and bars[2].turnover_rate is None


@pytest.mark.parametrize("name,outcome,detail", [
    ("constructed_kline_data_null.json", Outcome.BLOCKED, "data: null"),
    ("constructed_kline_dktotal0.json", Outcome.BLOCKED, "dktotal 0 with empty klines"),
    ("constructed_not_json.html", Outcome.FAILED, "not JSON"),
])
def test_failure_shapes_are_never_no_trading(name, outcome, detail):
    verdict, bars = parse_kline(fixture(name), "899050")
    assert verdict.outcome is outcome and detail in verdict.detail and bars == []


def test_bad_row_fails_the_whole_response():
    text = fixture("constructed_kline_bse50_8field.json").replace("2023-11-15,1005.10", "2023-13-15,1005.10")
    verdict, bars = parse_kline(text, "899050")
    assert verdict.outcome is Outcome.FAILED and "kline row 3" in verdict.detail and bars == []


def test_busy_message_is_a_block():
    verdict, _ = parse_kline('{"rc":102,"me":"系统繁忙, 请稍后再试","data":null}', "899050")
    assert verdict.outcome is Outcome.BLOCKED and "系统繁忙" in verdict.detail


def test_clist_universe_and_the_920_switch(db):
    verdict, rows, total = parse_clist(fixture("constructed_clist_bse.json"))
    assert verdict.outcome is Outcome.OK and total == 5 and rows[2]["amount"] is None  # "-": suspended
    store_universe(db, rows, "2024-01-01T00:00:00+08:00")
    assert [r["code"] for r in universe(db)][:2] == ["920002", "920008"]  # largest first
    # old codes the site still serves are stored under their 920xxx codes (the shipped map), with both codes
    stored = {r["code"]: r for r in universe(db, listed_only=False)}
    assert stored["920522"]["old_code"] == "832522" and stored["920799"]["old_code"] == "830799"
    assert "832522" not in stored and len(stored) == 5
    _, switched, _ = parse_clist(fixture("constructed_clist_bse_920switch.json"))
    store_universe(db, switched, "2025-01-01T00:00:00+08:00")
    moved = {r["code"]: r for r in universe(db, listed_only=False)}
    assert moved["920522"]["old_code"] == "832522" and len(moved) == 5
    assert len(universe(db)) == 5
    assert tracked_codes(db, "bars") == [] and len(tracked_codes(db, "all")) == 5
    empty, rows, _ = parse_clist(fixture("constructed_clist_empty.json"))
    assert empty.outcome is Outcome.BLOCKED and rows == []


class EastmoneyServer:
    """Routes clist and kline requests to fixtures and records each kline request's secid and beg."""

    def __init__(self, httpserver, kline: dict[str, str] | None = None):
        self.klines: list[tuple[str, str]] = []
        self.kline = kline or {}
        serve_webreport(httpserver)
        httpserver.expect_request("/api/qt/clist/get").respond_with_data(
            fixture("constructed_clist_bse.json"), content_type="application/json")
        httpserver.expect_request("/api/qt/stock/kline/get").respond_with_handler(self.handle)

    def handle(self, request):
        secid = request.args["secid"]
        self.klines.append((secid, request.args["beg"]))
        body = self.kline.get(secid, fixture("real_kline_daily_601872.json"))
        return Response(body, content_type="application/json")


def settings(httpserver, **kw):
    base = httpserver.url_for("/").rstrip("/")
    options = dict(eastmoney_url=base, eastmoney_list_url=base, eastmoney_session_url=base, min_interval_s=0.0,
                   http_retries=0)
    options.update(kw)
    return load_settings(environ={}, env_file=None, **options)


def collect(db, s, now=AFTER_CLOSE, since=None):
    (result,) = asyncio.run(collect_cycle(["market"], s, db, now, since))
    return result


def test_collector_backfills_then_goes_incremental(httpserver, db):
    server = EastmoneyServer(httpserver, {"0.899050": fixture("constructed_kline_bse50_8field.json")})
    s = settings(httpserver)
    result = collect(db, s)
    assert result.outcome is Outcome.OK
    assert server.klines[0] == ("0.899050", "19900101")  # the whole history in one request
    assert sorted(s for s, _ in server.klines[1:]) == ["0.920002", "0.920008", "0.920029", "0.920522", "0.920799"]
    assert db["bars"].count == 4 + 5 * 10
    index = db["bars"].get(("899050", "2023-11-16"))
    assert index["close"] == 1124.00 and index["amount"] == 30123456789.00
    turnover = db["observations"].get(("market", "北交所", "amount", "2023-11-16"))
    assert turnover["value"] == 2.1e8 + 1.5e8 + 9.8e7 + 1.2e8  # the suspended stock's "-" left out
    server.klines.clear()
    collect(db, s, now=AFTER_CLOSE.replace(minute=30))
    assert server.klines == [("0.899050", "20231116")]  # incremental; stocks already done today


def test_stock_bars_wait_for_the_close(httpserver, db):
    server = EastmoneyServer(httpserver, {"0.899050": fixture("constructed_kline_bse50_8field.json")})
    collect(db, settings(httpserver), now=AFTER_CLOSE.replace(hour=10))
    assert [s for s, _ in server.klines] == ["0.899050"]


def test_since_backfills_a_range_in_one_request_per_code(httpserver, db):
    server = EastmoneyServer(httpserver, {"0.899050": fixture("constructed_kline_bse50_8field.json")})
    collect(db, settings(httpserver, market_scope="index"), since=date(2023, 11, 1))
    assert server.klines == [("0.899050", "20231101")]


@pytest.mark.parametrize("name,outcome", [("constructed_kline_data_null.json", Outcome.BLOCKED),
                                          ("constructed_kline_dktotal0.json", Outcome.BLOCKED),
                                          ("constructed_not_json.html", Outcome.FAILED)])
def test_collector_failure_shapes_store_no_bars(httpserver, db, name, outcome):
    EastmoneyServer(httpserver, {"0.899050": fixture(name)})
    result = collect(db, settings(httpserver))
    assert result.outcome is outcome and db["bars"].count == 0


def test_a_dropped_connection_from_eastmoney_is_a_block(db):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def drop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.close()  # no status line at all

    threading.Thread(target=drop, daemon=True).start()
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    s = load_settings(environ={}, env_file=None, eastmoney_url=base, eastmoney_list_url=base, min_interval_s=0.0,
                      http_retries=1, eastmoney_cookie=Secret("nid18=pasted; nid18_create_time=1"))
    try:
        result = collect(db, s)
    finally:
        listener.close()
    # SOURCES.md §1: Eastmoney's refusal, never a network failure (which would never pause the source)
    assert result.outcome is Outcome.BLOCKED and "connection dropped before any response" in result.detail
    assert db["universe"].count == 0


def test_blocked_stock_list_keeps_the_index_bars(httpserver, db):
    serve_webreport(httpserver)
    httpserver.expect_request("/api/qt/clist/get").respond_with_data(fixture("constructed_clist_empty.json"))
    httpserver.expect_request("/api/qt/stock/kline/get").respond_with_data(
        fixture("constructed_kline_bse50_8field.json"))
    result = collect(db, settings(httpserver))
    assert result.outcome is Outcome.BLOCKED and result.items == 4 and "stock list without rows" in result.detail
    assert db["bars"].count == 4 and db["universe"].count == 0 and db["observations"].count == 0
