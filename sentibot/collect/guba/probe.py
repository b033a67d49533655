"""`sentibot probe guba`: each BSE 50 forum candidate's first page, and one stock bar's, asked once."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sentibot.collect.guba.collector import BSE50_CANDIDATES, SOURCE, page_url
from sentibot.collect.guba.parse import parse_list_page
from sentibot.collect.http import FetchError, safe_url
from sentibot.collect.probe import ProbeLine, ProbeStatus, Recorder, error_line
from sentibot.collect.universe import universe
from sentibot.models import Outcome

if TYPE_CHECKING:
    from sentibot.collect.cycle import CollectContext

NOT_A_FORUM = "not a forum"


async def ask_bar(ctx: CollectContext, recorder: Recorder | None, bar: str) -> ProbeLine:
    """One bar's first page: ok with the posts and skipped items, blocked, or why it is no forum (404, redirect)."""
    url = page_url(ctx.settings.guba_url, bar, 1)
    where, endpoint = safe_url(url), f"list {bar}"
    try:
        response = await ctx.client.get(url)
    except FetchError as exc:
        line = error_line(SOURCE, endpoint, exc, where)
        if exc.outcome is Outcome.BLOCKED:
            return line
        return replace(line, status=ProbeStatus.FORMAT_CHANGED, detail=f"{NOT_A_FORUM}: {exc}")
    if recorder is not None:
        recorder.save(SOURCE, endpoint, response)
    if response.history and safe_url(response.url) != where:
        return ProbeLine(SOURCE, endpoint, ProbeStatus.FORMAT_CHANGED,
                         f"{NOT_A_FORUM}: redirects to {safe_url(response.url)}", where)
    listing = parse_list_page(response.text, bar, ctx.now, ctx.settings.guba_url)
    verdict = listing.verdict
    if verdict.outcome is Outcome.BLOCKED:
        return ProbeLine(SOURCE, endpoint, ProbeStatus.BLOCKED, verdict.detail, where)
    if not verdict.usable or listing.layout != "json":
        return ProbeLine(SOURCE, endpoint, ProbeStatus.FORMAT_CHANGED,
                         f"{NOT_A_FORUM}: no article_list ({verdict.detail})", where)
    return ProbeLine(SOURCE, endpoint, ProbeStatus.OK, f"{len(response.content)} bytes, article_list.re with "
                     f"{len(listing.posts)} posts, {listing.skipped} other items", where)


async def probe(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """The candidates (or SENTIBOT_GUBA_BARS) and the largest stored stock's bar; passes when one forum answers."""
    bars = list(ctx.settings.guba_bars) or list(BSE50_CANDIDATES)
    lines = [await ask_bar(ctx, recorder, bar) for bar in bars]
    if any(line.status is ProbeStatus.BLOCKED for line in lines):
        return lines
    if not ctx.settings.guba_bars:
        found = [line for line in lines if line.ok]
        if found:  # SOURCES.md §7 question 1 answered: the others not being forums is expected
            lines = [line if line.ok else replace(line, status=ProbeStatus.OK, detail=line.detail)
                     for line in lines]
            lines.append(ProbeLine(SOURCE, "BSE 50 forum", ProbeStatus.OK, found[0].endpoint.split()[1]))
        else:
            lines.append(ProbeLine(SOURCE, "BSE 50 forum", ProbeStatus.FORMAT_CHANGED,
                                   f"none of {', '.join(BSE50_CANDIDATES)} serves article_list: "
                                   "set SENTIBOT_GUBA_BARS"))
    stocks = universe(ctx.db)
    if stocks:
        lines.append(await ask_bar(ctx, recorder, stocks[0]["code"]))
    return lines
