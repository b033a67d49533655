"""Restarts: five restarts across missed schedule times give exactly one catch-up run each, and the same jobs.

The real service (sentibot.run.service.serve, console mode: the run branch's job registration on APScheduler) runs
against one SQLite file five times. Between runs the service's clock jumps 3 hours ahead (thousands of missed 1 s
schedule times, across a trading session and the night); during a run the clock stands still while the scheduler
ticks every second for 3.5 s of real time. Each run must attempt every collection job's sources exactly once (the
catch-up), never again at the later ticks, and register exactly the same job ids as the first run, each once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta

import pytest

from sentibot.config import load_settings
from sentibot.run.service import serve
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI

RESTARTS = 5
CLOSED = "http://127.0.0.1:9"  # nothing listens: every source fails fast, and the attempt is still recorded
START = datetime(2023, 11, 27, 8, 0, tzinfo=SHANGHAI)  # a Monday before the session opens


def attempts(db_path) -> dict[str, int]:
    db = open_store(db_path)
    try:
        return {r["source"]: r["n"] for r in db.query("select source, count(*) n from source_attempts group by 1")}
    finally:
        db.conn.close()


@pytest.mark.slow
def test_five_restarts_across_missed_schedules_run_each_job_once_and_keep_the_jobs(tmp_path, caplog):
    db_path = tmp_path / "restarts.db"
    urls = {f"{name}_url": CLOSED for name in ("guba", "guba_api", "eastmoney", "eastmoney_list", "eastmoney_session",
                                                "bse", "csrc", "cninfo", "baidu_index", "wechat_index", "em_rank")}
    settings = load_settings(environ={}, env_file=None, db=db_path, telegram_token="", http_retries=0,
                             http_timeout_s=1.0, min_interval_s=0.0, guba_interval_s=1.0, market_interval_s=1.0,
                             off_hours_interval_s=1.0, notices_interval_s=1.0, search_interval_s=1.0,
                             sender_interval_s=1.0, **urls)
    clock = {"now": START}
    registered: list[list[str]] = []
    per_run: list[dict[str, int]] = []

    async def one_run():
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop=stop, clock=lambda: clock["now"]))
        await asyncio.sleep(3.5)  # three more 1 s ticks after the start-up run, with the clock standing still
        stop.set()
        await asyncio.wait_for(task, 15)

    before = {}
    for restart in range(RESTARTS):
        clock["now"] = START + timedelta(hours=3 * restart)  # every 1 s schedule time in between was missed
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sentibot"):
            asyncio.run(one_run())
        lines = [r.getMessage() for r in caplog.records if "event=jobs_registered" in r.getMessage()]
        assert len(lines) == 1, lines
        registered.append(re.search(r"jobs=(\S+)", lines[0]).group(1).split(","))
        after = attempts(db_path)
        per_run.append({s: after.get(s, 0) - before.get(s, 0) for s in after})
        before = after

    sources = set(per_run[0])
    assert {"guba", "market", "notices"} <= sources, per_run[0]
    for restart, runs in enumerate(per_run):
        assert set(runs) == sources and set(runs.values()) == {1}, f"restart {restart}: attempts {runs}"
    assert all(sorted(jobs) == sorted(registered[0]) and len(jobs) == len(set(jobs)) for jobs in registered), \
        registered
    print(f"\n{RESTARTS} restarts, clock +3 h each: {len(sources)} sources attempted exactly once per restart; "
          f"jobs each time: {','.join(sorted(registered[0]))}")
