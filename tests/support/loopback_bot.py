"""The real PTB Application with its HTTP transport swapped for an in-process one (FakeTelegram.handle answers).

Only the socket is skipped: the CommandHandlers, argument parsing, admin guard, sender and replies are the real bot.
At ~3 ms per loopback round trip, the proof suites' 100,000-message floods would take minutes over HTTP.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database
from telegram import Update
from telegram.ext import Application, CallbackContext
from telegram.request import BaseRequest

from sentibot.alerts.outbox import NO_LIMITS
from sentibot.bot.application import build_application
from sentibot.config import load_settings
from tests.support.fake_telegram import TOKEN, FakeTelegram


class LoopbackRequest(BaseRequest):
    """Answers Bot API calls in process with FakeTelegram.handle and records every outgoing text."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.outgoing: list[tuple[str, int, str]] = []  # (method, chat_id, text)

    @property
    def read_timeout(self) -> float | None:
        return 2.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data=None, read_timeout=None, write_timeout=None,
                         connect_timeout=None, pool_timeout=None):
        api_method = url.rsplit("/", 1)[1]
        params = dict(request_data.json_parameters) if request_data else {}
        if request_data and request_data.contains_files:
            params["_photo_bytes"] = b"png"
        if api_method in ("sendMessage", "sendPhoto"):
            self.outgoing.append((api_method, int(params["chat_id"]), params.get("text", params.get("caption", ""))))
        status, payload = await self.fake.handle(api_method, params)
        return status, json.dumps(payload).encode()


@dataclass
class LoopbackBot:
    """A started Application on its own event loop; `send` feeds one update and returns what the bot sent."""

    app: Application
    loop: asyncio.AbstractEventLoop
    transport: LoopbackRequest
    crashes: list[BaseException]
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def send(self, update: dict) -> list[tuple[str, int, str]]:
        first = len(self.transport.outgoing)
        update["update_id"] = next(self.ids)
        self.loop.run_until_complete(self.app.process_update(Update.de_json(update, self.app.bot)))
        return self.transport.outgoing[first:]


@contextmanager
def loopback_bot(db: Database, tmp_path: Path, fake: FakeTelegram, admin: int) -> Iterator[LoopbackBot]:
    """build_application over db with `admin` as the one admin, initialised; every handler error lands in crashes."""
    config = load_settings({"SENTIBOT_TELEGRAM_TOKEN": TOKEN, "SENTIBOT_ADMIN_IDS": str(admin)}, env_file=None)
    transport = LoopbackRequest(fake)
    app = build_application(config, db, limits=NO_LIMITS, chart_dir=tmp_path, request=transport)
    crashes: list[BaseException] = []

    async def on_error(update: object, context: CallbackContext) -> None:
        assert context.error is not None
        crashes.append(context.error)

    app.add_error_handler(on_error)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(app.initialize())
    try:
        yield LoopbackBot(app, loop, transport, crashes)
    finally:
        loop.run_until_complete(app.shutdown())
        loop.close()
