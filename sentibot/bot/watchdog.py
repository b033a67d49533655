"""Polling watchdog: notices when getUpdates has not succeeded for SENTIBOT_POLLING_WATCHDOG_S and restarts it.

The service polls through its own Updater, whose Bot's getUpdates connection timestamps every successful answer; the
updates go into the Application's update queue, so the Application's handlers (and app.bot for replies) are unchanged.
"""

from __future__ import annotations

import logging
import time

from telegram import Bot
from telegram.error import Conflict
from telegram.ext import Updater
from telegram.request import HTTPXRequest

from sentibot.tls import tls_context

from sentibot.config import Settings

log = logging.getLogger("sentibot.run.service")
ALLOWED_UPDATES = ["message", "callback_query"]  # what the bot's handlers use


class WatchedRequest(HTTPXRequest):
    """The getUpdates connection; every HTTP 200 answer counts as a successful poll."""

    def __init__(self, on_ok, **kwargs):
        super().__init__(**kwargs)
        self._on_ok = on_ok

    async def do_request(self, *args, **kwargs):
        code, payload = await super().do_request(*args, **kwargs)
        if code == 200:
            self._on_ok()
        return code, payload


class PollingWatch:
    """Tracks the last successful poll and restarts the updater when polling has stalled."""

    def __init__(self, settings: Settings, clock=time.monotonic, on_conflict=None, on_ok=None, on_fail=None,
                 poll_timeout_s: float | None = None):
        self.settings = settings
        self.on_conflict = on_conflict  # called when another process polls the same token (409)
        self.on_ok = on_ok  # called after every successful poll (the link logs only a change of state)
        self.on_fail = on_fail  # called with each polling error, and when polling has stalled
        self._poll_timeout_s = poll_timeout_s
        self.conflict: Exception | None = None
        self.limit_s = settings.polling_watchdog_s
        self.clock = clock
        self.last_ok = clock()
        self.restarts = 0
        self._stall_logged = False  # a stall is logged once until the next successful poll
        self.last_error = float("-inf")

    @property
    def poll_timeout_s(self) -> int:
        """Long-poll timeout: several polls fit in one watchdog window, so an idle bot never looks stalled."""
        if self._poll_timeout_s is not None:
            return self._poll_timeout_s  # type: ignore[return-value]  # tests poll faster; PTB takes a float
        return max(1, min(10, int(self.limit_s / 3)))

    @property
    def tick_s(self) -> float:
        return max(0.5, min(60.0, self.limit_s / 4))

    def mark_ok(self) -> None:
        self.last_ok = self.clock()
        self._stall_logged = False
        if self.on_ok:
            self.on_ok()

    def updater(self, update_queue) -> Updater:
        """An Updater feeding update_queue (the Application's) through a Bot whose polls are watched."""
        proxy = self.settings.telegram_proxy  # the Bot API's own proxy, never the collectors' SENTIBOT_HTTP_PROXY
        bot = Bot(token=str(self.settings.telegram_token), base_url=self.settings.telegram_api_url,
                  request=HTTPXRequest(connection_pool_size=1, proxy=proxy, httpx_kwargs={"verify": tls_context()}),
                  get_updates_request=WatchedRequest(self.mark_ok, connection_pool_size=1, proxy=proxy,
                                                     httpx_kwargs={"verify": tls_context()}))
        return Updater(bot=bot, update_queue=update_queue)

    def stalled_for(self) -> float:
        return self.clock() - self.last_ok

    def on_error(self, exc: Exception) -> None:
        if isinstance(exc, Conflict):
            self.conflict = exc
            log.error("event=polling_conflict error='another instance polls this token (409)' action=stop")
            if self.on_conflict:
                self.on_conflict()
            return
        self.last_error = self.clock()  # PTB's loop is alive and retrying on its own: no restart needed
        if self.on_fail:  # the link logs the first error of an outage, not every retry (a day offline = 1 line)
            self.on_fail(exc)
        else:
            log.warning("event=polling_error error=%r stalled_s=%.0f", f"{type(exc).__name__}: {exc}",
                        self.stalled_for())

    async def start_polling(self, updater: Updater) -> None:
        self.last_ok = self.clock()  # a fresh start gets a whole window before it counts as stalled
        await updater.start_polling(timeout=self.poll_timeout_s, allowed_updates=ALLOWED_UPDATES,
                                    error_callback=self.on_error)

    async def check(self, updater: Updater) -> bool:
        """Restart polling if it has not succeeded for the limit; True when it restarted."""
        stalled = self.stalled_for()
        if stalled <= self.limit_s:
            return False
        if self.on_fail and self.clock() - self.last_error < self.limit_s:
            return False  # polls fail fast (API down or blocked) and PTB retries them; a restart adds nothing
        self.restarts += 1
        level = logging.DEBUG if self._stall_logged else logging.WARNING  # once per outage, not every window
        self._stall_logged = True
        log.log(level, "event=polling_stalled stalled_s=%.0f limit_s=%.0f action=restart_updater restarts=%d",
                stalled, self.limit_s, self.restarts)
        if self.on_fail:
            self.on_fail(TimeoutError(f"no successful getUpdates for {stalled:.0f} s"))
        if updater.running:
            await updater.stop()
        await self.start_polling(updater)
        return True
