"""The notices collector against loopback bse.cn, cninfo and CSRC sites that behave as SOURCES.md §3-§4 says."""

import asyncio
import json
from datetime import datetime

import pytest

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import CollectContext, collect_one
from sentibot.collect.http import PoliteClient
from sentibot.store.db import open_store, save_scores
from sentibot.timeutil import SHANGHAI
from tests.support.paths import FIXTURES
from tests.support.sites_2026 import (
    CSRC_CHANNEL, SUPERVISION_NODE, BseSite, CninfoSite, CsrcSite, real_notice,
)

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
NOW_2023 = datetime(2023, 11, 27, 19, 10, tzinfo=SHANGHAI)  # ten minutes after the real statement
NOW_2025 = datetime(2025, 7, 4, 20, 0, tzinfo=SHANGHAI)
STATEMENT = "notice_2023-11-27_trading_supervision.txt"
BULLETIN = "notice_2025-07-04_supervision_bulletin.txt"
PAGE = "/news/c/2023-11-27/520001.html"


def page_html(body: str) -> str:
    page = (FIXTURES / "bse" / "constructed_notice_page.html").read_text(encoding="utf-8")
    return page.replace("{NOTICE_BODY}", "".join(f"<p>{line}</p>" for line in body.splitlines()))


def disclosure(title: str, code: str, day: str) -> dict:
    return {"companyCd": code, "companyName": title.split(":")[0], "disclosureTitle": title,
            "destFilePath": f"/disclosure/{day[:4]}/{day}/{code}.pdf", "publishDate": day, "xxfcbj": "2",
            "fileExt": "pdf", "xxzrlx": "C"}


@pytest.fixture
def sites():
    with BseSite() as bse, CninfoSite() as cninfo, CsrcSite() as csrc:
        title, published, body = real_notice(STATEMENT)
        # the 2023 statement as a title-only item (its page holds the text), linkUrl preferred over htmlUrl
        bse.news["1289"] = [{"infoId": 1, "title": title, "text": "", "linkUrl": PAGE, "htmlUrl": "/wrong.html",
                             "publishDate": published.replace("T", " ")[:19], "metaDescription": ""}]
        bse.pages[PAGE] = page_html(body)
        title25, published25, body25 = real_notice(BULLETIN)
        bse.news[SUPERVISION_NODE] = [{"infoId": 2, "title": title25, "text": f"<p>{body25}</p>",
                                       "linkUrl": "/disclosure/c/2025-07-04/1.html",
                                       "publishDate": published25.replace("T", " ")[:19]}]
        bse.disclosures = [disclosure("[临时公告]凯华材料:股票交易异常波动公告", "831526", "2023-11-27"),
                           disclosure("[临时公告]志晟信息:风险提示性公告", "832171", "2023-11-27"),
                           disclosure("[临时公告]华阳变速:股票交易异常波动公告", "920146", "2023-11-26"),
                           disclosure("[临时公告]某公司:权益变动报告书", "833000", "2023-11-27")]
        cninfo.rows = [{"secCode": "920526", "secName": "凯华材料", "announcementTitle": "股票交易异常波动公告",
                        "announcementTime": 1701014400000, "adjunctUrl": "finalpage/2023-11-27/1218.PDF"},
                       {"secCode": "600519", "secName": "贵州茅台", "announcementTitle": "股票交易异常波动公告",
                        "announcementTime": 1701014400000, "adjunctUrl": "finalpage/2023-11-27/9.PDF"}]
        csrc.results = [{"title": "证监会指导北交所加强交易监管", "url": "/csrc/c100028/c7444001/content.shtml",
                         "publishedTimeStr": "2023-11-27 18:00:00", "content": "", "channelName": "要闻"}]
        csrc.pages["/csrc/c100028/c7444001/content.shtml"] = (
            FIXTURES / "csrc" / "constructed_article_late_pubdate.html").read_text(encoding="utf-8")
        yield bse, cninfo, csrc


def run(sites, tmp_path, now=NOW_2023, **overrides):
    bse, cninfo, csrc = sites
    options = dict(bse_url=bse.url, cninfo_url=cninfo.url, csrc_url=csrc.url, user_agent=BROWSER,
                   csrc_lists=("/csrc/c100028/common_list.shtml",), admin_ids=(7,))
    options.update(overrides)
    settings = load_settings({}, None, **options)
    db = open_store(tmp_path / "s.db")

    async def go():
        async with PoliteClient.from_settings(settings, min_interval_s=0, retries=0) as client:
            return await collect_one("notices", CollectContext(client, db, settings, now))

    return asyncio.run(go()), db


def subscribe(db):
    for chat_id, active in ((101, 1), (102, 1), (103, 0)):
        db["subscribers"].insert({"chat_id": chat_id, "user_id": chat_id, "chat_type": "private", "username": "u",
                                  "min_level": "hot", "active": active, "subscribed_at": "x", "updated_at": "x"})


def alerts(db):
    return [dict(r, stocks=json.loads(r["stocks"])) for r in db.query("select * from alerts order by id")]


@pytest.mark.slow
def test_2023_statement_alerts_once_with_the_stocks_it_names(sites, tmp_path):
    bse, _, csrc = sites
    db = open_store(tmp_path / "s.db")
    subscribe(db)
    save_scores(db, [{"date": "2023-11-24", "score": 91.0, "level": "frenzy"}], "x")
    result, db = run(sites, tmp_path)
    assert result.outcome is Outcome.OK, result.detail
    url = f"{bse.url}{PAGE}"
    row = db["notices"].get(url)
    assert row["source"] == "bse.cn 本所要闻" and row["notice_class"] == "regulator_warning"
    assert json.loads(row["stocks"]) == ["920526", "920171", "920146"]  # 凯华材料, 志晟信息, 华阳变速 by name
    [alert] = [a for a in alerts(db) if a["dedupe_key"] == f"regulator_warning:{url}"]
    assert alert["stocks"] == ["920526", "920171", "920146"] and (alert["level"], alert["score"]) == ("frenzy", 91.0)
    deliveries = sorted(r["chat_id"] for r in db.query("select chat_id from deliveries where alert_id = ?",
                                                       [alert["id"]]))
    assert deliveries == [101, 102]
    # risk disclosures over two pages (totalPages), after the warm-up; the other title dropped; codes as 920xxx
    kept = {r["title"]: json.loads(r["stocks"]) for r in db.query("select * from notices where source = ?",
                                                                  ["bse.cn 公司公告"])}
    assert kept == {"[临时公告]凯华材料:股票交易异常波动公告": ["920526"], "[临时公告]志晟信息:风险提示性公告": ["920171"],
                    "[临时公告]华阳变速:股票交易异常波动公告": ["920146"]}
    assert bse.hits("/disclosure/announcement.html") >= 1
    # CSRC: the JSON API (channel id from the JS-only list page), the real date, not the later PubDate
    [release] = db.query("select * from notices where source = 'csrc.gov.cn'")
    assert release["url"] == f"{csrc.url}/csrc/c100028/c7444001/content.shtml"  # protocol-relative, normalised
    assert release["published_at"] == "2023-11-27T18:00:00+08:00"
    assert csrc.hits(f"/searchList/{CSRC_CHANNEL}") == 1
    # once: a second cycle adds no alert and does not fetch the title-only page again
    again, db = run(sites, tmp_path)
    assert "0 new, 0 edited" in again.detail and bse.hits(PAGE) == 1
    assert len([a for a in alerts(db) if a["kind"] == "regulator_warning"]) == 2  # the statement and CSRC's


def test_2025_bulletin_from_the_supervision_column_alerts(sites, tmp_path):
    bse, _, _ = sites
    result, db = run(sites, tmp_path, now=NOW_2025)
    assert result.outcome is Outcome.OK, result.detail
    [row] = db.query("select * from notices where source = 'bse.cn 监管动态'")
    assert row["notice_class"] == "regulator_warning" and row["severity"] == 6  # 暂停证券账户交易
    assert json.loads(row["stocks"]) == ["920680", "920305"]  # *ST广道 (839680), *ST云创 (835305) by old code
    [alert] = alerts(db)
    assert alert["title"] == row["title"] and alert["stocks"] == ["920680", "920305"]
    # the node ids were read from the column pages, and are not read again within a day
    assert [r["value"] for r in db.query("select value from cursors where key like 'node:%' order by key")] \
        == ["1289", SUPERVISION_NODE]
    pages = bse.hits("/disclosure/supervision.html")
    run(sites, tmp_path, now=NOW_2025)
    assert bse.hits("/disclosure/supervision.html") == pages


def test_configured_node_ids_override_the_column_pages(sites, tmp_path):
    bse, _, _ = sites
    result, db = run(sites, tmp_path, bse_nodes=("1289",))
    assert result.outcome is Outcome.OK, result.detail
    assert bse.hits("/disclosure/supervision.html") == 0 and db["notices"].get(f"{bse.url}{PAGE}")


def test_javascript_challenge_is_answered_by_the_session_step(sites, tmp_path):
    bse, _, _ = sites
    bse.challenge = "js"
    result, db = run(sites, tmp_path)
    assert result.outcome is Outcome.OK, result.detail
    assert db["notices"].get(f"{bse.url}{PAGE}")["notice_class"] == "regulator_warning"


@pytest.mark.parametrize("form", ["persist", "loop"])
def test_a_challenge_that_persists_is_a_block(sites, tmp_path, form):
    bse, _, _ = sites
    bse.challenge = form
    result, db = run(sites, tmp_path)
    assert result.outcome is Outcome.BLOCKED and "C3VK" in result.detail
    assert db.execute("select count(*) from notices where source like 'bse.cn%'").fetchone()[0] == 0


def test_non_browser_agent_gets_the_waf_403(sites, tmp_path):
    result, db = run(sites, tmp_path, user_agent="python-httpx/0.28")
    assert result.outcome is Outcome.BLOCKED and "403" in result.detail


def test_cninfo_takes_over_when_bse_refuses_disclosures(sites, tmp_path):
    bse, cninfo, _ = sites
    bse.disclosures_refused = True
    result, db = run(sites, tmp_path)
    assert result.outcome is Outcome.OK, result.detail
    assert "disclosures from cninfo" in result.detail and "HTTP 403" in result.detail
    [row] = db.query("select * from notices where source = 'cninfo 公司公告'")  # the 600519 row is not a BSE stock
    assert row["title"] == "凯华材料:股票交易异常波动公告" and json.loads(row["stocks"]) == ["920526"]
    assert row["published_at"] == "2023-11-27T00:00:00+08:00"


def test_csrc_empty_results_with_a_total_is_an_error(sites, tmp_path):
    _, _, csrc = sites
    csrc.results, csrc.total = [], 120
    result, db = run(sites, tmp_path)
    assert result.outcome is Outcome.FAILED and "data.total is 120" in result.detail
    assert db["notices"].get(f"{sites[0].url}{PAGE}")  # the other feeds went on


def test_old_warning_is_stored_but_not_pushed(sites, tmp_path):
    result, db = run(sites, tmp_path, now=datetime(2023, 12, 5, 9, 0, tzinfo=SHANGHAI))
    assert db["notices"].get(f"{sites[0].url}{PAGE}")["notice_class"] == "regulator_warning"
    assert db["alerts"].count == 0
