"""Pure parsers for bse.cn: JSONP lists (any callback), news items, column node ids, disclosures, pages, C3VK."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from sentibot.codes import canonical, is_bse_code
from sentibot.errors import InputError
from sentibot.models import Notice

# Known node ids (names for the configured override); 1289 本所要闻 is the one SOURCES.md §3 confirms.
BSE_NODES = {"1289": "本所要闻", "1304": "交易管理", "1306": "市场管理", "2676": "业务通知",
             "1303": "持续监管", "1322": "法律法规", "1307": "公开征求意见"}
RISK_TITLE_WORDS = ("异常波动", "风险提示", "停牌核查")
# listse.do returns only the fields asked for (SOURCES.md §3); `text` is asked too, so a list can carry the body.
NEWS_FIELDS = "infoId,title,text,metaDescription,linkUrl,htmlUrl,publishDate"
DISCLOSURE_FIELDS = "companyCd,companyName,disclosureTitle,destFilePath,publishDate,xxfcbj,fileExt,xxzrlx"
# Containers that hold the article body on bse.cn / csrc.gov.cn pages, most specific first.
BODY_SELECTORS = ("div.detail-news", "div.TRS_Editor", "div.article-content", "div.content_text", "div.txt",
                  "div#content", "article", "div.content", "div.article")
_NOISE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "form", "iframe")
_BLOCK_TAGS = ("p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "table",
               "ul", "ol", "blockquote", "pre", "td")
_DATE = re.compile(r"(\d{4})[-/年](\d{1,2})[-/月](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_CALLBACK = re.compile(r"^\s*([A-Za-z_$][\w$.]*)\s*\(")
_C3VK = re.compile(r"""document\.cookie\s*=\s*["']\s*C3VK=([^;"'\s]+)""")


def parse_jsonp(body: str, where: str) -> list:
    """The JSON array inside a bse.cn `callback([...])` body, whatever the callback's name (null, jQuery123_4, ...)."""
    text = body.strip()
    match = _CALLBACK.match(text)
    if not match or not text[match.end():].lstrip().startswith("["):
        raise InputError(f"{where}: expected a callback([...]) body, got {text[:40]!r}")
    inner = text[match.end():].rstrip().rstrip(";").rstrip()
    if not inner.endswith("])"):
        raise InputError(f"{where}: truncated {match.group(1)}([...]) body ({len(text)} chars, no closing '])')")
    try:
        data = json.loads(inner[:-1])
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: broken JSON inside {match.group(1)}([...]) at char {exc.pos}: {exc.msg}") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        raise InputError(f"{where}: {match.group(1)}([...]) holds no object")
    return data


strip_null_wrapper = parse_jsonp  # the old name: `null` is just the callback bse.cn uses when none is given


def c3vk_value(body: str) -> str | None:
    """The C3VK cookie value a WAF JavaScript challenge sets (`document.cookie="C3VK=<value>; path=/"`), or None."""
    match = _C3VK.search(body or "")
    return match.group(1) if match else None


def iso_shanghai(raw: Any, where: str) -> str:
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


def _content(payload: dict, key: str, where: str) -> list:
    block = payload.get(key)
    content = block.get("content") if isinstance(block, dict) else None
    if not isinstance(content, list):
        raise InputError(f"{where}: no {key}.content list in the answer (keys: {sorted(payload)})")
    return content


def parse_bse_news(body: str, base_url: str, column: str, where: str) -> list[Notice]:
    """Notices of one listse.do answer ([0].data.content[]); linkUrl wins over htmlUrl; text '' = title only."""
    content = _content(parse_jsonp(body, where)[0], "data", where)
    notices = []
    for i, item in enumerate(content):
        item = item if isinstance(item, dict) else {}  # a non-object item is refused below (no title or URL)
        title = html_to_text(str(item.get("title") or "")).replace("\n", " ")
        href = item.get("linkUrl") or item.get("htmlUrl") or item.get("url")
        if not title or not href:
            raise InputError(f"{where}: item {i} has no title or linkUrl/htmlUrl")
        text = html_to_text(str(item.get("text") or ""))
        notices.append(Notice(url=urljoin(base_url + "/", str(href).strip()), source=f"bse.cn {column}",
                              published_at=iso_shanghai(item.get("publishDate"), f"{where} item {i}"),
                              title=title, text="" if text == title else text))
    return notices


def column_name(node: str) -> str:
    """The name of a configured node id ('node NNNN' when unknown)."""
    return BSE_NODES.get(str(node), f"node {node}")


def parse_node_id(html: str, where: str) -> str:
    """A bse.cn column page's node id, from its `#curNodeId` element (value attribute or text)."""
    tag = BeautifulSoup(html or "", "html.parser").find(id="curNodeId")
    value = "" if tag is None else str(tag.get("value") or tag.get_text() or "").strip()
    if not value.isdigit():
        found = "no #curNodeId element" if tag is None else f"#curNodeId is {value[:20]!r}, not a number"
        raise InputError(f"{where}: {found} on the column page")
    return value


def column_links(html: str, page_url: str, names: tuple[str, ...]) -> dict[str, str]:
    """{column name: absolute URL} of the links on a bse.cn page whose text is one of names."""
    found: dict[str, str] = {}
    for link in BeautifulSoup(html or "", "html.parser").find_all("a", href=True):
        label = " ".join(link.get_text().split())
        href = str(link["href"]).strip()
        if label in names and label not in found and not href.startswith(("javascript:", "#")):
            found[label] = urljoin(page_url, href)
    return found


def is_risk_disclosure(title: str) -> bool:
    """Company disclosures worth keeping: abnormal trading or risk warnings."""
    return any(word in title for word in RISK_TITLE_WORDS)


def parse_bse_disclosures(body: str, base_url: str, where: str) -> tuple[list[Notice], int]:
    """(risk-signalling disclosures, totalPages) of a companyAnnouncement.do answer ([0].listInfo.content[])."""
    payload = parse_jsonp(body, where)[0]
    content = _content(payload, "listInfo", where)
    pages = payload["listInfo"].get("totalPages")
    notices = []
    for i, item in enumerate(content):
        item = item if isinstance(item, dict) else {}  # a non-object item is not a risk disclosure: dropped
        title = str(item.get("disclosureTitle") or "")
        if not is_risk_disclosure(title):
            continue
        path = item.get("destFilePath")
        if not path:
            raise InputError(f"{where}: disclosure {i} ({title}) has no destFilePath")
        code = str(item.get("companyCd") or "")
        notices.append(Notice(url=urljoin(base_url + "/", str(path)), source="bse.cn 公司公告",
                              published_at=iso_shanghai(item.get("publishDate"), f"{where} item {i}"),
                              title=title, stocks=(canonical(code),) if is_bse_code(code) else ()))
    return notices, pages if isinstance(pages, int) and pages >= 0 else 1


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
