"""Pure parsers for CSRC (csrc.gov.cn): the list page's channel id, the searchList JSON API, article pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from sentibot.errors import InputError
from sentibot.models import Notice
from sentibot.collect.notices.parse import html_to_text, iso_shanghai, parse_notice_page

SEARCH_PAGE_SIZE = 18  # what the site's own list script asks for (SOURCES.md §4)
_DATE_LINE = re.compile(r"日\s*期\s*[:：]\s*(\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)")


@dataclass(frozen=True)
class ListedArticle:
    """One row of a CSRC list (the searchList API): where, what, when, and the text when the list carries it."""

    url: str
    title: str
    published_at: str
    text: str = ""


def parse_channel_id(html: str, where: str) -> str:
    """The channel id in a CSRC list page's `<meta name="channelid" content="...">` (either quote style)."""
    tag = BeautifulSoup(html or "", "html.parser").find("meta", attrs={"name": re.compile("^channelid$", re.I)})
    value = str(tag.get("content") or "").strip() if tag else ""
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,64}", value):
        raise InputError(f"{where}: no <meta name=\"channelid\"> on the list page (set SENTIBOT_CSRC_CHANNELS)")
    return value


def search_list_params(page: int = 1) -> dict[str, Any]:
    """The query the list page's script sends to /searchList/{channelId}."""
    return {"_isAgg": "true", "_isJson": "true", "_pageSize": SEARCH_PAGE_SIZE, "_template": "index", "page": page}


def parse_search_list(payload: Any, base_url: str, where: str) -> list[ListedArticle]:
    """Rows of a searchList answer (data.results[]); empty results with data.total > 0 is an error, not 'nothing'."""
    data = payload.get("data") if isinstance(payload, dict) else None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(results, list):
        raise InputError(f"{where}: no data.results list in the searchList answer")
    total = data.get("total")
    if not results and isinstance(total, int) and total > 0:
        raise InputError(f"{where}: data.results is empty but data.total is {total}: the list was not served")
    rows = []
    for i, item in enumerate(results):
        item = item if isinstance(item, dict) else {}
        title = html_to_text(str(item.get("title") or "")).replace("\n", " ")
        url = str(item.get("url") or "").strip()
        if not title or not url:
            raise InputError(f"{where}: results[{i}] has no title or url")
        rows.append(ListedArticle(url=urljoin(base_url + "/", url), title=title,  # //host/... takes base's scheme
                                  published_at=iso_shanghai(item.get("publishedTimeStr"), f"{where} results[{i}]"),
                                  text=html_to_text(str(item.get("content") or ""))))
    return rows


def visible_date(html: str) -> str | None:
    """The article's visible '日期：YYYY-MM-DD' line, as ISO with +08:00 (None when the page has none)."""
    text = BeautifulSoup(html or "", "html.parser").get_text(" ")
    match = _DATE_LINE.search(text)
    return iso_shanghai(match.group(1), "date line") if match else None


def listed_notice(row: ListedArticle) -> Notice:
    """A list row that carries its text, as a Notice (no article page needed)."""
    return Notice(url=row.url, source="csrc.gov.cn", published_at=row.published_at, title=row.title, text=row.text)


def parse_csrc_article(html: str, listed: ListedArticle) -> Notice:
    """A CSRC article page -> Notice; the date is the list's or the visible 日期 line, never the (later) PubDate."""
    soup = BeautifulSoup(html or "", "html.parser")
    tag = soup.find("meta", attrs={"name": "ArticleTitle"})
    title = str(tag.get("content") or "").strip() if tag else ""
    shown = visible_date(html)
    # publishedTimeStr carries the time of day; the visible line only wins when it names an earlier day
    published = shown if shown and shown[:10] < listed.published_at[:10] else listed.published_at
    return Notice(url=listed.url, source="csrc.gov.cn", published_at=published, title=title or listed.title,
                  text=parse_notice_page(html, listed.url))
