"""Regulator notices collector: bse.cn news lists and risk disclosures, CSRC press releases -> store -> alerts."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from sentibot.store import db as store
from sentibot.errors import InputError
from sentibot.models import Notice, Outcome
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.http import SHELL_MAX_BYTES, FetchError, captcha_marker, safe_url
from sentibot.collect.notices.parse import (
    RISK_TITLE_WORDS,
    ListedArticle,
    parse_bse_disclosures,
    parse_bse_news,
    parse_csrc_article,
    parse_csrc_list,
    parse_notice_page,
)

log = logging.getLogger(__name__)

SOURCE = "notices"
LOOKBACK = timedelta(days=30)  # a regular cycle reads list rows this recent; --since reaches further back
ALERT_MAX_AGE = timedelta(hours=72)  # older warnings are stored, not pushed: a first run must not replay history
DISCLOSURE_MAX_PAGES = 5
PAGE_SIZE = 50
_MORE_PAGES = re.compile(r'"lastPage"\s*:\s*false')
_RANK = {Outcome.OK: 0, Outcome.EMPTY: 0, Outcome.FAILED: 1, Outcome.BLOCKED: 2}


def _bse_body(text: str, where: str) -> str:
    """A bse.cn list body, or FetchError: the WAF's JS challenge / captcha page is a block, not bad JSON."""
    if text.lstrip().startswith("null("):
        return text
    found = captcha_marker(text)
    if found or ("<script" in text and len(text.encode()) <= SHELL_MAX_BYTES):
        raise FetchError(f"{where}: challenge page ({found or 'script-only shell'}) instead of null([...])",
                         Outcome.BLOCKED)
    return text  # anything else: the parser names what is wrong


def store_notice(db: Database, notice: Notice, now: datetime, admin_ids=()) -> tuple[str, int | None]:
    """Classify, store (deduped on URL + content hash, edits kept) and alert a fresh regulator warning, atomically."""
    from sentibot.alerts.rules import regulator_alert
    from sentibot.text.tokenizer import classify_notice

    cls = classify_notice(notice.text, notice.title)
    stamp = now.isoformat(timespec="seconds")
    with db.atomic():
        status = store.upsert_notice(db, notice, stamp, cls.label, cls.severity, cls.triggers)
        alert_id = None
        fresh = now - datetime.fromisoformat(notice.published_at) <= ALERT_MAX_AGE
        if cls.label == "regulator_warning" and fresh:
            level, score = heat_at(db, notice.published_at)
            alert = regulator_alert(notice, cls, level=level, score=score)
            alert_id = store.add_alert(db, alert, stamp, admin_ids)  # deduped by URL
    if alert_id:
        log.warning("regulator warning alerted: %s (%s)", notice.title, notice.url)
    return status, alert_id


def heat_at(db: Database, published_at: str) -> tuple[str, float | None]:
    """The stored heat level and score of the last scored day up to the notice's day ('' and None if none)."""
    row = next(db.query("select level, score from scores where date <= ? order by date desc limit 1",
                        [published_at[:10]]), None)
    return (row["level"] or "", row["score"]) if row else ("", None)


def _known_title(db: Database, url: str) -> str | None:
    row = next(db.query("select title from notices where url = ?", [url]), None)
    return row["title"] if row else None


class _Cycle:
    """One collection cycle: the feeds read, notices stored, alerts raised and problems met."""

    def __init__(self, ctx: CollectContext, since: date | None):
        self.ctx, self.s = ctx, ctx.settings
        start = since if since else (ctx.now - LOOKBACK).date()
        self.cutoff = start.isoformat()
        self.counts = {"new": 0, "edited": 0, "unchanged": 0}
        self.alerts = 0
        self.problems: list[tuple[Outcome, str]] = []

    def _recent(self, published_at: str) -> bool:
        return published_at[:10] >= self.cutoff

    def _keep(self, notice: Notice) -> None:
        status, alert_id = store_notice(self.ctx.db, notice, self.ctx.now, self.s.admin_ids)
        self.counts[status] += 1
        self.alerts += bool(alert_id)

    async def _feed(self, coro) -> None:
        """Run one feed; its failure is noted and the other feeds go on (what parsed before is kept)."""
        try:
            await coro
        except FetchError as exc:
            self.problems.append((exc.outcome, str(exc)))
        except InputError as exc:
            log.warning("notices: %s", exc)
            self.problems.append((Outcome.FAILED, str(exc)))

    async def bse_node(self, node: str) -> None:
        url = f"{self.s.bse_url}/info/listse.do"
        where = f"{safe_url(url)} node {node}"
        body = (await self.ctx.client.post(url, data={"page": 0, "pageSize": PAGE_SIZE, "keywords": "",
                                                      "nodeIds[]": node})).text
        for notice in parse_bse_news(_bse_body(body, where), self.s.bse_url, node, where):
            if not self._recent(notice.published_at):
                continue
            if not notice.text:  # the list gave only a title: the page holds the full text
                if _known_title(self.ctx.db, notice.url) == notice.title:
                    self.counts["unchanged"] += 1
                    continue
                await self._feed(self._with_page(notice))
                continue
            self._keep(notice)

    async def _with_page(self, notice: Notice) -> None:
        html = await self.ctx.client.get_text(notice.url)
        text = parse_notice_page(html, safe_url(notice.url))
        self._keep(Notice(notice.url, notice.source, notice.published_at, notice.title, text, notice.origin))

    async def bse_disclosures(self, keyword: str) -> None:
        url = f"{self.s.bse_url}/disclosureInfoController/infoResult.do"
        where = f"{safe_url(url)} keyword {keyword}"
        for page in range(DISCLOSURE_MAX_PAGES):
            form = {"disclosureType": 5, "page": page, "companyCd": "", "isNewThree": 1, "startTime": self.cutoff,
                    "endTime": self.ctx.now.date().isoformat(), "keyword": keyword, "xxfcbj": ""}
            body = _bse_body((await self.ctx.client.post(url, data=form)).text, where)
            for notice in parse_bse_disclosures(body, self.s.bse_url, f"{where} page {page}"):
                self._keep(notice)
            if not _MORE_PAGES.search(body):
                break

    async def csrc_list(self, path: str) -> None:
        page_url = f"{self.s.csrc_url}{path}"
        rows = parse_csrc_list(await self.ctx.client.get_text(page_url), page_url)
        for row in rows:
            if not self._recent(row.published_at):
                continue
            if _known_title(self.ctx.db, row.url) == row.title:
                self.counts["unchanged"] += 1
                continue
            await self._feed(self._csrc_article(row))

    async def _csrc_article(self, row: ListedArticle) -> None:
        self._keep(parse_csrc_article(await self.ctx.client.get_text(row.url), row))

    def result(self) -> CollectResult:
        stored = self.counts["new"] + self.counts["edited"]
        summary = (f"{self.counts['new']} new, {self.counts['edited']} edited, {self.counts['unchanged']} unchanged"
                   f", {self.alerts} regulator alert(s)")
        if not self.problems:
            return CollectResult(SOURCE, Outcome.OK if stored or self.counts["unchanged"] else Outcome.EMPTY,
                                 stored, summary)
        worst = max((p[0] for p in self.problems), key=lambda o: _RANK.get(o, 1))
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return CollectResult(SOURCE, worst, stored, f"{summary}; {self.problems[0][1]}{more}")


async def collect(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """One cycle over every bse.cn node, the risk-disclosure searches and every CSRC list page."""
    cycle = _Cycle(ctx, since)
    for node in ctx.settings.bse_nodes:
        await cycle._feed(cycle.bse_node(node))
    for keyword in RISK_TITLE_WORDS:
        await cycle._feed(cycle.bse_disclosures(keyword))
    for path in ctx.settings.csrc_lists:
        await cycle._feed(cycle.csrc_list(path))
    return cycle.result()
