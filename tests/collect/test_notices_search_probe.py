"""`sentibot probe notices baidu_index wechat_index` against loopback sites that behave as SOURCES.md says."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from sentibot.timeutil import now
from tests.support.sites_2026 import BaiduSite, BseSite, CninfoSite, CsrcSite, WechatSite
from tests.support.cli import run

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
COOKIE, OPENID, KEY = "BDUSS=c00kie-s3cret", "oid-s3cret", "k3y-s3cret"


@pytest.fixture
def sites(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in [k for k in os.environ if k.startswith("SENTIBOT_")]:
        monkeypatch.delenv(name)
    with BseSite() as bse, CninfoSite() as cninfo, CsrcSite() as csrc, BaiduSite(COOKIE, now()) as baidu, \
            WechatSite(OPENID, KEY) as wechat:
        bse.news["1289"] = [{"title": "北交所召开会员座谈会", "text": "<p>本所召开会员座谈会。</p>", "linkUrl": "/a.html",
                             "publishDate": (now() - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")}]
        env = {"SENTIBOT_BSE_URL": bse.url, "SENTIBOT_CNINFO_URL": cninfo.url, "SENTIBOT_CSRC_URL": csrc.url,
               "SENTIBOT_CSRC_LISTS": "/csrc/c100028/common_list.shtml", "SENTIBOT_BAIDU_INDEX_URL": baidu.url,
               "SENTIBOT_WECHAT_INDEX_URL": wechat.url, "SENTIBOT_BAIDU_COOKIE": COOKIE,
               "SENTIBOT_BAIDU_KEYWORDS": "北交所", "SENTIBOT_WECHAT_OPENID": OPENID,
               "SENTIBOT_WECHAT_SEARCH_KEY": KEY, "SENTIBOT_USER_AGENT": BROWSER, "SENTIBOT_MIN_INTERVAL_S": "0",
               "SENTIBOT_HTTP_RETRIES": "0"}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield bse, baidu, wechat


def lines(out: str) -> dict[str, dict]:
    return {f"{row['source']} {row['endpoint']}": row for row in map(json.loads, out.splitlines())}


def test_probe_passes_against_sites_that_behave(sites, capsys):
    code, out, err = run(["probe", "notices", "baidu_index", "wechat_index", "--json"], capsys)
    assert code == 0, out + err
    found = lines(out)
    assert all(row["status"] == "ok" for row in found.values()), out
    assert "#curNodeId 1289" in found["notices bse.cn column 本所要闻"]["detail"]
    assert "1 items in [0].data.content, 1 with text" in found["notices bse.cn news 本所要闻"]["detail"]
    assert "totalPages" in found["notices bse.cn disclosures"]["detail"]
    assert "channelid a1a078ee" in found["notices csrc list /csrc/c100028/common_list.shtml"]["detail"]
    assert {"baidu_index SearchApi/index", "baidu_index Interface/ptbk", "wechat_index wxaweb/wxindex"} <= set(found)


def test_a_persisting_challenge_is_blocked_and_fails_the_probe(sites, capsys):
    sites[0].challenge = "persist"
    code, out, _ = run(["probe", "notices", "--json"], capsys)
    assert code == 1
    blocked = [row for row in lines(out).values() if row["url"].startswith(sites[0].url)]
    assert blocked and all(row["status"] == "blocked" and "C3VK" in row["detail"] for row in blocked)


def test_rejected_wechat_credentials_are_needs_and_fail_missing_ones_do_not(sites, capsys, monkeypatch):
    monkeypatch.setenv("SENTIBOT_WECHAT_SEARCH_KEY", "expired")
    code, out, _ = run(["probe", "wechat_index", "--json"], capsys)
    [row] = lines(out).values()
    assert code == 1 and row["status"] == "needs" and "code -10000" in row["detail"]
    monkeypatch.delenv("SENTIBOT_BAIDU_COOKIE")
    code, out, _ = run(["probe", "baidu_index", "--json"], capsys)
    [row] = lines(out).values()
    assert code == 0 and row["status"] == "needs" and row["configured"] is False


def test_baidu_wrong_clock_is_blocked_by_10018(sites, capsys):
    sites[1].now = now() - timedelta(hours=2)  # the server's clock: our Cipher-Text looks stale to it
    code, out, _ = run(["probe", "baidu_index", "--json"], capsys)
    [row] = lines(out).values()
    assert code == 1 and row["status"] == "blocked" and "10018" in row["detail"]


def test_record_keeps_no_credential(sites, capsys, tmp_path):
    code, out, err = run(["probe", "notices", "baidu_index", "wechat_index", "--record", str(tmp_path / "rec")],
                         capsys)
    assert code == 0, out + err
    written = [p for p in (tmp_path / "rec").rglob("*") if p.is_file()]
    assert written
    for path in written:
        body = path.read_text(encoding="utf-8", errors="replace")
        assert not any(secret in body for secret in ("c00kie-s3cret", OPENID, KEY)), path
