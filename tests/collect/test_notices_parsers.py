"""Pure notice parsers: bse.cn null([...]) lists, notice pages, disclosure filtering, CSRC pages."""

from pathlib import Path

import pytest

from sentibot.errors import InputError
from sentibot.collect.notices.parse import (
    ListedArticle,
    is_risk_disclosure,
    parse_bse_disclosures,
    parse_bse_news,
    parse_csrc_article,
    parse_csrc_list,
    parse_notice_page,
    strip_null_wrapper,
)
from tests.support.paths import FIXTURES

FIX = FIXTURES
BASE = "https://www.bse.cn"


def real_notice() -> tuple[str, str]:
    """(title, body) of the real 2023-11-27 notice; provenance lines (#) and headers dropped."""
    lines = (FIX / "bse" / "notice_2023-11-27_trading_supervision.txt").read_text(encoding="utf-8").splitlines()
    title = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("title:"))
    body = [line for line in lines if line and not line.startswith("#") and ":" not in line[:14]]
    return title, "\n".join(body)


def test_null_wrapper_real_disclosure_list():
    data = strip_null_wrapper((FIX / "bse" / "disclosure_list_2021-07-19.jsonp").read_text(encoding="utf-8"), "x")
    assert data[0]["listInfo"]["totalElements"] == 16647
    assert len(data[0]["listInfo"]["content"]) == 20


@pytest.mark.parametrize("body, reason", [
    ((FIX / "bse" / "constructed_truncated_listse.jsonp").read_text(encoding="utf-8"), "truncated"),
    ("null([", "truncated"),
    ("<html>验证码</html>", "expected a null"),
    ("null([{\"a\": }])", "broken JSON"),
    ("null([])", "no object"),
])
def test_null_wrapper_bad_bodies(body, reason):
    with pytest.raises(InputError, match=reason) as exc:
        strip_null_wrapper(body, "https://www.bse.cn/info/listse.do node 1289")
    assert "listse.do node 1289" in str(exc.value)


def test_real_disclosures_keep_only_risk_titles():
    body = (FIX / "bse" / "disclosure_list_2021-07-19.jsonp").read_text(encoding="utf-8")
    notices = parse_bse_disclosures(body, BASE, "infoResult.do")
    assert [n.title for n in notices] == [
        "[券商公告]月旭科技:财通证券股份有限公司关于月旭科技（上海）股份有限公司的风险提示性公告",
        "[临时公告]ST太尔:股票交易异常波动公告",
    ]
    assert all(n.url.startswith("https://www.bse.cn/disclosure/2021/2021-07-19/") for n in notices)
    assert notices[0].published_at == "2021-07-19T00:00:00+08:00"
    assert notices[0].source == "bse.cn 公司公告"


@pytest.mark.parametrize("title, keep", [
    ("[临时公告]凯华材料:股票交易异常波动公告", True), ("[临时公告]X:关于停牌核查的公告", True),
    ("[临时公告]X:风险提示性公告", True), ("[临时公告]X:权益变动报告书", False), ("年度报告", False),
])
def test_risk_title_filter(title, keep):
    assert is_risk_disclosure(title) is keep


def test_bse_news_items_title_only_and_inline_text():
    title, _ = real_notice()
    body = (FIX / "bse" / "constructed_listse_1289.jsonp").read_text(encoding="utf-8").replace("{NOTICE_TITLE}", title)
    first, second = parse_bse_news(body, BASE, "1289", "listse 1289")
    assert first.title == "北交所加强交易监管" and first.text == ""
    assert first.url == "https://www.bse.cn/news/c/2023-11-27/520001.html"
    assert first.published_at == "2023-11-27T19:00:00+08:00" and first.source == "bse.cn 本所要闻"
    assert second.text == "本所召开会员座谈会，听取意见。"


def test_notice_page_keeps_text_not_markup():
    title, body = real_notice()
    page = (FIX / "bse" / "constructed_notice_page.html").read_text(encoding="utf-8")
    page = page.replace("{NOTICE_BODY}", "".join(f"<p>{line}</p>" for line in body.splitlines()))
    text = parse_notice_page(page, "page")
    assert text == body
    assert "首页" not in text and "trackId" not in text


def test_empty_shell_page_is_an_error():
    with pytest.raises(InputError, match="no text"):
        parse_notice_page((FIX / "csrc" / "constructed_empty_shell.html").read_text(encoding="utf-8"), "p")


def test_csrc_list_and_article():
    url = "http://www.csrc.gov.cn/csrc/c100029/common_list.shtml"
    rows = parse_csrc_list((FIX / "csrc" / "constructed_list.html").read_text(encoding="utf-8"), url)
    assert [r.url for r in rows] == ["http://www.csrc.gov.cn/csrc/c100029/c7444001/content.shtml",
                                     "http://www.csrc.gov.cn/csrc/c100029/c7443002/content.shtml"]
    assert rows[1].title == "证监会就北交所近期市场运行答记者问"
    assert rows[1].published_at == "2023-11-17T00:00:00+08:00"
    notice = parse_csrc_article((FIX / "csrc" / "constructed_article.html").read_text(encoding="utf-8"), rows[0])
    assert notice.published_at == "2023-11-24T16:30:00+08:00"
    assert notice.text == "近期北交所市场交易活跃，我会高度关注。\n我会将指导北交所加强交易监管，及时提示交易风险。"


def test_csrc_list_without_rows_is_an_error():
    with pytest.raises(InputError, match="no article rows"):
        parse_csrc_list("<html><body><p>系统维护中</p></body></html>", "http://x/csrc/c100029/common_list.shtml")


def test_csrc_article_without_meta_falls_back_to_list_row():
    listed = ListedArticle("http://x/c/content.shtml", "标题", "2023-11-17T00:00:00+08:00")
    notice = parse_csrc_article("<html><body><div class='detail-news'>正文</div></body></html>", listed)
    assert (notice.title, notice.published_at, notice.text) == ("标题", "2023-11-17T00:00:00+08:00", "正文")
