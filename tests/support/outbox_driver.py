"""Runs one outbox drain in its own process, so a test can kill -9 it mid-fan-out: DB BASE_URL RATE STALE_S."""

import asyncio
import sys

from telegram import Bot
from telegram.request import HTTPXRequest

from tests.support.fake_telegram import TOKEN
from sentibot.alerts.outbox import Limits, SenderConfig, drain_outbox
from sentibot.store.db import open_store


async def main(db_path: str, base_url: str, rate: float, stale_s: float) -> None:
    config = SenderConfig(limits=Limits(overall_per_s=rate, private_per_s=10, group_per_min=600),
                          send_timeout_s=0.5, backoff_s=0.05, stale_sending_s=stale_s)
    async with Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=16)) as bot:
        stats = await drain_outbox(bot, open_store(db_path), config=config, wait_retries=True)
    print(stats.counts, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
