"""`sentibot collect` for search interest: the not-configured line, and a real cycle into the database."""


from click.testing import CliRunner

from sentibot.cli import cli
from sentibot.store.db import open_store
from tests.support.eastmoney_session import serve_webreport
from tests.support.paths import FIXTURES


def invoke(args, env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("SENTIBOT_BAIDU_COOKIE", "SENTIBOT_WECHAT_OPENID", "SENTIBOT_WECHAT_SEARCH_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner().invoke(cli, args, env=env)


def test_collect_prints_not_configured_lines(tmp_path, monkeypatch):
    result = invoke(["collect", "baidu_index", "wechat_index", "--db", str(tmp_path / "s.db")], {}, tmp_path,
                    monkeypatch)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:2] == ["baidu_index", "not_configured"] and "SENTIBOT_BAIDU_COOKIE" in lines[0]
    assert lines[1].split()[:2] == ["wechat_index", "not_configured"] and "SENTIBOT_WECHAT_OPENID" in lines[1]


def test_collect_em_rank_into_the_database(httpserver, tmp_path, monkeypatch):
    fixture = FIXTURES / "em_rank" / "constructed_his_list_BJ831526.json"
    httpserver.expect_request("/stockrank/getHisList", method="POST").respond_with_data(fixture.read_text("utf-8"))
    serve_webreport(httpserver)
    env = {"SENTIBOT_EM_RANK_URL": httpserver.url_for("").rstrip("/"), "SENTIBOT_EM_RANK_CODES": "831526",
           "SENTIBOT_EASTMONEY_SESSION_URL": httpserver.url_for("").rstrip("/"),
           "SENTIBOT_MIN_INTERVAL_S": "0"}
    result = invoke(["collect", "em_rank", "--db", str(tmp_path / "s.db")], env, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output.split()[:3] == ["em_rank", "ok", "60"]  # 30 daily ranks + 30 market values
    db = open_store(tmp_path / "s.db")
    assert db["observations"].count == 60
    assert db["source_health"].get("em_rank")["status"] == "ok"
