"""Pure notice parsers: bse.cn null([...]) lists, notice pages, disclosure filtering, CSRC pages."""


import pytest

from sentibot.errors import InputError
from sentibot.collect.notices.cninfo import parse_cninfo
from sentibot.collect.notices.csrc import (
    ListedArticle,
    parse_channel_id,
    parse_csrc_article,
    parse_search_list,
)
from sentibot.collect.notices.parse import (
    c3vk_value,
    column_links,
    is_risk_disclosure,
    parse_bse_disclosures,
    parse_bse_news,
    parse_jsonp,
    parse_node_id,
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
    ("<html>验证码</html>", "expected a callback"),
    ("null([{\"a\": }])", "broken JSON"),
    ("null([])", "no object"),
])
def test_null_wrapper_bad_bodies(body, reason):
    with pytest.raises(InputError, match=reason) as exc:
        strip_null_wrapper(body, "https://www.bse.cn/info/listse.do node 1289")
    assert "listse.do node 1289" in str(exc.value)


def test_real_disclosures_keep_only_risk_titles():
    body = (FIX / "bse" / "disclosure_list_2021-07-19.jsonp").read_text(encoding="utf-8")
    notices, pages = parse_bse_disclosures(body, BASE, "companyAnnouncement.do")
    assert pages == 833  # the real sample: 16,647 rows, 20 a page
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
    first, second = parse_bse_news(body, BASE, "本所要闻", "listse 1289")
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


def test_any_callback_name_and_link_url_first():
    body = ('jQuery3310_1701083400000([{"data":{"content":[{"title":"t","linkUrl":"//www.bse.cn/a.html",'
            '"htmlUrl":"/b.html","publishDate":"2025-07-04 19:30:00","text":""}]}}]);')
    [notice] = parse_bse_news(body, BASE, "监管动态", "x")
    assert notice.url == "https://www.bse.cn/a.html" and notice.source == "bse.cn 监管动态"
    assert parse_jsonp("cb_1([{\"a\": 1}])", "x") == [{"a": 1}]
    with pytest.raises(InputError, match=r"truncated cb\(\[...\]\)"):
        parse_jsonp("cb([{", "x")


def test_disclosures_total_pages_and_company_code_as_920():
    body = ('cb([{"listInfo":{"content":[{"companyCd":"839946","disclosureTitle":"[临时公告]华阳变速:股票交易异常波动公告",'
            '"destFilePath":"/d/1.pdf","publishDate":"2023-11-27"}],"totalPages":4}}])')
    [notice], pages = parse_bse_disclosures(body, BASE, "x")
    assert pages == 4 and notice.stocks == ("920146",)  # not 920 + the last three digits


def test_node_id_and_column_links_from_a_column_page():
    page = (FIX / "bse" / "constructed_column_page.html").read_text(encoding="utf-8").replace("{NODE}", "1289")
    assert parse_node_id(page, "p") == "1289"
    links = column_links(page, "https://www.bse.cn/news/important_news.html", ("本所要闻", "监管动态"))
    assert links == {"本所要闻": "https://www.bse.cn/news/important_news.html",
                     "监管动态": "https://www.bse.cn/disclosure/supervision.html"}  # the javascript: link skipped
    with pytest.raises(InputError, match="no #curNodeId"):
        parse_node_id("<html><body>x</body></html>", "p")


@pytest.mark.parametrize("page, value", [
    ('<script>document.cookie="C3VK=b594c1; path=/; max-age=300;";location.reload();</script>', "b594c1"),
    ("<script>document.cookie='C3VK=a1b2';</script>", "a1b2"),
    ("null([])", None),
])
def test_c3vk_value(page, value):
    assert c3vk_value(page) == value


@pytest.mark.parametrize("meta", ['<meta name="channelid" content="abc123">', "<meta name='channelid' content='abc123'>"])
def test_csrc_channel_id_either_quote_style(meta):
    assert parse_channel_id(f"<html><head>{meta}</head></html>", "list") == "abc123"


def test_csrc_page_without_channel_id_names_the_setting():
    with pytest.raises(InputError, match="SENTIBOT_CSRC_CHANNELS"):
        parse_channel_id("<html></html>", "list")


def test_csrc_search_list_rows():
    payload = {"data": {"total": 1, "results": [{"title": "<b>标题</b>", "url": "//www.csrc.gov.cn/c/content.shtml",
                                                 "publishedTimeStr": "2023-11-27 18:00:00", "content": "<p>正文</p>"}]}}
    [row] = parse_search_list(payload, "https://www.csrc.gov.cn", "searchList")
    assert (row.url, row.title, row.published_at, row.text) == (
        "https://www.csrc.gov.cn/c/content.shtml", "标题", "2023-11-27T18:00:00+08:00", "正文")


def test_csrc_empty_results_with_total_is_an_error():
    with pytest.raises(InputError, match="total is 5"):
        parse_search_list({"data": {"results": [], "total": 5}}, "https://x", "searchList")
    assert parse_search_list({"data": {"results": [], "total": 0}}, "https://x", "searchList") == []


def test_csrc_article_date_is_never_the_later_pubdate():
    html = (FIX / "csrc" / "constructed_article_late_pubdate.html").read_text(encoding="utf-8")
    listed = ListedArticle("https://x/c.shtml", "t", "2023-11-27T18:00:00+08:00")
    assert parse_csrc_article(html, listed).published_at == "2023-11-27T18:00:00+08:00"
    later_list = ListedArticle("https://x/c.shtml", "t", "2023-12-04T09:12:00+08:00")
    assert parse_csrc_article(html, later_list).published_at == "2023-11-27T00:00:00+08:00"  # the 日期 line


def test_csrc_article_keeps_body_text():
    listed = ListedArticle("https://x/c.shtml", "t", "2023-11-24T16:30:00+08:00")
    notice = parse_csrc_article((FIX / "csrc" / "constructed_article.html").read_text(encoding="utf-8"), listed)
    assert notice.title == "证监会新闻发布会（2023年11月24日）"
    assert notice.text == "近期北交所市场交易活跃，我会高度关注。\n我会将指导北交所加强交易监管，及时提示交易风险。"


def test_csrc_article_without_meta_falls_back_to_list_row():
    listed = ListedArticle("http://x/c/content.shtml", "标题", "2023-11-17T00:00:00+08:00")
    notice = parse_csrc_article("<html><body><div class='detail-news'>正文</div></body></html>", listed)
    assert (notice.title, notice.published_at, notice.text) == ("标题", "2023-11-17T00:00:00+08:00", "正文")


def test_cninfo_keeps_bse_risk_rows_only():
    payload = {"hasMore": True, "announcements": [
        {"secCode": "832171", "secName": "志晟信息", "announcementTitle": "<em>风险提示</em>性公告",
         "announcementTime": 1701014400000, "adjunctUrl": "finalpage/2023-11-27/1.PDF"},
        {"secCode": "000001", "secName": "平安银行", "announcementTitle": "风险提示性公告",
         "announcementTime": 1701014400000, "adjunctUrl": "finalpage/2023-11-27/2.PDF"}]}
    [notice], more = parse_cninfo(payload, "cninfo")
    assert more and notice.stocks == ("920171",) and notice.title == "志晟信息:风险提示性公告"
    assert notice.url == "http://static.cninfo.com.cn/finalpage/2023-11-27/1.PDF"
    assert parse_cninfo({"announcements": None}, "cninfo") == ([], False)
    with pytest.raises(InputError, match="no announcements"):
        parse_cninfo({"error": "x"}, "cninfo")
