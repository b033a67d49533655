"""`sentibot collect notices baidu_index wechat_index` against loopback sites that behave as SOURCES.md says."""

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from sentibot.cli import cli
from sentibot.store.db import open_store
from sentibot.timeutil import now
from tests.support.sites_2026 import (
    SUPERVISION_NODE, BaiduSite, BseSite, CninfoSite, CsrcSite, WechatSite, real_notice,
)

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture
def world():
    moment = now()
    with BseSite() as bse, CninfoSite() as cninfo, CsrcSite() as csrc, BaiduSite("BDUSS=abc", moment) as baidu, \
            WechatSite("oid", "skey") as wechat:
        title, _, body = real_notice("notice_2025-07-04_supervision_bulletin.txt")
        fresh = (moment - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
        bse.news[SUPERVISION_NODE] = [{"title": title, "text": f"<p>{body}</p>", "linkUrl": "/c/bulletin.html",
                                       "publishDate": fresh}]
        bse.disclosures = [{"companyCd": "839680", "companyName": "*ST广道", "destFilePath": "/d/839680.pdf",
                            "disclosureTitle": "[临时公告]*ST广道:股票交易风险提示暨停牌核查公告",
                            "publishDate": fresh[:10]}]
        csrc.results = [{"title": "证监会指导北交所加强交易监管", "url": "/csrc/c100028/c1/content.shtml",
                         "publishedTimeStr": fresh, "content": "<p>我会指导北交所加强交易监管，对异常交易行为采取自律监管措施。</p>"}]
        yield {"SENTIBOT_BSE_URL": bse.url, "SENTIBOT_CNINFO_URL": cninfo.url, "SENTIBOT_CSRC_URL": csrc.url,
               "SENTIBOT_CSRC_LISTS": "/csrc/c100028/common_list.shtml", "SENTIBOT_BAIDU_INDEX_URL": baidu.url,
               "SENTIBOT_WECHAT_INDEX_URL": wechat.url, "SENTIBOT_BAIDU_COOKIE": "BDUSS=abc",
               "SENTIBOT_BAIDU_KEYWORDS": "北交所", "SENTIBOT_WECHAT_OPENID": "oid", "SENTIBOT_WECHAT_SEARCH_KEY": "skey",
               "SENTIBOT_WECHAT_KEYWORDS": "北交所", "SENTIBOT_USER_AGENT": BROWSER, "SENTIBOT_MIN_INTERVAL_S": "0",
               "SENTIBOT_HTTP_RETRIES": "0"}


def collect(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in [k for k in __import__("os").environ if k.startswith("SENTIBOT_")]:
        monkeypatch.delenv(name)
    return CliRunner().invoke(cli, ["collect", "notices", "baidu_index", "wechat_index", "--db",
                                    str(tmp_path / "s.db")], env=env)


def test_collect_stores_every_source_and_alerts_once(world, tmp_path, monkeypatch):
    result = collect(world, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.output.splitlines()] == ["ok", "ok", "ok"]
    db = open_store(tmp_path / "s.db")
    [bulletin] = db.query("select * from notices where source = 'bse.cn 监管动态'")
    assert bulletin["notice_class"] == "regulator_warning" and json.loads(bulletin["stocks"]) == ["920680", "920305"]
    assert db.execute("select count(*) from notices where source = 'bse.cn 公司公告'").fetchone()[0] == 1
    [release] = db.query("select * from notices where source = 'csrc.gov.cn'")
    assert release["published_at"] == bulletin["published_at"]  # its publishedTimeStr (the same hour here)
    assert db.execute("select count(*) from observations where source = 'baidu_index'").fetchone()[0] > 0
    assert db.execute("select count(*) from observations where source = 'wechat_index'").fetchone()[0] > 0
    warnings = list(db.query("select stocks from alerts where kind = 'regulator_warning' order by ts"))
    assert len(warnings) == 2 and ["920680", "920305"] in [json.loads(w["stocks"]) for w in warnings]
    again = collect(world, tmp_path, monkeypatch)
    assert again.exit_code == 0, again.output
    assert db.execute("select count(*) from alerts").fetchone()[0] == 2  # alerted once
