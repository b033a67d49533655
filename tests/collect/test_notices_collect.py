"""Notices collector over real HTTP to a local server: store once, record edits, classify, alert end to end."""

import asyncio
import json
from datetime import datetime
from pathlib import Path

import pytest
from werkzeug.wrappers import Response

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import CollectContext, collect_one
from sentibot.collect.http import PoliteClient
from sentibot.store.db import open_store, save_scores
from sentibot.timeutil import SHANGHAI
from tests.support.paths import FIXTURES

FIX = FIXTURES
NOW = datetime(2023, 11, 27, 19, 10, tzinfo=SHANGHAI)  # ten minutes after the real notice was published
PAGE = "/news/c/2023-11-27/520001.html"
EMPTY_DISCLOSURES = 'null([{"listInfo":{"content":[],"lastPage":true,"totalElements":0},"status":0}])'


def real_notice() -> tuple[str, str]:
    lines = (FIX / "bse" / "notice_2023-11-27_trading_supervision.txt").read_text(encoding="utf-8").splitlines()
    title = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("title:"))
    return title, "\n".join(line for line in lines if line and not line.startswith("#") and ":" not in line[:14])


def listse_body(inline_text: str = "<p>本所召开会员座谈会，<b>听取</b>意见。</p>") -> str:
    title, _ = real_notice()
    body = (FIX / "bse" / "constructed_listse_1289.jsonp").read_text(encoding="utf-8").replace("{NOTICE_TITLE}", title)
    return body.replace("<p>本所召开会员座谈会，<b>听取</b>意见。</p>", inline_text)


def disclosures(request):
    first = request.form.get("keyword") == "异常波动" and request.form.get("page") == "0"
    body = (FIX / "bse" / "disclosure_list_2021-07-19.jsonp").read_text(encoding="utf-8") if first else EMPTY_DISCLOSURES
    return Response(body.replace('"lastPage":false', '"lastPage":true'), content_type="text/html")


@pytest.fixture
def site(httpserver):
    """A local bse.cn + csrc.gov.cn serving the real notice (page) and real disclosure list."""
    _, body = real_notice()
    page = (FIX / "bse" / "constructed_notice_page.html").read_text(encoding="utf-8")
    page = page.replace("{NOTICE_BODY}", "".join(f"<p>{line}</p>" for line in body.splitlines()))
    httpserver.expect_request("/info/listse.do", method="POST", data=None).respond_with_handler(
        lambda r: Response(httpserver.listse if r.form.get("nodeIds[]") == "1289" else "null([{\"data\":{\"content\":[]}}])"))
    httpserver.expect_request(PAGE, method="GET").respond_with_handler(
        lambda r: (httpserver.page_hits.append(1), Response(page, content_type="text/html; charset=utf-8"))[1])
    httpserver.expect_request("/disclosureInfoController/infoResult.do", method="POST").respond_with_handler(disclosures)
    httpserver.expect_request("/csrc/c100029/common_list.shtml").respond_with_data(
        (FIX / "csrc" / "constructed_list.html").read_bytes(), content_type="text/html; charset=utf-8")
    article = (FIX / "csrc" / "constructed_article.html").read_bytes()
    for cid in ("c7444001", "c7443002"):
        httpserver.expect_request(f"/csrc/c100029/{cid}/content.shtml").respond_with_data(
            article, content_type="text/html; charset=utf-8")
    httpserver.listse = listse_body()
    httpserver.page_hits = []
    return httpserver


def run(server, tmp_path, now=NOW):
    base = server.url_for("").rstrip("/")
    settings = load_settings({}, None, bse_url=base, csrc_url=base, bse_nodes=("1289", "1304"),
                             csrc_lists=("/csrc/c100029/common_list.shtml",), admin_ids=(7,))
    db = open_store(tmp_path / "s.db")

    async def go():
        async with PoliteClient.from_settings(settings, min_interval_s=0, retries=0) as client:
            return await collect_one("notices", CollectContext(client, db, settings, now))

    return asyncio.run(go()), db


def subscribe(tmp_path):
    db = open_store(tmp_path / "s.db")
    for chat_id, active in ((101, 1), (102, 1), (103, 0)):
        db["subscribers"].insert({"chat_id": chat_id, "user_id": chat_id, "chat_type": "private", "username": "u",
                                  "min_level": "hot", "active": active, "subscribed_at": "x", "updated_at": "x"})


def test_real_notice_alerts_end_to_end(site, tmp_path):
    subscribe(tmp_path)
    save_scores(open_store(tmp_path / "s.db"), [{"date": "2023-11-24", "score": 91.0, "level": "frenzy"},
                                                {"date": "2023-11-28", "score": 40.0, "level": "warming"}], "x")
    result, db = run(site, tmp_path)
    assert result.outcome is Outcome.OK, result.detail
    url = site.url_for(PAGE)
    row = db["notices"].get(url)
    title, body = real_notice()
    assert (row["title"], row["text"], row["source"]) == (title, body, "bse.cn 本所要闻")
    assert row["notice_class"] == "regulator_warning" and row["severity"] >= 3
    assert "警示函" in json.loads(row["triggers"])
    alert = next(db.query("select * from alerts where dedupe_key = ?", [f"regulator_warning:{url}"]))
    assert alert["kind"] == "regulator_warning" and alert["title"] == title
    assert (alert["level"], alert["score"]) == ("frenzy", 91.0)  # the heat when it was published
    deliveries = sorted(r["chat_id"] for r in db.query("select chat_id from deliveries where alert_id = ?", [alert["id"]]))
    assert deliveries == [101, 102]  # every active subscriber, not the inactive one
    # the two risk titles of the real disclosure list are kept, the 18 others dropped
    kept = [r["title"] for r in db.query("select title from notices where source = 'bse.cn 公司公告'")]
    assert sorted(kept) == sorted(["[券商公告]月旭科技:财通证券股份有限公司关于月旭科技（上海）股份有限公司的风险提示性公告",
                                   "[临时公告]ST太尔:股票交易异常波动公告"])
    csrc = db["notices"].get(site.url_for("/csrc/c100029/c7444001/content.shtml"))
    assert csrc["source"] == "csrc.gov.cn" and "加强交易监管" in csrc["text"]
    health = db["source_health"].get("notices")
    assert health["status"] == "ok" and "regulator alert" in health["detail"]


def test_second_cycle_stores_nothing_twice_and_edits_are_revisions(site, tmp_path):
    run(site, tmp_path)
    first_alerts = list(db_rows(tmp_path, "alerts"))
    result, db = run(site, tmp_path)
    assert result.items == 0 and "0 new, 0 edited" in result.detail
    assert len(site.page_hits) == 1  # the title-only notice's page is not fetched again
    assert list(db_rows(tmp_path, "alerts")) == first_alerts
    site.listse = listse_body("<p>本所召开会员座谈会，听取意见并部署工作。</p>")
    result, db = run(site, tmp_path)
    assert "0 new, 1 edited" in result.detail
    url = site.url_for("/news/c/2023-11-24/519990.html")
    revisions = [r["text"] for r in db.query("select text from notice_revisions where url = ? order by revision", [url])]
    assert revisions == ["本所召开会员座谈会，听取意见。", "本所召开会员座谈会，听取意见并部署工作。"]
    assert db["notices"].get(url)["revision"] == 2


def db_rows(tmp_path, table):
    return open_store(tmp_path / "s.db")[table].rows


def test_old_warning_is_stored_but_not_pushed(site, tmp_path):
    result, db = run(site, tmp_path, now=datetime(2023, 12, 5, 9, 0, tzinfo=SHANGHAI))
    assert db["notices"].get(site.url_for(PAGE))["notice_class"] == "regulator_warning"
    assert db["alerts"].count == 0


def test_truncated_list_stores_nothing_from_it(site, tmp_path):
    site.listse = (FIX / "bse" / "constructed_truncated_listse.jsonp").read_text(encoding="utf-8")
    result, db = run(site, tmp_path)
    assert result.outcome is Outcome.FAILED and "truncated null([...]) body" in result.detail
    assert "node 1289" in result.detail
    assert db.execute("select count(*) from notices where source like 'bse.cn 本所%'").fetchone()[0] == 0
    assert db.execute("select count(*) from notices where source = 'csrc.gov.cn'").fetchone()[0] == 2  # others go on


def test_waf_challenge_is_a_block(site, tmp_path):
    site.listse = '<script>document.cookie="C3VK=b594c1; path=/; max-age=300;";location.reload();</script>'
    result, _ = run(site, tmp_path)
    assert result.outcome is Outcome.BLOCKED and "challenge page" in result.detail


def test_unreachable_page_stores_nothing_for_that_notice_and_retries_next_cycle(site, tmp_path):
    site.clear_all_handlers()
    site.expect_request("/info/listse.do").respond_with_handler(
        lambda r: Response(site.listse if r.form.get("nodeIds[]") == "1289" else "null([{\"data\":{\"content\":[]}}])"))
    site.expect_request(PAGE).respond_with_data("gone", status=404)
    site.expect_request("/disclosureInfoController/infoResult.do").respond_with_data(EMPTY_DISCLOSURES)
    site.expect_request("/csrc/c100029/common_list.shtml").respond_with_data(
        (FIX / "csrc" / "constructed_empty_shell.html").read_bytes())
    result, db = run(site, tmp_path)
    assert result.outcome is Outcome.FAILED and "HTTP 404" in result.detail
    assert db["notices"].count == 1  # only the item that carried its text inline
    assert db.execute("select count(*) from notices where url = ?", [site.url_for(PAGE)]).fetchone()[0] == 0
