"""One bot lifecycle for `sentibot bot` and `sentibot run`: connect with back-off, set the menu, poll, stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application

from sentibot.bot.watchdog import PollingWatch
from sentibot.config import Settings
from sentibot.errors import ConfigError

log = logging.getLogger("sentibot.run.service")
RETRY_FIRST_S, RETRY_MAX_S = 2.0, 300.0  # connection back-off: 2 s, doubling, at most 5 minutes


class BotLink:
    """The Application's connection to the Bot API.

    Until the API answers, `serve` retries with back-off and everything else in the process (collection, scoring,
    queueing alerts in the outbox) goes on; `online` says whether sends can go out now. Each change of state is
    logged once (event=telegram_unreachable / event=telegram_reachable), never each retry.
    """

    def __init__(self, app: Application, settings: Settings, *, poll_timeout_s: float | None = None,
                 retry_s: tuple[float, float] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.settings, self.clock = app, settings, clock
        self.retry_s = retry_s or (RETRY_FIRST_S, RETRY_MAX_S)
        self.stop = asyncio.Event()
        self.watch = PollingWatch(settings, on_conflict=self.stop.set, on_ok=self._up, on_fail=self._down,
                                  poll_timeout_s=poll_timeout_s)
        self.updater = self.watch.updater(app.update_queue)  # our own poller: the watchdog sees every poll
        self.state = "starting"  # starting -> up | down
        self.since = clock()
        self.connected = asyncio.Event()  # set once: the menu is registered and polling started
        self._quiet = _WhileDown(self)
        self.tried = asyncio.Event()  # set after the first attempt, whatever its outcome (a bad token raises first)

    @property
    def online(self) -> bool:
        return self.state == "up"

    @property
    def conflict(self) -> Exception | None:
        return self.watch.conflict

    def _up(self) -> None:
        if self.state != "up":
            if self.state == "down":
                log.info("event=telegram_reachable after_s=%.0f effect='queued alerts are being delivered'",
                         self.clock() - self.since)
            self.state, self.since = "up", self.clock()

    def _down(self, exc: BaseException) -> None:
        if self.state != "down":
            log.warning("event=telegram_unreachable url=%s error=%r effect='collection, scoring and queueing go on; "
                        "alerts wait in the outbox' action='retry with back-off up to %.0f s'",
                        self.settings.telegram_api_url, _describe(exc, self.settings), self.retry_s[1])
            self.state, self.since = "down", self.clock()

    async def _connect_once(self) -> None:
        """getMe (both bots), the command menu (post_init), the handlers, then polling."""
        await self.app.initialize()
        await self.updater.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        if not self.app.running:
            await self.app.start()
        await self.watch.start_polling(self.updater)

    async def _forget_failed_get_me(self) -> None:
        """PTB marks a Bot initialised before its getMe answers, so after a failed getMe the next initialize() would
        skip it and start() would fail on the unknown bot user. Shut such a Bot down: the next attempt asks again."""
        for bot in (self.app.bot, self.updater.bot):
            try:
                bot.bot  # noqa: B018 - raises RuntimeError while getMe has not answered
            except RuntimeError:
                await bot.shutdown()

    async def connect(self) -> bool:
        """Connect, retrying with back-off until it works (True) or the link is stopped (False)."""
        delay = self.retry_s[0]
        while not self.stop.is_set():
            try:
                await self._connect_once()
            except InvalidToken:
                raise ConfigError("SENTIBOT_TELEGRAM_TOKEN: Telegram rejected the token (401/404)") from None
            except NetworkError as exc:  # TimedOut, connection refused, proxy errors, 5xx
                self._down(exc)
                await self._forget_failed_get_me()
                self.tried.set()
                log.debug("event=telegram_retry in_s=%.0f", delay)
                if await _wait(self.stop, delay):
                    return False
                delay = min(delay * 2, self.retry_s[1])
                continue
            self._up()
            self.tried.set()
            log.info("event=bot_serving bot=@%s", self.app.bot.username)
            self.connected.set()
            return True
        return False

    async def serve(self, stop: asyncio.Event) -> None:
        """Connect, then watch polling until `stop` (or a 409 conflict); always tears down what it started."""
        relay = asyncio.ensure_future(_relay(stop, self.stop))
        for name in PTB_LOGGERS:
            logging.getLogger(name).addFilter(self._quiet)
        try:
            if await self.connect():
                while not await _wait(self.stop, self.watch.tick_s):
                    try:
                        await self.watch.check(self.updater)
                    except NetworkError as exc:  # restarting polling needs the API too: the next tick retries
                        self._down(exc)
        finally:
            relay.cancel()
            await self.close()
            for name in PTB_LOGGERS:
                logging.getLogger(name).removeFilter(self._quiet)
        if self.conflict:
            stop.set()  # the rest of the process stops with the bot

    async def close(self) -> None:
        if self.updater.running:
            await self.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.updater.shutdown()
        await self.app.shutdown()
        for bot in (self.app.bot, self.updater.bot):  # never initialised (getMe failed): close their HTTP clients
            await bot.shutdown()


PTB_LOGGERS = ("telegram.ext", "telegram.ext.Updater", "telegram.ext.Application")


class _WhileDown(logging.Filter):
    """While the Bot API is known to be unreachable, PTB's tracebacks of the same network error are dropped: the
    link's one event=telegram_unreachable line says it (a day offline would otherwise log thousands)."""

    def __init__(self, link: BotLink) -> None:
        super().__init__()
        self.link = link

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (self.link.state == "down" and isinstance(error, NetworkError))


def _describe(exc: BaseException, settings: Settings) -> str:
    return f"{type(exc).__name__}: {exc}".replace(str(settings.telegram_token or "\0"), "***")


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait up to seconds; True if the event was set."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
