"""Data sources: the registry, the collector protocol and one collection cycle over several sources."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from collections.abc import Callable

from sqlite_utils import Database

from sentibot.config import Settings
from sentibot.errors import InputError
from sentibot.models import Outcome
from sentibot.collect import health
from sentibot.collect.http import FetchError, PoliteClient

log = logging.getLogger(__name__)

# name -> "module:function"; a new source is one line here (modules are imported only when used).
REGISTRY: dict[str, str] = {
    "guba": "sentibot.collect.guba.collector:collect",
    "market": "sentibot.collect.market:collect",
    "notices": "sentibot.collect.notices.collector:collect",
    "baidu_index": "sentibot.collect.search.collector:collect_baidu",
    "wechat_index": "sentibot.collect.search.collector:collect_wechat",
    "em_rank": "sentibot.collect.em_rank:collect",
}


@dataclass
class CollectContext:
    """What a collector needs, built once by the caller: IO objects are passed in, never global."""

    client: PoliteClient
    db: Database
    settings: Settings
    now: datetime  # the cycle's time (Asia/Shanghai); collectors never read the clock themselves
    progress: Callable[[int], None] | None = None  # advanced by units of work during --since backfills


@dataclass(frozen=True)
class CollectResult:
    """How one source's collection ended: outcome, items stored, and a one-line detail."""

    source: str
    outcome: Outcome
    items: int = 0
    detail: str = ""


class Collector(Protocol):
    async def __call__(self, ctx: CollectContext, since: date | None = None) -> CollectResult: ...


class _Sources(Mapping[str, Collector]):
    """REGISTRY resolved lazily: SOURCES['guba'] imports sentibot.collect.guba.collector on first use."""

    def __getitem__(self, name: str) -> Collector:
        module, _, function = REGISTRY[name].partition(":")
        return getattr(importlib.import_module(module), function)

    def __iter__(self) -> Iterator[str]:
        return iter(REGISTRY)

    def __len__(self) -> int:
        return len(REGISTRY)


SOURCES: Mapping[str, Collector] = _Sources()


def check_names(names: list[str] | tuple[str, ...]) -> list[str]:
    """The given source names (all registered ones when empty); an unknown one is an InputError."""
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise InputError(f"unknown source {unknown[0]!r}; known sources: {', '.join(REGISTRY)}")
    return list(dict.fromkeys(names)) or list(REGISTRY)


async def collect_one(name: str, ctx: CollectContext, since: date | None = None) -> CollectResult:
    """One source: skipped while paused; any failure becomes a result, never an exception; health recorded."""
    until = health.paused_until(ctx.db, name, ctx.now)
    if until:
        result = CollectResult(name, Outcome.PAUSED, 0, f"paused until {until} after repeated blocks")
    else:
        try:
            result = await SOURCES[name](ctx, since)
        except FetchError as exc:
            result = CollectResult(name, exc.outcome, 0, str(exc))
        except Exception as exc:  # one broken source must never stop the cycle
            log.exception("source %s crashed", name)
            result = CollectResult(name, Outcome.FAILED, 0, f"{type(exc).__name__}: {exc}")
    health.record_attempt(ctx.db, name, result.outcome, result.detail, result.items, ctx.now, ctx.settings)
    return result


def backfill_units(name: str, db: Database, settings: Settings) -> int:
    """How many progress steps a --since backfill of the source takes (its module's backfill_units, else 0)."""
    module = importlib.import_module(REGISTRY[name].partition(":")[0])
    units = getattr(module, "backfill_units", None)
    return units(db, settings) if units else 0


# Sources whose scope is the stored BSE stock list: before the first list is stored they wait for market.
READS_UNIVERSE = frozenset({"guba", "em_rank"})


def _universe_stored(db: Database) -> bool:
    return db["universe"].exists() and bool(db["universe"].count)


async def run_collection(names: list[str] | tuple[str, ...], ctx: CollectContext,
                         since: date | None = None) -> list[CollectResult]:
    """Collect the named sources (all when empty) concurrently; one failing never stops the others.

    On a store without the stock list, guba and em_rank start once market has ended (stored it or not), so the
    first `sentibot collect` already reads every stock's bar.
    """
    names = check_names(names)
    listed = asyncio.Event()
    wait = "market" in names and not _universe_stored(ctx.db)

    async def one(name: str) -> CollectResult:
        if wait and name in READS_UNIVERSE:
            await listed.wait()
        try:
            return await collect_one(name, ctx, since)
        finally:
            if name == "market":
                listed.set()

    return list(await asyncio.gather(*(one(n) for n in names)))


async def collect_cycle(names: list[str] | tuple[str, ...], settings: Settings, db: Database, now: datetime,
                        since: date | None = None, progress: Callable[[int], None] | None = None,
                        transport=None) -> list[CollectResult]:
    """Build the one HTTP client from settings, run the sources, close the client (the CLI's whole job)."""
    async with PoliteClient.from_settings(settings, transport) as client:
        return await run_collection(names, CollectContext(client, db, settings, now, progress), since)
