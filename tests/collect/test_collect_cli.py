"""`sentibot collect` end to end: settings from the environment, a local server, a real SQLite file."""

from __future__ import annotations

import json

import pytest

from sentibot.store.db import open_store

from tests.support.eastmoney_session import serve_webreport
from tests.support.paths import FIXTURES
from tests.support.cli import run


def fixture(path: str) -> str:
    return (FIXTURES / path).read_text(encoding="utf-8")


@pytest.fixture
def env(httpserver, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    base = httpserver.url_for("/").rstrip("/")
    serve_webreport(httpserver)
    for name, value in {"SENTIBOT_GUBA_URL": base, "SENTIBOT_EASTMONEY_URL": base,
                        "SENTIBOT_EASTMONEY_LIST_URL": base, "SENTIBOT_EASTMONEY_SESSION_URL": base,
                        "SENTIBOT_MIN_INTERVAL_S": "0",
                        "SENTIBOT_HTTP_RETRIES": "0", "SENTIBOT_GUBA_SCOPE": "bars", "SENTIBOT_GUBA_BARS": "zs899050",
                        "SENTIBOT_MARKET_SCOPE": "index", "SENTIBOT_DB": str(tmp_path / "s.db")}.items():
        monkeypatch.setenv(name, value)
    data = {"re": [], "count": 80, "rc": 1, "me": "操作成功"}
    last = f"<script>var article_list={json.dumps(data)};</script>"
    httpserver.expect_request("/list,zs899050,f_1.html").respond_with_data(
        fixture("guba/constructed_list_json_p1.html"), content_type="text/html; charset=utf-8")
    httpserver.expect_request("/list,zs899050,f_2.html").respond_with_data(last, content_type="text/html")
    httpserver.expect_request("/api/qt/clist/get").respond_with_data(fixture("eastmoney/constructed_clist_bse.json"))
    return tmp_path / "s.db"


@pytest.mark.slow
def test_collect_all_sources_prints_one_line_each(env, httpserver, capsys):
    httpserver.expect_request("/api/qt/stock/kline/get").respond_with_data(
        fixture("eastmoney/constructed_kline_bse50_8field.json"))
    code, out, err = run(["collect", "guba", "market"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:3] == ["guba", "ok", "80"] and lines[1].split()[:3] == ["market", "ok", "4"]
    db = open_store(env)
    assert db["posts"].count == 80 and db["bars"].count == 4
    assert {r["source"]: r["status"] for r in db["source_health"].rows} == {"guba": "ok", "market": "ok"}


@pytest.mark.slow
def test_a_failing_source_does_not_stop_the_other_and_exits_1(env, httpserver, capsys):
    httpserver.expect_request("/api/qt/stock/kline/get").respond_with_data('{"rc":0,"data":null}')
    code, out, err = run(["collect", "market", "guba"], capsys)
    assert code == 1
    assert "guba    ok" in out and "market  blocked" in out
    assert err.strip().splitlines()[-1] == "sentibot: error: collect: market blocked or failed (see the summary above)"
    assert open_store(env)["posts"].count == 80


def test_since_shows_a_progress_bar_and_takes_another_db(env, httpserver, capsys, tmp_path):
    httpserver.expect_request("/api/qt/stock/kline/get").respond_with_data(
        fixture("eastmoney/constructed_kline_bse50_8field.json"))
    other = tmp_path / "other.db"
    code, out, err = run(["collect", "guba", "--since", "2023-11-01", "--db", str(other)], capsys)
    assert code == 0, err
    assert "backfill since 2023-11-01" in err
    assert open_store(other)["posts"].count == 80 and open_store(env)["posts"].count == 0


@pytest.mark.parametrize("argv,message", [
    (["collect", "weibo"], "sentibot: error: unknown source 'weibo'; known sources: guba, market"),
    (["collect", "--since", "Nov 1"], "Invalid value for '--since'"),
])
def test_bad_arguments_are_one_line(env, capsys, argv, message):
    code, out, err = run(argv, capsys)
    assert code != 0 and message in err and "Traceback" not in err
