"""`sentibot probe` against loopback Eastmoney: ok lines, refusals named, format changes named, --json, --record."""

from __future__ import annotations

import json

import pytest

from sentibot.collect.probe import PROBES, ProbeLine, ProbeStatus
from sentibot.collect.recorder import redact
from sentibot.collect.sessions import WEBREPORT_PATH
from tests.support.eastmoney_session import NID, admitted, webreport_body
from tests.support.local_sites import LocalSite, text
from tests.support.paths import FIXTURES
from tests.support.cli import run

KLINE = (FIXTURES / "eastmoney" / "constructed_kline_bse50_8field.json").read_text(encoding="utf-8")
CLIST = (FIXTURES / "eastmoney" / "constructed_clist_bse.json").read_text(encoding="utf-8")


@pytest.fixture
def eastmoney(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    with LocalSite("eastmoney") as site:
        site.route("POST", WEBREPORT_PATH, text(webreport_body(), "application/json"))
        site.route("GET", "/api/qt/stock/kline/get", text(KLINE, "application/json"))
        site.route("GET", "/api/qt/clist/get", text(CLIST, "application/json"))
        site.admit = lambda headers: admitted(headers) or "st_nvi=" in headers.get("Cookie", "")
        for name in ("SENTIBOT_EASTMONEY_URL", "SENTIBOT_EASTMONEY_LIST_URL", "SENTIBOT_EASTMONEY_SESSION_URL"):
            monkeypatch.setenv(name, site.url)
        monkeypatch.setenv("SENTIBOT_MIN_INTERVAL_S", "0")
        monkeypatch.setenv("SENTIBOT_HTTP_RETRIES", "0")
        monkeypatch.delenv("SENTIBOT_EASTMONEY_COOKIE", raising=False)
        yield site


def test_probe_passes_against_sites_that_behave(eastmoney, capsys):
    code, out, err = run(["probe", "market", "universe"], capsys)
    assert code == 0, err
    market, universe = out.splitlines()
    assert market.split()[:4] == ["market", "kline", "899050", "ok"] and "4 bars in data.klines (8 fields)" in market
    assert universe.split()[:5] == ["universe", "clist", "page", "1", "ok"] and "5 of 5 stocks" in universe
    assert "[http://127.0.0.1" in market and "?" not in market  # scheme, host and path only


def test_probe_fails_naming_the_refusal_when_eastmoney_drops_the_connection(eastmoney, capsys, monkeypatch):
    monkeypatch.setenv("SENTIBOT_USER_AGENT", "sentibot/0.1")  # not a browser: Eastmoney drops it
    code, out, err = run(["probe", "market"], capsys)
    assert code == 1
    (line,) = out.splitlines()
    assert line.split()[:4] == ["market", "kline", "899050", "blocked"]
    assert "connection dropped before any response" in line
    assert err.strip() == "sentibot: error: probe: market not working (see the lines above)"


def test_probe_names_the_missing_key_when_the_format_changed(eastmoney, capsys):
    eastmoney.route("GET", "/api/qt/stock/kline/get",
                    text('{"rc":0,"data":{"code":"899050","dktotal":3,"rows":[]}}', "application/json"))
    code, out, _ = run(["probe", "market", "--json"], capsys)
    assert code == 1
    (line,) = [json.loads(row) for row in out.splitlines()]
    assert line["status"] == "format changed" and line["detail"] == "data.klines is missing"
    assert set(line) == {"source", "endpoint", "status", "detail", "url", "configured"}


def test_probe_of_an_unknown_source_is_a_one_line_error(eastmoney, capsys):
    code, out, err = run(["probe", "nosuch"], capsys)
    assert code == 1 and out == ""
    assert err.strip() == f"sentibot: error: unknown source 'nosuch' to probe; known: {', '.join(PROBES)}"


def test_record_writes_fixtures_without_cookies_tokens_or_credentials(eastmoney, capsys, monkeypatch, tmp_path):
    pasted = f"nid18={NID}; nid18_create_time=1733000000000"
    monkeypatch.setenv("SENTIBOT_EASTMONEY_COOKIE", pasted)
    # a site that echoes what it was sent and hands out identities in its body, as some JSON APIs do
    echo = json.loads(KLINE)
    echo["data"]["echo"] = f"Cookie: {pasted}"
    echo["data"]["token"] = "tok-4242-secret"
    echo["data"]["nid"] = "nid-from-body-9999"
    eastmoney.route("GET", "/api/qt/stock/kline/get", text(json.dumps(echo), "application/json"))
    record = tmp_path / "recorded"
    code, _, err = run(["probe", "market", "universe", "--record", str(record)], capsys)
    assert code == 0, err
    assert "recorded 2 responses under" in err
    files = sorted((record / "eastmoney").glob("recorded_*"))
    assert [f.name.split("_", 2)[2] for f in files] == ["clist_page_1.json", "kline_899050.json"]
    kline = (record / "eastmoney" / [f.name for f in files if "kline" in f.name][0]).read_text("utf-8")
    for secret in (NID, "1733000000000", "tok-4242-secret", "nid-from-body-9999"):
        assert secret not in kline
    assert json.loads(kline)["data"]["klines"] == json.loads(KLINE)["data"]["klines"]  # the data itself is kept
    index = (record / "eastmoney" / "RECORDED.md").read_text("utf-8")
    assert index.count("\n- `recorded_") == 2 and "/api/qt/stock/kline/get: HTTP 200" in index
    assert "secid" not in index and NID not in index


@pytest.mark.parametrize("raw,secrets,expected", [
    ('{"nid": "abc123", "x": 1}', (), '{"nid": "***", "x": 1}'),
    ("Cookie: nid18=abc123; nid18_create_time=17330; other=keep", (), "Cookie: nid18=***; nid18_create_time=***; "
                                                                       "other=keep"),
    ("BDUSS=abcdef&word=x", (), "BDUSS=***&word=x"),
    ("the openid is oXYZ-123 here", ("oXYZ-123",), "the openid is *** here"),
    ('{"search_key": "k1"}', (), '{"search_key": "***"}'),
    ("var article_list={\"user_id\": \"123\"}", (), "var article_list={\"user_id\": \"123\"}"),
])
def test_redact(raw, secrets, expected):
    assert redact(raw, secrets) == expected


def test_an_unconfigured_source_does_not_fail_the_probe():
    assert not ProbeLine("baidu_index", "index", ProbeStatus.NEEDS, "set SENTIBOT_BAIDU_COOKIE",
                         configured=False).fails
    assert ProbeLine("baidu_index", "index", ProbeStatus.NEEDS, "cookie expired: set SENTIBOT_BAIDU_COOKIE").fails
    assert ProbeLine("market", "kline", ProbeStatus.BLOCKED, "403").fails
