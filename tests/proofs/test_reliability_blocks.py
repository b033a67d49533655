"""Blocks: every block shape of issue 5 is classified 'blocked' every time, and a source pauses after 3 in a row.

Shapes: a 200 page with a captcha (any marker, anywhere, in any size of page), the ~2.8 KB empty shell (any size up
to the 4 KB threshold), `data: null`, `rc: 0` with a busy message (in me/message/msg), Guba's `re: null` busy page,
kline `dktotal: 0` with no rows, HTTP 403, and 429 with a Retry-After beyond what we wait. Non-JSON where JSON was
expected is 'failed' (never 'empty'). Pure classifiers get BLOCK_EXAMPLES generated variants per shape; then each
shape is served over loopback to the real collectors: nothing is stored, the attempt is recorded as blocked, the
third consecutive block pauses the source for >= 10 minutes, and a cycle during the pause sends no request at all.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import collect_cycle
from sentibot.collect.guba.parse import parse_list_page
from sentibot.collect.http import BUSY_MARKERS, CAPTCHA_MARKERS, SHELL_MAX_BYTES, classify_json
from sentibot.collect.market import parse_kline
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI
from tests.support.eastmoney_session import serve_webreport

from tests.support.paths import FIXTURES
from tests.support.proof_scale import scaled


BLOCK_EXAMPLES = scaled(300, 300)
NOW = datetime(2023, 11, 27, 11, 0, tzinfo=SHANGHAI)
BAR = "zs899050"
SHAPES = settings(max_examples=BLOCK_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
FILLER = st.text(st.characters(blacklist_characters="<>", blacklist_categories=("Cs",)), max_size=200)


# --- pure classification, many variants per shape ---------------------------------------------------------------

@st.composite
def captcha_page(draw):
    marker = draw(st.sampled_from(CAPTCHA_MARKERS))
    pad = draw(st.integers(0, 300_000))
    before, after = draw(FILLER), draw(FILLER)
    return f"<html><body>{before}{'x' * pad}<div>{marker}</div>{after}</body></html>"


@st.composite
def empty_shell(draw):
    head, tail = "<!DOCTYPE html><html><head><title>股吧</title></head><body>", "</body></html>"
    room = SHELL_MAX_BYTES - len((head + tail).encode())
    return f"{head}{'a' * draw(st.integers(0, room))}{tail}"


@st.composite
def guba_busy(draw):
    me = f"{draw(FILLER)}{draw(st.sampled_from(BUSY_MARKERS))}{draw(FILLER)}"
    data = {"re": draw(st.sampled_from([None, []])), "count": 0, "rc": 0, "me": me}
    return f"<html><script>var article_list={json.dumps(data, ensure_ascii=draw(st.booleans()))};</script></html>"


@st.composite
def busy_json(draw):
    key = draw(st.sampled_from(["me", "message", "msg"]))
    marker = draw(st.sampled_from(BUSY_MARKERS))
    data = draw(st.sampled_from([None, {}, {"klines": []}]))
    body = {"rc": 0, key: f"{draw(FILLER)}{marker}{draw(FILLER)}", "data": data}
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    return f"cb_{draw(st.integers(0, 10**6))}({text});" if draw(st.booleans()) else text


@st.composite
def data_null(draw):
    body = {"rc": draw(st.sampled_from([0, 1, 102])), "rt": draw(st.integers(0, 99)), "data": None}
    text = json.dumps(body)
    return f"jQuery_{draw(st.integers(0, 10**6))}({text})" if draw(st.booleans()) else text


@pytest.mark.parametrize("shape", ["captcha", "shell", "busy", "data_null", "guba_busy"])
def test_every_variant_of_every_block_shape_is_blocked(shape):
    counts = {"n": 0}

    @SHAPES
    @given({"captcha": captcha_page(), "shell": empty_shell(), "busy": busy_json(), "data_null": data_null(),
            "guba_busy": guba_busy()}[shape])
    def run(body):
        counts["n"] += 1
        if shape in ("captcha", "shell", "guba_busy"):
            page = parse_list_page(body, BAR, NOW)
            assert page.verdict.outcome is Outcome.BLOCKED and page.posts == (), page.verdict
        if shape in ("captcha", "busy", "data_null"):
            assert classify_json(body).outcome is Outcome.BLOCKED, classify_json(body)
            verdict, bars = parse_kline(body, "899050")
            assert verdict.outcome is Outcome.BLOCKED and bars == [], verdict

    run()
    assert counts["n"] >= BLOCK_EXAMPLES


def test_dktotal_zero_is_blocked_and_non_json_is_failed_never_empty():
    dk0 = (FIXTURES / "eastmoney" / "constructed_kline_dktotal0.json").read_text(encoding="utf-8")
    assert parse_kline(dk0, "899050")[0].outcome is Outcome.BLOCKED
    html = (FIXTURES / "eastmoney" / "constructed_not_json.html").read_text(encoding="utf-8")
    assert parse_kline(html, "899050")[0].outcome is Outcome.FAILED


# --- over HTTP: nothing stored, blocks recorded, pause after 3, no request while paused -------------------------

GUBA_SHAPES = {
    "captcha": (200, (FIXTURES / "guba" / "constructed_captcha.html").read_text(encoding="utf-8"), {}),
    "empty shell": (200, (FIXTURES / "guba" / "constructed_empty_shell.html").read_text(encoding="utf-8"), {}),
    "busy": (200, (FIXTURES / "guba" / "constructed_list_busy.html").read_text(encoding="utf-8"), {}),
    "403": (403, "Forbidden", {}),
    "429 long Retry-After": (429, "Too Many Requests", {"Retry-After": "3600"}),
}
KLINE_SHAPES = {
    "data null": (FIXTURES / "eastmoney" / "constructed_kline_data_null.json").read_text(encoding="utf-8"),
    "dktotal 0": (FIXTURES / "eastmoney" / "constructed_kline_dktotal0.json").read_text(encoding="utf-8"),
    "busy": json.dumps({"rc": 0, "message": "系统繁忙, 请稍后再试", "data": None}, ensure_ascii=False),
    "captcha": "<html><body><div id='em_captcha_modal'>请完成滑动验证</div></body></html>",
}
CLIST = (FIXTURES / "eastmoney" / "constructed_clist_bse.json").read_text(encoding="utf-8")


def counts(db) -> dict:
    return {t: db[t].count for t in ("posts", "bars", "observations", "notices")}


def cycles_until_paused(db, s, source, server_hits):
    """Four cycles 1 minute apart: blocked, blocked, blocked+paused, paused with no request."""
    outcomes, health = [], None
    for minute in range(4):
        hits_before = server_hits()
        (result,) = asyncio.run(collect_cycle([source], s, db, NOW + timedelta(minutes=minute)))
        outcomes.append(result.outcome)
        if minute == 3:
            assert server_hits() == hits_before, "a paused source still sent requests"
        if minute == 2:
            health = db["source_health"].get(source)
    return outcomes, health


@pytest.mark.parametrize("shape", list(GUBA_SHAPES))
def test_guba_block_shape_over_http_stores_nothing_and_pauses(httpserver, tmp_path, shape):
    status, body, headers = GUBA_SHAPES[shape]
    httpserver.expect_request(f"/list,{BAR},f_1.html").respond_with_data(
        body, status=status, headers=headers, content_type="text/html; charset=utf-8")
    db = open_store(tmp_path / "b.db")
    s = load_settings(environ={}, env_file=None, guba_url=httpserver.url_for("/").rstrip("/"), guba_scope="bars",
                      guba_bars=(BAR,), min_interval_s=0.0, http_retries=0)
    before = counts(db)
    outcomes, health = cycles_until_paused(db, s, "guba", lambda: len(httpserver.log))
    assert outcomes == [Outcome.BLOCKED] * 3 + [Outcome.PAUSED], (shape, outcomes)
    assert counts(db) == before, f"{shape}: rows were stored from a blocked response"
    assert health["status"] == "paused" and health["consecutive_blocks"] == 3
    pause = datetime.fromisoformat(health["paused_until"]) - (NOW + timedelta(minutes=2))
    assert pause >= timedelta(minutes=10)


@pytest.mark.parametrize("shape", list(KLINE_SHAPES))
def test_kline_block_shape_over_http_stores_no_bars_and_pauses(httpserver, tmp_path, shape):
    httpserver.expect_request("/api/qt/clist/get").respond_with_data(CLIST, content_type="application/json")
    httpserver.expect_request("/api/qt/stock/kline/get").respond_with_data(KLINE_SHAPES[shape],
                                                                           content_type="application/json")
    db = open_store(tmp_path / "k.db")
    base = httpserver.url_for("/").rstrip("/")
    s = load_settings(environ={}, env_file=None, eastmoney_url=base, eastmoney_list_url=base, market_scope="index",
                      min_interval_s=0.0, http_retries=0, eastmoney_session_url=base)
    serve_webreport(httpserver)
    outcomes, health = cycles_until_paused(db, s, "market", lambda: len(httpserver.log))
    assert outcomes == [Outcome.BLOCKED] * 3 + [Outcome.PAUSED], (shape, outcomes)
    assert db["bars"].count == 0, f"{shape}: bars were stored from a blocked response"
    assert health["status"] == "paused" and health["consecutive_blocks"] == 3
