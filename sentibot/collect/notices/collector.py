"""Regulator notices collector: bse.cn columns and risk disclosures (cninfo fallback), CSRC -> store -> alerts."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from collections.abc import Awaitable

from sentibot.alerts import regulator
from sentibot.errors import InputError
from sentibot.models import Notice, Outcome
from sentibot.store import db as store
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.http import FetchError, classify_json, safe_url
from sentibot.collect.notices import bse
from sentibot.collect.notices.csrc import (
    ListedArticle, listed_notice, parse_channel_id, parse_csrc_article, parse_search_list, search_list_params,
)
from sentibot.collect.notices.parse import parse_notice_page

log = logging.getLogger(__name__)

SOURCE = "notices"
LOOKBACK = timedelta(days=30)  # a regular cycle reads list rows this recent; --since reaches further back
_RANK = {Outcome.OK: 0, Outcome.EMPTY: 0, Outcome.FAILED: 1, Outcome.BLOCKED: 2}


def store_notice(db, notice: Notice, now_stamp: str) -> str:
    """Classify, extract the stocks it names, and store it (deduped on URL + content hash, edits kept)."""
    from sentibot.text.notice_class import classify_notice
    from sentibot.text.notice_stocks import stocks_named

    cls = classify_notice(notice.text, notice.title)
    notice = replace(notice, stocks=stocks_named(notice.title, notice.text, notice.stocks))
    return store.upsert_notice(db, notice, now_stamp, cls.label, cls.severity, cls.triggers)


def _known_title(db, url: str) -> str | None:
    row = next(db.query("select title from notices where url = ?", [url]), None)
    return row["title"] if row else None


class _Cycle:
    """One collection cycle: the feeds read, notices stored, alerts raised and problems met."""

    def __init__(self, ctx: CollectContext, since: date | None):
        self.ctx, self.s = ctx, ctx.settings
        self.cutoff = (since if since else (ctx.now - LOOKBACK).date()).isoformat()
        self.stamp = ctx.now.isoformat(timespec="seconds")
        self.counts = {"new": 0, "edited": 0, "unchanged": 0}
        self.notes: list[str] = []
        self.problems: list[tuple[Outcome, str]] = []

    def _recent(self, published_at: str) -> bool:
        return published_at[:10] >= self.cutoff

    def _keep(self, notice: Notice) -> None:
        self.counts[store_notice(self.ctx.db, notice, self.stamp)] += 1

    async def feed(self, coro: Awaitable[None]) -> bool:
        """Run one feed; its failure is noted and the other feeds go on (what parsed before is kept)."""
        try:
            await coro
            return True
        except FetchError as exc:
            self.problems.append((exc.outcome, str(exc)))
        except InputError as exc:
            log.warning("notices: %s", exc)
            self.problems.append((Outcome.FAILED, str(exc)))
        return False

    async def _with_text(self, notice: Notice) -> None:
        """A title-only list item: its page holds the text (not fetched again while the title is unchanged)."""
        if notice.text:
            self._keep(notice)
        elif _known_title(self.ctx.db, notice.url) == notice.title:
            self.counts["unchanged"] += 1
        else:
            html = await self.ctx.client.get_text(notice.url)
            self._keep(replace(notice, text=parse_notice_page(html, safe_url(notice.url))))

    async def bse_column(self, column: bse.Column) -> None:
        for notice in await bse.news(self.ctx, column):
            if self._recent(notice.published_at):
                await self.feed(self._with_text(notice))

    async def bse_disclosures(self) -> None:
        for notice in await bse.disclosures(self.ctx, self.cutoff):
            self._keep(notice)

    async def disclosures(self) -> None:
        """bse.cn's disclosures; when bse.cn refuses them, cninfo's (the refusal is then a note, not a failure)."""
        try:
            await self.bse_disclosures()
            return
        except (FetchError, InputError) as exc:
            refusal = exc
        if not self.s.cninfo_url:
            raise refusal
        if await self.feed(self._cninfo()):
            self.notes.append(f"disclosures from cninfo (bse.cn: {refusal})")
        else:
            outcome = refusal.outcome if isinstance(refusal, FetchError) else Outcome.FAILED
            self.problems.append((outcome, str(refusal)))

    async def _cninfo(self) -> None:
        for notice in await bse.cninfo_disclosures(self.ctx, self.cutoff):
            self._keep(notice)

    async def csrc_channel(self, path_or_id: str, configured: bool) -> None:
        base = self.s.csrc_url
        if configured:
            channel = path_or_id
        else:
            page_url = f"{base}{path_or_id}"
            channel = parse_channel_id(await self.ctx.client.get_text(page_url), safe_url(page_url))
        url = f"{base}/searchList/{channel}"
        text = await self.ctx.client.get_text(url, params=search_list_params(), headers={**bse.XHR})
        verdict = classify_json(text, data_key=None)
        verdict.raise_unusable(safe_url(url))
        for row in parse_search_list(verdict.payload, base, f"{safe_url(url)} (channel {channel})"):
            if self._recent(row.published_at):
                await self.feed(self._csrc_row(row))

    async def _csrc_row(self, row: ListedArticle) -> None:
        if len(row.text) > len(row.title):
            self._keep(listed_notice(row))  # the list carries the text: no article page needed
        elif _known_title(self.ctx.db, row.url) == row.title:
            self.counts["unchanged"] += 1
        else:
            self._keep(parse_csrc_article(await self.ctx.client.get_text(row.url), row))

    def result(self, alerts: int) -> CollectResult:
        stored = self.counts["new"] + self.counts["edited"]
        summary = (f"{self.counts['new']} new, {self.counts['edited']} edited, {self.counts['unchanged']} unchanged"
                   f", {alerts} regulator alert(s)") + "".join(f"; {note}" for note in self.notes)
        if not self.problems:
            return CollectResult(SOURCE, Outcome.OK if stored or self.counts["unchanged"] else Outcome.EMPTY,
                                 stored, summary)
        worst = max((p[0] for p in self.problems), key=lambda o: _RANK.get(o, 1))
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return CollectResult(SOURCE, worst, stored, f"{summary}; {self.problems[0][1]}{more}")


async def collect(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """One cycle: every bse.cn column, the risk disclosures, every CSRC channel; then the regulator alerts."""
    cycle = _Cycle(ctx, since)
    for column in await bse.columns(ctx, cycle.problems):
        await cycle.feed(cycle.bse_column(column))
    await cycle.feed(cycle.disclosures())
    channels = ctx.settings.csrc_channels
    for item in channels or ctx.settings.csrc_lists:
        await cycle.feed(cycle.csrc_channel(item, configured=bool(channels)))
    alerts = regulator.raise_due(ctx.db, ctx.now, ctx.settings.admin_ids)  # the one place warnings are alerted
    return cycle.result(len(alerts))
