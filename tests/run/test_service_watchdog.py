"""Polling watchdog against the fake Bot API: a stalled getUpdates is noticed and the updater restarted."""

import asyncio
import logging
import pytest

from telegram.ext import ApplicationBuilder

from tests.support.fake_telegram import TOKEN, FakeTelegram
from sentibot.config import load_settings
from sentibot.bot.watchdog import PollingWatch


@pytest.mark.slow
def test_stalled_polling_is_logged_and_the_updater_restarted(caplog):
    async def scenario():
        async with FakeTelegram() as fake:
            settings = load_settings({"SENTIBOT_POLLING_WATCHDOG_S": "1.5", "SENTIBOT_TELEGRAM_TOKEN": TOKEN,
                                      "SENTIBOT_TELEGRAM_API_URL": fake.base_url}, env_file=None)
            watch = PollingWatch(settings)
            app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).build()
            updater = watch.updater(app.update_queue)
            async with app, updater:
                await watch.start_polling(updater)
                await asyncio.sleep(0.3)
                assert not await watch.check(updater)  # healthy: polls succeed
                fake.fault_rule = lambda method, params: "500" if method == "getUpdates" else None
                restarted = False
                for _ in range(40):  # up to ~4 s
                    await asyncio.sleep(0.1)
                    if await watch.check(updater):
                        restarted = True
                        break
                assert restarted and watch.restarts == 1
                fake.fault_rule = None
                await asyncio.sleep(1.2)  # the restarted updater polls successfully again
                assert watch.stalled_for() < 1.5 and updater.running
                assert not await watch.check(updater)
                await updater.stop()

    with caplog.at_level(logging.WARNING, logger="sentibot.run.service"):
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert any("event=polling_stalled" in m and "action=restart_updater" in m for m in messages)
    assert any("event=polling_error" in m for m in messages)
    assert all(TOKEN not in m for m in messages)
