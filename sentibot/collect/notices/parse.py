"""Pure parsers for regulator notices: bse.cn JSONP lists and pages, CSRC list and article pages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from sentibot.errors import InputError
from sentibot.models import Notice

BSE_NODES = {"1289": "本所要闻", "1304": "交易管理", "1306": "市场管理", "2676": "业务通知",
             "1303": "持续监管", "1322": "法律法规", "1307": "公开征求意见"}
RISK_TITLE_WORDS = ("异常波动", "风险提示", "停牌核查")
# Containers that hold the article body on bse.cn / csrc.gov.cn pages, most specific first.
BODY_SELECTORS = ("div.detail-news", "div.TRS_Editor", "div.article-content", "div.content_text", "div.txt",
                  "div#content", "article", "div.content", "div.article")
_NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "form", "iframe")
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table",
               "ul", "ol", "blockquote", "pre", "td")
_DATE = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def strip_null_wrapper(body: str, where: str) -> list:
    """The JSON list inside a bse.cn `null([...])` body; InputError names what is wrong."""
    text = body.strip()
    if not text.startswith("null(["):
        raise InputError(f"{where}: expected a null([...]) body, got {text[:40]!r}")
    if not text.endswith("])"):
        raise InputError(f"{where}: truncated null([...]) body ({len(text)} chars, no closing '])')")
    try:
        data = json.loads(text[len("null("):-1])
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: broken JSON inside null([...]) at char {exc.pos}: {exc.msg}") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise InputError(f"{where}: null([...]) holds no object")
    return data


def iso_shanghai(raw: str, where: str) -> str:
    """'2023-11-27', '2023-11-27 19:00:00' or '2023年11月27日' -> ISO-8601 with +08:00."""
    match = _DATE.search(str(raw or ""))
    if not match:
        raise InputError(f"{where}: unreadable date {raw!r}")
    y, mo, d, h, mi, s = (int(part or 0) for part in match.groups())
    try:
        moment = datetime(y, mo, d, h, mi, s)  # refuses 0000-07-19, 2023-13-45, 25:00
    except ValueError:
        raise InputError(f"{where}: impossible date {raw!r}") from None
    return moment.isoformat() + "+08:00"


def _block_text(node) -> str:
    """Text with a line break per block element only, so inline tags (<b>, <a>) do not split sentences."""
    for tag in node.find_all(_BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in node.get_text("").splitlines())
    return "\n".join(line for line in lines if line)


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, one line per block, markup dropped."""
    if "<" not in (html or "") and "&" not in (html or ""):  # plain text (most titles): no parser needed
        lines = (" ".join(line.split()) for line in (html or "").splitlines())
        return "\n".join(line for line in lines if line)
    soup = BeautifulSoup(html or "", "html.parser")
    for tag in soup(_NOISE_TAGS):
        tag.decompose()
    return _block_text(soup)


def parse_bse_news(body: str, base_url: str, node: str, where: str) -> list[Notice]:
    """Notices of one listse.do answer (data.content[]); text is '' when the list gives only a title."""
    payload = strip_null_wrapper(body, where)[0]
    content = (payload.get("data") or {}).get("content") if isinstance(payload.get("data"), dict) else None
    if not isinstance(content, list):
        raise InputError(f"{where}: no data.content list in the answer (keys: {sorted(payload)})")
    source = f"bse.cn {BSE_NODES.get(str(node), 'node ' + str(node))}"
    notices = []
    for i, item in enumerate(content):
        item = item if isinstance(item, dict) else {}  # a non-object item is refused below (no title or htmlUrl)
        title = html_to_text(str(item.get("title") or "")).replace("\n", " ")
        href = item.get("htmlUrl") or item.get("url")
        if not title or not href:
            raise InputError(f"{where}: item {i} has no title or htmlUrl")
        text = html_to_text(str(item.get("text") or ""))
        notices.append(Notice(url=urljoin(base_url + "/", str(href)), source=source,
                              published_at=iso_shanghai(item.get("publishDate"), f"{where} item {i}"),
                              title=title, text="" if text == title else text))
    return notices


def is_risk_disclosure(title: str) -> bool:
    """Company disclosures worth keeping: abnormal trading or risk warnings."""
    return any(word in title for word in RISK_TITLE_WORDS)


def parse_bse_disclosures(body: str, base_url: str, where: str) -> list[Notice]:
    """Risk-signalling company disclosures from infoResult.do (listInfo.content[]); the rest is dropped."""
    payload = strip_null_wrapper(body, where)[0]
    info = payload.get("listInfo") if isinstance(payload, dict) else None
    content = info.get("content") if isinstance(info, dict) else None
    if not isinstance(content, list):
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise InputError(f"{where}: no listInfo.content list in the answer (keys: {keys})")
    notices = []
    for i, item in enumerate(content):
        item = item if isinstance(item, dict) else {}  # a non-object item is not a risk disclosure: dropped
        title = str(item.get("disclosureTitle") or "")
        if not is_risk_disclosure(title):
            continue
        path = item.get("destFilePath")
        if not path:
            raise InputError(f"{where}: disclosure {i} ({title}) has no destFilePath")
        notices.append(Notice(url=urljoin(base_url + "/", str(path)), source="bse.cn 公司公告",
                              published_at=iso_shanghai(item.get("publishDate"), f"{where} item {i}"),
                              title=title))
    return notices


def parse_notice_page(html: str, where: str) -> str:
    """The body text of a notice page (BeautifulSoup, text not markup); an empty shell is an error."""
    soup = BeautifulSoup(html or "", "html.parser")
    for tag in soup(_NOISE_TAGS):
        tag.decompose()
    node = next((found for sel in BODY_SELECTORS if (found := soup.select_one(sel)) is not None
                 and found.get_text(strip=True)), None) or soup.body or soup
    text = _block_text(node)
    if not text:
        raise InputError(f"{where}: page has no text (empty shell or script-only page)")
    return text


@dataclass(frozen=True)
class ListedArticle:
    """One row of a CSRC list page."""

    url: str
    title: str
    published_at: str


def parse_csrc_list(html: str, page_url: str) -> list[ListedArticle]:
    """Rows of a CSRC common_list.shtml page: <li><a href=".../content.shtml">title</a><span class="date">."""
    soup = BeautifulSoup(html or "", "html.parser")
    rows = []
    for li in soup.select("li"):
        link = li.find("a", href=True)
        date = li.find("span", class_="date")
        if link is None or date is None or "content.shtml" not in link["href"]:
            continue
        title = (link.get("title") or link.get_text()).strip()
        rows.append(ListedArticle(url=urljoin(page_url, link["href"]), title=title,
                                  published_at=iso_shanghai(date.get_text(), page_url)))
    if not rows and "content.shtml" not in (html or ""):
        raise InputError(f"{page_url}: no article rows (li > a[href*=content.shtml] + span.date) on the list page")
    return rows


def parse_csrc_article(html: str, listed: ListedArticle) -> Notice:
    """A CSRC article page -> Notice; meta ArticleTitle/PubDate win over the list row, body from div.detail-news."""
    soup = BeautifulSoup(html or "", "html.parser")

    def meta(name: str) -> str:
        tag = soup.find("meta", attrs={"name": name})
        return (tag.get("content") or "").strip() if tag else ""

    title = meta("ArticleTitle") or listed.title
    published = meta("PubDate")
    published_at = iso_shanghai(published, listed.url) if published else listed.published_at
    return Notice(url=listed.url, source="csrc.gov.cn", published_at=published_at, title=title,
                  text=parse_notice_page(html, listed.url))
