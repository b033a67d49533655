"""Guba forum collector: list pages of the configured bars -> posts -> hourly and daily attention observations."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlite_utils import Database

from sentibot.store import db as store
from sentibot.config import Settings
from sentibot.models import Outcome, Observation, Post
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.guba.parse import RETAIL_KINDS, ListPage, parse_list_page
from sentibot.collect.http import FetchError, safe_url
from sentibot.collect.universe import tracked_codes
from sentibot.timeutil import now_iso

SOURCE = "guba"
EXCHANGE = "北交所"  # subject of the BSE-wide series scoring reads
BACKFILL_MAX_PAGES = 200  # per bar, for --since (about 16,000 posts)
ALL_KINDS = ("normal", "pinned", "qa", "news")
# SOURCES.md §2: no client names a BSE 50 forum; index bars are zs + exchange + code, zs899050 is the quote page's
# id. The first of these that serves article_list is remembered (cursor guba/bse50_bar) and asked again daily when
# none did.
BSE50_CANDIDATES = ("zsbj899050", "zssz899050", "899050", "zs899050")
FORUM_KEY = "bse50_bar"
NO_FORUM = "none"  # stored as "none@YYYY-MM-DD": no candidate served a forum that day


def bar_list(db: Database, settings: Settings) -> list[str]:
    """The BSE 50 forum (or SENTIBOT_GUBA_BARS), then the stored universe's stocks in scope (SENTIBOT_GUBA_SCOPE)."""
    forum = bse50_forum(db)
    first = list(settings.guba_bars) or ([forum] if forum else [])
    return list(dict.fromkeys([*first, *tracked_codes(db, settings.guba_scope)]))


def bse50_forum(db: Database) -> str | None:
    """The BSE 50 forum found among BSE50_CANDIDATES, or None (not looked for yet, or none serves one)."""
    value = store.get_cursor(db, SOURCE, FORUM_KEY)
    return value if value and not value.startswith(NO_FORUM) else None


def forum_status(db: Database, settings: Settings) -> str:
    """One line for /sources: which bar is read as the BSE 50 forum and how it was chosen."""
    if settings.guba_bars:
        return f"Guba BSE 50 forum: {', '.join(settings.guba_bars)} (SENTIBOT_GUBA_BARS)"
    value = store.get_cursor(db, SOURCE, FORUM_KEY)
    if not value:
        return "Guba BSE 50 forum: not looked for yet"
    if value.startswith(NO_FORUM):
        return f"Guba BSE 50 forum: none of {', '.join(BSE50_CANDIDATES)} serves one (checked {value[5:]})"
    return f"Guba BSE 50 forum: {value}"


async def find_bse50_forum(ctx: CollectContext) -> tuple[str | None, list[str]]:
    """Ask each candidate's first page once; the first with article_list is remembered -> (bar, notes).

    A candidate that is missing, redirects or has no article_list is a note, not an error; a block raises.
    """
    value = store.get_cursor(ctx.db, SOURCE, FORUM_KEY)
    today = ctx.now.date().isoformat()
    if ctx.settings.guba_bars or (value and not value.startswith(NO_FORUM)):
        return bse50_forum(ctx.db), []
    if value == f"{NO_FORUM}@{today}":  # none served one today: asked again tomorrow, not every cycle
        return None, []
    notes: list[str] = []
    for bar in BSE50_CANDIDATES:
        listing, problem = await fetch_page(ctx, bar, 1)
        if listing is not None and listing.layout == "json":
            store.set_cursor(ctx.db, SOURCE, FORUM_KEY, bar, ctx.now.isoformat(timespec="seconds"))
            return bar, notes
        notes.append(f"{bar}: {problem or 'no article_list'}")
    store.set_cursor(ctx.db, SOURCE, FORUM_KEY, f"{NO_FORUM}@{today}", ctx.now.isoformat(timespec="seconds"))
    return None, notes


async def fetch_page(ctx: CollectContext, bar: str, page: int) -> tuple[ListPage | None, str]:
    """One list page -> (listing, "") or (None, why it is no forum page: missing, redirect, no article_list).

    FetchError only for blocks (captcha, 403/429, empty shell, dropped connection): they stop the sweep.
    """
    url = page_url(ctx.settings.guba_url, bar, page)
    try:
        response = await ctx.client.get(url)
    except FetchError as exc:
        if exc.outcome is Outcome.BLOCKED:
            raise
        return None, str(exc).removeprefix(f"{safe_url(url)}: ")
    if response.history and safe_url(response.url) != safe_url(url):
        return None, f"redirects to {safe_url(response.url)}"
    listing = parse_list_page(response.text, bar, ctx.now, ctx.settings.guba_url)
    if listing.verdict.outcome is Outcome.BLOCKED:
        listing.verdict.raise_unusable(safe_url(url))
    if not listing.verdict.usable:
        return None, listing.verdict.detail
    return listing, ""


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
        self.warnings: list[str] = []  # per bar: missing, redirect, no article_list; the sweep goes on
        self.skipped = 0  # article_list items that were not posts

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
            listing, problem = await fetch_page(ctx, bar, page)
            if listing is None:
                self.warnings.append(f"{bar} page {page}: {problem}")
                break
            self.pages += 1
            self.skipped += listing.skipped
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
    """One Guba cycle: the BSE 50 forum (found once) and every bar in scope, then the observations of the days."""
    _, notes = await find_bse50_forum(ctx)  # a block here ends the cycle through collect_one, nothing stored
    bars = bar_list(ctx.db, ctx.settings)
    if not bars:
        return CollectResult(SOURCE, Outcome.FAILED, 0, "no bar to read: no BSE 50 forum among the candidates ("
                             + "; ".join(notes) + ") and no stored universe yet (collect market first)")
    sweep = _Sweep(ctx, since)
    queue = list(bars)
    workers = max(1, min(len(bars), ctx.settings.host_concurrency))  # more would only queue at the host gate
    await asyncio.gather(*(sweep.worker(queue) for _ in range(workers)))
    observations = derive_observations(ctx.db, sweep.days, ctx.settings.guba_retail_only, sweep.stamp)
    store.upsert_observations(ctx.db, observations, sweep.stamp)
    summary = f"{len(bars)} bars, {sweep.pages} pages, {sweep.posts} posts, {len(observations)} observations"
    if sweep.skipped:
        summary += f", {sweep.skipped} list items skipped"
    if notes or sweep.warnings:
        shown = [*notes, *sweep.warnings]
        summary += f"; {len(shown)} warning(s): " + "; ".join(shown[:3]) + (" ..." if len(shown) > 3 else "")
    if sweep.error:
        return CollectResult(SOURCE, sweep.error.outcome, sweep.posts, f"{sweep.error} ({summary})")
    if not sweep.pages and sweep.warnings:  # not one bar answered with a list: nothing is working
        return CollectResult(SOURCE, Outcome.FAILED, 0, summary)
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
