"""bse.cn feeds: column node ids read from the column pages, news lists, company disclosures (cninfo fallback)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sentibot.errors import InputError
from sentibot.models import Notice, Outcome
from sentibot.store import db as store
from sentibot.collect.http import SHELL_MAX_BYTES, FetchError, captcha_marker, classify_json, safe_url
from sentibot.collect.notices import cninfo
from sentibot.collect.notices.parse import (
    DISCLOSURE_FIELDS, NEWS_FIELDS, RISK_TITLE_WORDS, c3vk_value, column_links, column_name as column_name_of,
    parse_bse_disclosures, parse_bse_news, parse_node_id,
)

if TYPE_CHECKING:
    from sentibot.collect.cycle import CollectContext

log = logging.getLogger(__name__)

SOURCE = "notices"
PAGE_SIZE = 50
DISCLOSURE_MAX_PAGES = 5
CNINFO_MAX_PAGES = 3
NODES_MAX_AGE_S = 86400.0  # column node ids are read again once a day (they change only with a site redesign)
CONFIRMED = {"本所要闻": "1289"}  # SOURCES.md §3: the one id clients confirm; used when its page cannot be read
NEWS_REFERER = "/news/important_news.html"
DISCLOSURE_PAGE = "/disclosure/announcement.html"  # the disclosures' Referer and warm-up page
XHR = {"X-Requested-With": "XMLHttpRequest"}


def bse_body(text: str, where: str) -> str:
    """A bse.cn JSONP body, or FetchError: a WAF challenge or captcha page that got through is a block, not bad JSON."""
    head = text.lstrip()[:1]
    if head and head not in "<":
        return text  # callback([...]) or something the parser names
    found = captcha_marker(text) or ("C3VK challenge" if c3vk_value(text) else None)
    if found or ("<script" in text and len(text.encode()) <= SHELL_MAX_BYTES):
        raise FetchError(f"{where}: challenge page ({found or 'script-only shell'}) instead of callback([...])",
                         Outcome.BLOCKED)
    return text


@dataclass(frozen=True)
class Column:
    """A news column: its name and listse.do node id."""

    name: str
    node: str


async def columns(ctx: CollectContext, problems: list[tuple[Outcome, str]]) -> list[Column]:
    """The columns to read: SENTIBOT_BSE_NODES when set, else the ids read from the column pages (cached a day)."""
    s = ctx.settings
    if s.bse_nodes:
        return [Column(column_name_of(n), n) for n in s.bse_nodes]
    stamp = ctx.now.isoformat(timespec="seconds")
    read_at = store.get_cursor(ctx.db, SOURCE, "nodes_read_at")
    cached: dict[str, str | None] = {name: store.get_cursor(ctx.db, SOURCE, f"node:{name}") for name in s.bse_columns}
    fresh = read_at and (ctx.now - datetime.fromisoformat(read_at)).total_seconds() < NODES_MAX_AGE_S
    if not (fresh and all(cached.values())):
        found = await _read_node_ids(ctx, s.bse_columns, problems)
        with ctx.db.atomic():
            for name, read in found.items():
                store.set_cursor(ctx.db, SOURCE, f"node:{name}", read, stamp)
            if len(found) == len(s.bse_columns):
                store.set_cursor(ctx.db, SOURCE, "nodes_read_at", stamp, stamp)
        cached.update(found)
    out: list[Column] = []
    for name in s.bse_columns:
        node = cached.get(name) or CONFIRMED.get(name)
        if node:
            out.append(Column(name, node))
        else:
            problems.append((Outcome.FAILED, f"bse.cn column {name}: node id not found on the column pages "
                                             "(set SENTIBOT_BSE_NODES to read it by id)"))
    return out


async def _read_node_ids(ctx: CollectContext, names: tuple[str, ...],
                         problems: list[tuple[Outcome, str]]) -> dict[str, str]:
    """{column name: node id}: the links named like the columns on the entry pages, each page's #curNodeId."""
    links: dict[str, str] = {}
    for path in ctx.settings.bse_column_pages:
        url = f"{ctx.settings.bse_url}{path}"
        try:
            html = await ctx.client.get_text(url)
        except FetchError as exc:
            problems.append((exc.outcome, str(exc)))
            continue
        for name, link in column_links(html, url, names).items():
            links.setdefault(name, link)
    found = {}
    for name, link in links.items():
        try:
            found[name] = parse_node_id(await ctx.client.get_text(link), f"{safe_url(link)} ({name})")
        except FetchError as exc:
            problems.append((exc.outcome, str(exc)))
        except InputError as exc:
            problems.append((Outcome.FAILED, str(exc)))
    return found


async def news(ctx: CollectContext, column: Column) -> list[Notice]:
    """One column's list (listse.do with needFields[], so the list carries the text)."""
    s = ctx.settings
    url = f"{s.bse_url}/info/listse.do"
    where = f"{safe_url(url)} node {column.node} ({column.name})"
    form = {"page": 0, "pageSize": PAGE_SIZE, "keywords": "", "startTime": "", "endTime": "",
            "nodeIds[]": column.node, "needFields[]": NEWS_FIELDS.split(",")}
    response = await ctx.client.post(url, data=form, headers={**XHR, "Referer": f"{s.bse_url}{NEWS_REFERER}"})
    return parse_bse_news(bse_body(response.text, where), s.bse_url, column.name, where)


async def disclosures(ctx: CollectContext, start: str) -> list[Notice]:
    """Risk disclosures via companyAnnouncement.do (after a warm-up of the announcement page), paged by totalPages."""
    s = ctx.settings
    referer = f"{s.bse_url}{DISCLOSURE_PAGE}"
    await ctx.client.get(referer)  # the warm-up the site's own page does; it also meets the WAF first
    url = f"{s.bse_url}/disclosureInfoController/companyAnnouncement.do"
    callback = f"jQuery3310_{int(ctx.now.timestamp() * 1000)}"
    out: list[Notice] = []
    for keyword in RISK_TITLE_WORDS:
        page, pages = 0, 1
        while page < min(pages, DISCLOSURE_MAX_PAGES):
            where = f"{safe_url(url)} keyword {keyword} page {page}"
            form = {"disclosureType[]": 5, "page": page, "companyCd": "", "isNewThree": 1, "startTime": start,
                    "endTime": ctx.now.date().isoformat(), "keyword": keyword, "xxfcbj[]": 2,
                    "needFields[]": DISCLOSURE_FIELDS.split(",")}
            response = await ctx.client.post(f"{url}?callback={callback}", data=form,
                                             headers={**XHR, "Referer": referer})
            found, pages = parse_bse_disclosures(bse_body(response.text, where), s.bse_url, where)
            out += found
            page += 1
    return out


async def cninfo_disclosures(ctx: CollectContext, start: str) -> list[Notice]:
    """The same risk disclosures from cninfo (SENTIBOT_CNINFO_URL), for when bse.cn refuses."""
    s = ctx.settings
    url = f"{s.cninfo_url}/new/hisAnnouncement/query"
    headers = {**XHR, "Referer": f"{s.cninfo_url}/new/commonUrl/pageOfSearch?url=disclosure/list/search"}
    out: list[Notice] = []
    for keyword in RISK_TITLE_WORDS:
        for page in range(1, CNINFO_MAX_PAGES + 1):
            form = cninfo.query_form(keyword, start, ctx.now.date().isoformat(), page)
            text = (await ctx.client.post(url, data=form, headers=headers)).text
            verdict = classify_json(text, data_key=None)
            verdict.raise_unusable(safe_url(url))
            found, more = cninfo.parse_cninfo(verdict.payload, f"{safe_url(url)} keyword {keyword} page {page}")
            out += found
            if not more:
                break
    return out
