"""One bot lifecycle (bot/lifecycle.py): `sentibot run` sets the menu, survives an unreachable Bot API, uses a proxy."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import fields

import pytest

from sentibot.bot import lifecycle
from sentibot.config import Settings, load_settings
from sentibot.models import Alert, AlertKind
from sentibot.run import service
from sentibot.store import db as store
from sentibot.timeutil import now_iso
from tests.support.fake_telegram import TOKEN, FakeTelegram

CLOSED = "http://127.0.0.1:9"  # nothing listens: every source fails fast, and each attempt is still recorded
SOURCE_URLS = {f.metadata["env"]: CLOSED for f in fields(Settings)  # every source URL, however many there are
               if f.name.endswith("_url") and f.name != "telegram_api_url"}
FAST = {"SENTIBOT_GUBA_INTERVAL_S": "1", "SENTIBOT_MARKET_INTERVAL_S": "1", "SENTIBOT_OFF_HOURS_INTERVAL_S": "1",
        "SENTIBOT_NOTICES_INTERVAL_S": "1", "SENTIBOT_SEARCH_INTERVAL_S": "1", "SENTIBOT_SENDER_INTERVAL_S": "0.2",
        "SENTIBOT_HTTP_RETRIES": "0", "SENTIBOT_MIN_INTERVAL_S": "0", "SENTIBOT_POLLING_WATCHDOG_S": "3"}
CHAT = 5001


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_settings(tmp_path, api_url: str, **extra):
    env = {"SENTIBOT_DB": str(tmp_path / "run.db"), "SENTIBOT_TELEGRAM_TOKEN": TOKEN,
           "SENTIBOT_TELEGRAM_API_URL": api_url, **SOURCE_URLS, **FAST, **extra}
    return load_settings(env, env_file=None)


async def until(condition, timeout: float = 20.0, what: str = "the service") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def queue_alert(db, n: int) -> None:
    store.add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=now_iso(), title=f"监管提示 {n}",
                              dedupe_key=f"outage-{n}"), now_iso())


def attempts(db) -> int:
    return next(db.query("select count(*) as n from source_attempts"))["n"]


def test_run_registers_the_command_menu_and_answers_commands(tmp_path):
    async def scenario():
        async with FakeTelegram() as fake:
            stop = asyncio.Event()
            task = asyncio.create_task(service.serve(run_settings(tmp_path, fake.base_url), stop=stop))
            try:
                await until(lambda: getattr(fake, "commands", None) or task.done(), what="setMyCommands")
                fake.inject("/help", user_id=CHAT)
                await until(lambda: fake.sent_to(CHAT) or task.done(), what="the /help reply")
            finally:
                stop.set()
                await asyncio.wait_for(task, 15)
            return fake

    fake = asyncio.run(scenario())
    assert {c["command"] for c in fake.commands} >= {"subscribe", "heat", "status", "help"}
    assert "/subscribe" in fake.sent_to(CHAT)[0].text


@pytest.mark.slow
def test_run_keeps_collecting_while_telegram_is_unreachable_and_delivers_the_queue_when_it_answers(
        tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(lifecycle, "RETRY_MAX_S", 1.0)  # the back-off cap: keeps the test short
    monkeypatch.setattr(lifecycle, "RETRY_FIRST_S", 0.5)
    port = free_port()
    settings = run_settings(tmp_path, f"http://127.0.0.1:{port}/bot")
    db = store.open_store(settings.db)
    db["subscribers"].insert({"chat_id": CHAT, "user_id": CHAT, "chat_type": "private", "min_level": "hot",
                              "active": 1})
    queue_alert(db, 1)

    async def scenario():
        stop = asyncio.Event()
        task = asyncio.create_task(service.serve(settings, stop=stop))
        try:
            await until(lambda: attempts(db) >= 4 or task.done(), what="collection while Telegram is down")
            queue_alert(db, 2)  # scored and queued during the outage
            first = attempts(db)
            await until(lambda: attempts(db) >= first + 4 or task.done(), what="more collection cycles")
            assert not task.done(), "sentibot run exited while Telegram was unreachable"
            assert next(db.query("select count(*) as n from deliveries where status = 'pending'"))["n"] == 2
            async with FakeTelegram(port=port) as fake:  # the Bot API answers at last
                await until(lambda: len(fake.sent_to(CHAT)) >= 2, what="the queued alerts")
                await asyncio.sleep(0.5)  # anything sent twice would arrive by now
                assert getattr(fake, "commands", None), "the command menu was not registered after the outage"
                stop.set()
                await asyncio.wait_for(task, 15)
                return fake
        finally:
            stop.set()
            if not task.done():
                await asyncio.wait_for(task, 15)

    with caplog.at_level(logging.DEBUG, logger="sentibot"):
        fake = asyncio.run(scenario())
    texts = [s.text for s in fake.sent_to(CHAT)]
    assert len(texts) == 2 and any("监管提示 1" in t for t in texts) and any("监管提示 2" in t for t in texts)
    statuses = {r["status"] for r in db.query("select status from deliveries")}
    assert statuses == {"sent"}, statuses
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("event=telegram_unreachable" in m for m in messages) == 1, "one line per state change, not per retry"
    assert sum("event=telegram_reachable" in m for m in messages) == 1
    assert all(TOKEN not in m for m in messages)


def test_a_rejected_token_stops_before_anything_is_collected(tmp_path):
    from sentibot.errors import ConfigError

    async def scenario():
        async with FakeTelegram() as fake:
            settings = run_settings(tmp_path, fake.base_url, SENTIBOT_TELEGRAM_TOKEN="999:WRONG-token")
            await service.serve(settings)

    with pytest.raises(ConfigError, match="^SENTIBOT_TELEGRAM_TOKEN: Telegram rejected"):
        asyncio.run(scenario())
    assert attempts(store.open_store(tmp_path / "run.db")) == 0


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_the_bot_api_goes_through_sentibot_telegram_proxy_and_the_sources_do_not(tmp_path, kind):
    from tests.support.socks5 import Socks5Relay

    async def scenario():
        async with FakeTelegram() as fake, Socks5Relay() as relay:
            if kind == "http":  # the fake answers absolute-form requests itself: it is the proxy
                proxy, api = fake.base_url.rsplit("/", 1)[0], CLOSED + "/bot"
            else:
                proxy, api = relay.url, fake.base_url
            settings = run_settings(tmp_path, api, SENTIBOT_TELEGRAM_PROXY=proxy)
            stop = asyncio.Event()
            task = asyncio.create_task(service.serve(settings, stop=stop))
            try:
                await until(lambda: getattr(fake, "commands", None) or task.done(), what="setMyCommands")
                fake.inject("/help", user_id=CHAT)
                await until(lambda: fake.sent_to(CHAT) or task.done(), what="the /help reply")
                await until(lambda: attempts(store.open_store(settings.db)) >= 3, what="collection")
            finally:
                stop.set()
                await asyncio.wait_for(task, 15)
            return fake, relay

    fake, relay = asyncio.run(scenario())
    assert fake.sent_to(CHAT)
    if kind == "http":
        assert fake.proxied >= 3  # getMe, setMyCommands, getUpdates, sendMessage: all through the proxy
    else:
        assert relay.connects and all(port == int(fake.base_url.split(":")[2].split("/")[0])
                                      for _, port in relay.connects)  # only Bot API connections, no source


def test_a_bad_proxy_setting_is_one_line():
    from sentibot.errors import ConfigError

    for bad in ("ftp://proxy:21", "socks4://h:1080", "socks5://h:port", "127.0.0.1:1080"):
        with pytest.raises(ConfigError, match="^SENTIBOT_TELEGRAM_PROXY: expected a proxy URL"):
            load_settings({"SENTIBOT_TELEGRAM_PROXY": bad}, env_file=None)
    assert load_settings({"SENTIBOT_TELEGRAM_PROXY": "socks5://u:p@127.0.0.1:1080"},
                         env_file=None).telegram_proxy == "socks5://u:p@127.0.0.1:1080"
