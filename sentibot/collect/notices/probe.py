"""`sentibot probe notices`: bse.cn news and column pages, disclosures, cninfo and CSRC, each asked once."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING
from collections.abc import Callable

from sentibot.errors import InputError
from sentibot.models import Outcome
from sentibot.collect.http import FetchError, classify_json, safe_url
from sentibot.collect.notices import bse, cninfo
from sentibot.collect.notices.csrc import parse_channel_id, parse_search_list, search_list_params
from sentibot.collect.notices.parse import (
    DISCLOSURE_FIELDS, NEWS_FIELDS, column_links, parse_bse_disclosures, parse_bse_news, parse_node_id,
)
from sentibot.collect.probe import ProbeLine, ProbeStatus, error_line

if TYPE_CHECKING:
    from sentibot.collect.cycle import CollectContext
    from sentibot.collect.probe import Recorder

SOURCE = "notices"
Judge = Callable[[str], str]  # body -> what was recognised; raises InputError (format) or FetchError (block)


async def answer(ctx: CollectContext, recorder: Recorder | None, source: str, endpoint: str, method: str, url: str,
                 judge: Judge, needs: tuple[type[Exception], ...] = (), blocks: tuple[type[Exception], ...] = (),
                 **request) -> tuple[ProbeLine, str]:
    """Ask one endpoint once; (its line, the body, '' when it failed). The parsers collection uses are the judges;
    a judge's exceptions of the `needs` types mean a credential must be renewed, of `blocks` a refusal."""
    where = safe_url(url)
    try:
        response = await ctx.client.request(method, url, **request)
    except FetchError as exc:
        return error_line(source, endpoint, exc, where), ""
    if recorder is not None:
        recorder.save(source, endpoint, response)
    try:
        recognised = judge(response.text)
    except FetchError as exc:
        status = ProbeStatus.BLOCKED if exc.outcome is Outcome.BLOCKED else ProbeStatus.FAILED
        return ProbeLine(source, endpoint, status, str(exc), where), ""
    except needs as exc:
        return ProbeLine(source, endpoint, ProbeStatus.NEEDS, f"needs credentials: {exc}", where), ""
    except blocks as exc:
        return ProbeLine(source, endpoint, ProbeStatus.BLOCKED, str(exc), where), ""
    except InputError as exc:
        return ProbeLine(source, endpoint, ProbeStatus.FORMAT_CHANGED, str(exc), where), ""
    return ProbeLine(source, endpoint, ProbeStatus.OK, f"{len(response.content)} bytes, {recognised}", where), \
        response.text


async def probe(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """One line per endpoint: column pages (node ids), each column's list, disclosures, cninfo, CSRC."""
    s = ctx.settings
    lines: list[ProbeLine] = []
    nodes = {bse.column_name_of(n): n for n in s.bse_nodes}
    if not nodes:
        links: dict[str, str] = {}
        for path in s.bse_column_pages:
            url = f"{s.bse_url}{path}"
            line, html = await answer(ctx, recorder, SOURCE, f"bse.cn page {path}", "GET", url,
                                      partial(_links, url=url, names=s.bse_columns))
            lines.append(line)
            links.update({k: v for k, v in column_links(html, url, s.bse_columns).items() if k not in links})
        for name in s.bse_columns:
            if name not in links:
                lines.append(ProbeLine(SOURCE, f"bse.cn column {name}", ProbeStatus.FORMAT_CHANGED,
                                       "no link named so on the column pages (set SENTIBOT_BSE_NODES)"))
                continue
            line, html = await answer(ctx, recorder, SOURCE, f"bse.cn column {name}", "GET", links[name],
                                      partial(_node, where=name))
            lines.append(line)
            if html:
                nodes[name] = parse_node_id(html, name)
    for name, node in nodes.items():
        url = f"{s.bse_url}/info/listse.do"
        form = {"page": 0, "pageSize": 5, "keywords": "", "nodeIds[]": node, "needFields[]": NEWS_FIELDS.split(",")}
        lines.append((await answer(
            ctx, recorder, SOURCE, f"bse.cn news {name}", "POST", url,
            partial(_news, base=s.bse_url, name=name), data=form,
            headers={**bse.XHR, "Referer": f"{s.bse_url}{bse.NEWS_REFERER}"}))[0])
    lines.append(await _disclosures(ctx, recorder))
    start = (ctx.now.date() - timedelta(days=30)).isoformat()
    lines.append((await answer(
        ctx, recorder, SOURCE, "cninfo disclosures", "POST", f"{s.cninfo_url}/new/hisAnnouncement/query",
        _cninfo, data=cninfo.query_form("异常波动", start, ctx.now.date().isoformat(), 1), headers=bse.XHR))[0])
    lines += await _csrc(ctx, recorder)
    return lines


def _links(html: str, url: str, names: tuple[str, ...]) -> str:
    found = column_links(html, url, names)
    if not found:
        raise InputError(f"no link named {' or '.join(names)} on the page")
    return "links to " + ", ".join(found)


def _node(html: str, where: str) -> str:
    return f"#curNodeId {parse_node_id(html, where)}"


def _channel(html: str, where: str) -> str:
    return f"channelid {parse_channel_id(html, where)}"


def _news(text: str, base: str, name: str) -> str:
    notices = parse_bse_news(bse.bse_body(text, name), base, name, name)
    with_text = sum(bool(n.text) for n in notices)
    return f"{len(notices)} items in [0].data.content, {with_text} with text"


def _cninfo(text: str) -> str:
    verdict = classify_json(text, data_key=None)
    verdict.raise_unusable("cninfo")
    rows = verdict.payload.get("announcements") if isinstance(verdict.payload, dict) else None
    cninfo.parse_cninfo(verdict.payload, "cninfo")
    return f"{len(rows or [])} rows in announcements"


async def _disclosures(ctx: CollectContext, recorder: Recorder | None) -> ProbeLine:
    s = ctx.settings
    referer = f"{s.bse_url}{bse.DISCLOSURE_PAGE}"
    warm, _ = await answer(ctx, recorder, SOURCE, "bse.cn disclosures warm-up", "GET", referer, lambda t: "page")
    if not warm.ok:
        return warm
    form = {"disclosureType[]": 5, "page": 0, "companyCd": "", "isNewThree": 1, "keyword": "异常波动",
            "startTime": (ctx.now.date() - timedelta(days=30)).isoformat(), "endTime": ctx.now.date().isoformat(),
            "xxfcbj[]": 2, "needFields[]": DISCLOSURE_FIELDS.split(",")}

    def judge(text: str) -> str:
        notices, pages = parse_bse_disclosures(bse.bse_body(text, "disclosures"), s.bse_url, "disclosures")
        return f"{len(notices)} risk rows in [0].listInfo.content, totalPages {pages}"

    url = f"{s.bse_url}/disclosureInfoController/companyAnnouncement.do"
    return (await answer(ctx, recorder, SOURCE, "bse.cn disclosures", "POST",
                         f"{url}?callback=jQuery3310_{int(ctx.now.timestamp() * 1000)}", judge, data=form,
                         headers={**bse.XHR, "Referer": referer}))[0]


async def _csrc(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    s = ctx.settings
    lines, channels = [], list(s.csrc_channels)
    if not channels:
        for path in s.csrc_lists:
            url = f"{s.csrc_url}{path}"
            line, html = await answer(ctx, recorder, SOURCE, f"csrc list {path}", "GET", url,
                                      partial(_channel, where=url))
            lines.append(line)
            if html:
                channels.append(parse_channel_id(html, url))

    def judge(text: str) -> str:
        verdict = classify_json(text, data_key=None)
        verdict.raise_unusable("searchList")
        rows = parse_search_list(verdict.payload, s.csrc_url, "searchList")
        return f"{len(rows)} rows in data.results (total {verdict.payload['data'].get('total')})"

    for channel in channels:
        lines.append((await answer(ctx, recorder, SOURCE, f"csrc searchList {channel[:8]}", "GET",
                                   f"{s.csrc_url}/searchList/{channel}", judge, params=search_list_params(),
                                   headers=bse.XHR))[0])
    return lines
