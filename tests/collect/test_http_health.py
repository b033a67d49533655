"""Source health over a real SQLite file: pauses after blocks, source_down once per outage, recovery, the registry."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from sentibot.collect import cycle as sources
from sentibot.config import load_settings
from sentibot.errors import InputError
from sentibot.models import Outcome
from sentibot.collect.cycle import CollectContext, CollectResult, run_collection
from sentibot.collect import health
from sentibot.collect.http import FetchError, PoliteClient
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI

T0 = datetime(2023, 11, 27, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "h.db")


def cfg(**kw):
    return load_settings(environ={}, env_file=None, admin_ids=(42,), **kw)


def test_three_blocks_pause_with_doubling_backoff(db):
    s = cfg(block_pause_s=600)
    for i in range(2):
        row = health.record_attempt(db, "guba", Outcome.BLOCKED, "captcha", 0, T0 + timedelta(minutes=i), s)
        assert row["status"] == "blocked" and not row["paused_until"]
    row = health.record_attempt(db, "guba", Outcome.BLOCKED, "captcha", 0, T0 + timedelta(minutes=2), s)
    assert row["status"] == "paused"
    assert datetime.fromisoformat(row["paused_until"]) == T0 + timedelta(minutes=2, seconds=600)
    assert health.paused_until(db, "guba", T0 + timedelta(minutes=5))
    assert health.paused_until(db, "guba", T0 + timedelta(minutes=13)) is None
    row = health.record_attempt(db, "guba", Outcome.BLOCKED, "captcha", 0, T0 + timedelta(minutes=13), s)
    assert datetime.fromisoformat(row["paused_until"]) == T0 + timedelta(minutes=13, seconds=1200)
    assert db["source_attempts"].count == 4


def test_source_down_fires_once_per_outage_and_recovery_is_recorded(db):
    s = cfg(source_down_after_s=3600)
    health.record_attempt(db, "market", Outcome.FAILED, "HTTP 502", 0, T0, s)
    health.record_attempt(db, "market", Outcome.FAILED, "HTTP 502", 0, T0 + timedelta(minutes=59), s)
    assert db["alerts"].count == 0
    health.record_attempt(db, "market", Outcome.FAILED, "HTTP 502", 0, T0 + timedelta(minutes=61), s)
    health.record_attempt(db, "market", Outcome.BLOCKED, "data: null", 0, T0 + timedelta(minutes=90), s)
    alerts = list(db["alerts"].rows)
    assert len(alerts) == 1 and alerts[0]["kind"] == "source_down" and alerts[0]["audience"] == "admins"
    assert [d["chat_id"] for d in db["deliveries"].rows] == [42]
    row = health.record_attempt(db, "market", Outcome.OK, "", 10, T0 + timedelta(hours=2), s)
    assert row["status"] == "ok" and row["unhealthy_since"] is None and row["down_alerted"] == 0
    assert "recovered after 2 h 0 min" in row["detail"]
    last = list(db.query("select * from source_attempts order by id desc limit 1"))[0]
    assert last["outcome"] == "ok" and "recovered" in last["detail"]
    # a second outage alerts again
    health.record_attempt(db, "market", Outcome.FAILED, "reset", 0, T0 + timedelta(hours=3), s)
    health.record_attempt(db, "market", Outcome.FAILED, "reset", 0, T0 + timedelta(hours=5), s)
    assert db["alerts"].count == 2


def test_not_configured_is_not_unhealthy(db):
    row = health.record_attempt(db, "baidu_index", Outcome.NOT_CONFIGURED, "no cookie", 0, T0, cfg())
    assert row["unhealthy_since"] is None
    assert health.source_status(db)[0]["status"] == "not_configured"


async def good(ctx, since=None):
    return CollectResult("good", Outcome.OK, 3, "3 things")


async def crashing(ctx, since=None):
    raise ZeroDivisionError("boom")


async def blocked(ctx, since=None):
    raise FetchError("http://x/: captcha page", Outcome.BLOCKED)


def test_run_collection_isolates_failures_and_records_health(db, monkeypatch):
    monkeypatch.setattr(sources, "REGISTRY", {"good": "tests.collect.test_http_health:good", "crashing": "tests.collect.test_http_health:crashing",
                                              "blocked": "tests.collect.test_http_health:blocked"})

    async def go():
        async with PoliteClient.from_settings(cfg()) as client:
            ctx = CollectContext(client=client, db=db, settings=cfg(), now=T0)
            return await run_collection([], ctx)

    results = {r.source: r for r in asyncio.run(go())}
    assert results["good"].outcome is Outcome.OK and results["good"].items == 3
    assert results["crashing"].outcome is Outcome.FAILED and "ZeroDivisionError: boom" in results["crashing"].detail
    assert results["blocked"].outcome is Outcome.BLOCKED
    assert {r["source"]: r["status"] for r in health.source_status(db)} == {
        "good": "ok", "crashing": "failed", "blocked": "blocked"}


def test_paused_source_is_skipped(db, monkeypatch):
    monkeypatch.setattr(sources, "REGISTRY", {"crashing": "tests.collect.test_http_health:crashing"})
    for _i in range(3):
        health.record_attempt(db, "crashing", Outcome.BLOCKED, "captcha", 0, T0, cfg())

    async def go():
        async with PoliteClient.from_settings(cfg()) as client:
            return await run_collection(["crashing"], CollectContext(client, db, cfg(), T0 + timedelta(minutes=1)))

    (result,) = asyncio.run(go())
    assert result.outcome is Outcome.PAUSED and "paused until" in result.detail


def test_unknown_source_names_the_known_ones():
    with pytest.raises(InputError, match=r"unknown source 'gubba'; known sources: guba, market"):
        sources.check_names(["gubba"])
    assert list(sources.SOURCES) == list(sources.REGISTRY)
