"""Guba forum collector: list pages of the configured bars -> posts -> hourly and daily attention observations."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlite_utils import Database

from sentibot.store import db as store
from sentibot.config import Settings
from sentibot.models import Outcome, Observation, Post
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.guba.parse import RETAIL_KINDS, parse_list_page
from sentibot.collect.http import FetchError, safe_url
from sentibot.collect.universe import tracked_codes
from sentibot.timeutil import now_iso

SOURCE = "guba"
EXCHANGE = "北交所"  # subject of the BSE-wide series scoring reads
BACKFILL_MAX_PAGES = 200  # per bar, for --since (about 16,000 posts)
ALL_KINDS = ("normal", "pinned", "qa", "news")


def bar_list(db: Database, settings: Settings) -> list[str]:
    """The configured bars, then the stored universe's stocks in scope (SENTIBOT_GUBA_SCOPE)."""
    return list(dict.fromkeys([*settings.guba_bars, *tracked_codes(db, settings.guba_scope)]))


def backfill_units(db: Database, settings: Settings) -> int:
    return len(bar_list(db, settings))


def page_url(base_url: str, bar: str, page: int) -> str:
    """List page `page` of a bar, sorted by post time (newest first) so that paging can stop at known posts."""
    return f"{base_url}/list,{bar},f_{page}.html"


class _Sweep:
    """State shared by the bar workers of one collection."""

    def __init__(self, ctx: CollectContext, since: date | None):
        self.ctx, self.since = ctx, since
        self.stamp = ctx.now.isoformat(timespec="seconds")
        self.posts = self.pages = 0
        self.days: set[str] = set()
        self.error: FetchError | None = None

    async def bar(self, bar: str) -> None:
        """Page through one bar until known posts (cursor), `since`, the last page or the page limit."""
        ctx, db = self.ctx, self.ctx.db
        since = self.since.isoformat() if self.since else None
        if since and (store.get_cursor(db, SOURCE, f"backfill:{bar}") or "9999") <= since:
            return  # an interrupted backfill resumes with the bars not done yet
        stop_at = since or store.get_cursor(db, SOURCE, f"latest:{bar}")
        limit = BACKFILL_MAX_PAGES if since else ctx.settings.guba_max_pages
        newest = None
        for page in range(1, limit + 1):
            if self.error:
                return
            url = page_url(ctx.settings.guba_url, bar, page)
            text = await ctx.client.get_text(url)
            listing = parse_list_page(text, bar, ctx.now, ctx.settings.guba_url)
            listing.verdict.raise_unusable(safe_url(url))
            self.pages += 1
            self.store(listing.posts)
            dated = [p.published_at for p in listing.posts if p.kind != "pinned"]  # pinned posts are old, on top
            if not dated:
                break
            newest = max(newest or dated[0], max(dated))
            if stop_at and min(dated) <= stop_at:
                break
        if newest:
            latest = store.get_cursor(db, SOURCE, f"latest:{bar}")
            store.set_cursor(db, SOURCE, f"latest:{bar}", max(newest, latest or newest), self.stamp)
        if since:
            store.set_cursor(db, SOURCE, f"backfill:{bar}", since, self.stamp)

    def store(self, posts: tuple[Post, ...]) -> None:
        if posts:
            store.upsert_posts(self.ctx.db, posts, self.stamp)
            self.posts += len(posts)
            counted = RETAIL_KINDS if self.ctx.settings.guba_retail_only else ALL_KINDS
            self.days.update(p.published_at[:10] for p in posts if p.kind in counted)

    async def worker(self, queue: list[str]) -> None:
        while queue and not self.error:
            bar = queue.pop(0)
            try:
                await self.bar(bar)
            except FetchError as exc:
                self.error = exc  # a block stops the whole source: hammering other bars would prolong it
            if self.ctx.progress:
                self.ctx.progress(1)


async def collect(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """One Guba cycle: every bar in scope, then the observations of the days touched."""
    bars = bar_list(ctx.db, ctx.settings)
    sweep = _Sweep(ctx, since)
    queue = list(bars)
    workers = max(1, min(len(bars), ctx.settings.host_concurrency))  # more would only queue at the host gate
    await asyncio.gather(*(sweep.worker(queue) for _ in range(workers)))
    observations = derive_observations(ctx.db, sweep.days, ctx.settings.guba_retail_only, sweep.stamp)
    store.upsert_observations(ctx.db, observations, sweep.stamp)
    summary = f"{len(bars)} bars, {sweep.pages} pages, {sweep.posts} posts, {len(observations)} observations"
    if sweep.error:
        return CollectResult(SOURCE, sweep.error.outcome, sweep.posts, f"{sweep.error} ({summary})")
    return CollectResult(SOURCE, Outcome.OK if sweep.posts else Outcome.EMPTY, sweep.posts, summary)


def derive_observations(db: Database, days: set[str], retail_only: bool = True,
                        stamp: str | None = None) -> list[Observation]:
    """Per bar per hour (metric *_1h) and per day, plus BSE-wide per day: posts, reads, comments, authors.

    Stored sentiment labels are checked against the text model first (forget_stale_sentiment), so every caller
    reads current labels; stamp dates that check (default: now).
    """
    forget_stale_sentiment(db, stamp or now_iso())
    kinds = RETAIL_KINDS if retail_only else ALL_KINDS
    base = (f"from posts where source = 'guba' and kind in ({','.join('?' * len(kinds))}) "
            "and published_at >= ? and published_at < ?")
    metrics = ("count(*) as posts, sum(coalesce(reads, 0)) as reads, sum(coalesce(comments, 0)) as comments, "
               "count(distinct author_id) as authors")
    names = ("posts", "reads", "comments", "authors")
    out: list[Observation] = []
    for day in sorted(days):  # day by day: a pinned post from months ago must not widen the scan to months
        args = [*kinds, day, (date.fromisoformat(day) + timedelta(days=1)).isoformat()]
        for row in db.query(f"select bar, substr(published_at, 1, 13) as hour, {metrics} {base} "
                            "group by bar, hour", args):
            ts = f"{row['hour']}:00:00+08:00"
            out.extend(Observation(SOURCE, row["bar"], f"{m}_1h", ts, float(row[m])) for m in names)
        for row in db.query(f"select bar, {metrics} {base} group by bar", args):
            out.extend(Observation(SOURCE, row["bar"], m, day, float(row[m])) for m in names)
        for row in db.query(f"select {metrics} {base} having count(*) > 0", args):
            out.extend(Observation(SOURCE, EXCHANGE, m, day, float(row[m])) for m in names)
        out.extend(bullish_shares(db, base, args, day))
    return out


def bullish_shares(db: Database, base: str, args: list, day: str) -> list[Observation]:
    """Share of positive among positive + negative titles (sentibot.text.tokenizer) of one day, per bar and BSE-wide.

    Each title is scored once: the label is kept in posts.sentiment, and only new or edited titles are scored.
    """
    from sentibot.text.tokenizer import sentiment  # imported here: loading jieba's dictionaries is not start-up work

    counts: dict[str, list[int]] = {}
    scored: list[tuple[str, str]] = []
    for row in db.query(f"select bar, post_id, title, sentiment {base}", args):
        label = row["sentiment"]
        if label is None:
            label = sentiment(row["title"]).label
            scored.append((label, row["post_id"]))
        if label == "neutral":
            continue
        for subject in (row["bar"], EXCHANGE):
            tally = counts.setdefault(subject, [0, 0])
            tally[0 if label == "positive" else 1] += 1
    if scored:
        with db.atomic():
            db.conn.executemany("update posts set sentiment = ? where source = 'guba' and post_id = ?", scored)
    return [Observation(SOURCE, subject, "bullish_share", day, pos / (pos + neg))
            for subject, (pos, neg) in counts.items()]


def forget_stale_sentiment(db: Database, now: str) -> int:
    """Clear the stored labels when the text model (dictionaries, rules) changed since they were computed."""
    from sentibot.text.tokenizer import fingerprint

    current = fingerprint()
    if store.get_cursor(db, "text", "sentiment_fingerprint") == current:
        return 0
    with db.atomic():
        cleared = db.conn.execute("update posts set sentiment = null where sentiment is not null").rowcount
        store.set_cursor(db, "text", "sentiment_fingerprint", current, now)
    return cleared
