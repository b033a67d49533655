"""Delivery under faults: kill -9 the whole sending process mid-fan-out, again and again; nothing lost, nothing twice.

One regulator alert fans out to FAN_OUT subscribers through tests/outbox_driver.py (a separate process running
delivery.drain_outbox against the fake Bot API over loopback) while the fake answers 10% 429, 5% 500 and 2%
"accepted but the answer never arrives". The process is killed with SIGKILL KILLS times, each time after a random
number of further accepted messages, and restarted; a last run finishes the outbox. Then every subscriber got the
alert exactly once, or its delivery is 'unknown' (the documented outcome of a send interrupted in flight: never
re-sent, because a duplicate alert is worse than a missing one); 'unknown' rows are at most the sends in flight at
the kills. Kills: 10 (the issue's number) in CI and with SENTIBOT_PROOF_SCALE=1.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter

import pytest

from tests.support.fake_telegram import FakeTelegram
from sentibot.alerts.outbox import SenderConfig
from sentibot.models import Alert, AlertKind
from sentibot.store.db import add_alert, open_store
from tests.support.paths import TESTS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NOW = "2023-11-27T20:00:00+08:00"


def scaled(full: int, ci: int) -> int:
    raw = os.environ.get("SENTIBOT_PROOF_SCALE")
    return max(1, round(full * float(raw))) if raw else ci


KILLS = scaled(10, 10)
FAN_OUT = 800
IN_FLIGHT = SenderConfig().concurrency  # requests one sender has in flight at most


def fault_rule(seed: int = 11):
    attempts: Counter = Counter()

    def rule(method, params):
        if method != "sendMessage":
            return None
        chat = int(params["chat_id"])
        attempts[chat] += 1
        roll = random.Random(f"{seed}:{chat}:{attempts[chat]}").random()
        return "429" if roll < 0.10 else "500" if roll < 0.15 else "hang_after_accept" if roll < 0.17 else None

    return rule


@pytest.mark.slow
def test_kill_9_the_sender_10_times_mid_fan_out_loses_nothing_and_sends_nothing_twice(tmp_path):
    rng = random.Random(20231127)
    db_path = tmp_path / "fanout.db"
    db = open_store(db_path)
    db["subscribers"].insert_all(({"chat_id": 50_000 + i, "user_id": 50_000 + i, "chat_type": "private",
                                   "min_level": "hot", "active": 1} for i in range(FAN_OUT)), batch_size=500)
    add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=NOW, title="北交所 <监管> 警示 & 提示",
                        reasons=("source: bse.cn",), dedupe_key="regulator_warning:https://www.bse.cn/kill.html"), NOW)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(TESTS.parent)]))
    kills_done, sent_at_kill = [], []

    async def sender(base_url: str):
        # rate 400/s; stale_s 0: a restart settles the dead process's in-flight rows as 'unknown' at once
        return await asyncio.create_subprocess_exec(
            sys.executable, str(TESTS / "support" / "outbox_driver.py"), str(db_path), base_url, "400", "0", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def main():
        async with FakeTelegram(hang_s=1.0) as fake:
            fake.fault_rule = fault_rule()
            for _ in range(KILLS):
                before = len(fake.sent)
                target = before + rng.randrange(10, 60)
                child = await sender(fake.base_url)
                deadline = time.monotonic() + 30
                while len(fake.sent) < target and child.returncode is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                await asyncio.sleep(rng.uniform(0, 0.02))
                if child.returncode is None:
                    child.send_signal(signal.SIGKILL)
                    kills_done.append(1)
                await child.wait()
                sent_at_kill.append(len(fake.sent))
            last = await sender(fake.base_url)
            out, err = await asyncio.wait_for(last.communicate(), 120)
            assert last.returncode == 0, err.decode()[-2000:]
            return fake

    fake = asyncio.run(main())
    received = Counter(s.chat_id for s in fake.sent if s.method == "sendMessage")
    rows = {r["chat_id"]: r["status"] for r in db.query("select chat_id, status from deliveries")}
    unknown = {c for c, s in rows.items() if s == "unknown"}
    assert len(kills_done) == KILLS, f"only {len(kills_done)} kills landed mid-fan-out"
    assert sent_at_kill[-1] < FAN_OUT, "the fan-out finished before the last kill"
    assert set(rows.values()) <= {"sent", "unknown"}, Counter(rows.values())
    assert max(received.values()) == 1, "a subscriber got the alert twice"
    lost = [c for c, s in rows.items() if s == "sent" and received[c] != 1]
    assert not lost, f"{len(lost)} deliveries marked sent never reached the fake"
    missing = [c for c in rows if received[c] == 0 and c not in unknown]
    assert not missing, f"{len(missing)} subscribers got nothing and are not 'unknown'"
    hang_unknown = sum(1 for c in fake.calls if c.fault == "hang_after_accept")
    assert len(unknown) <= KILLS * IN_FLIGHT + hang_unknown
    delivered_unknown = sum(1 for c in unknown if received[c] == 1)
    print(f"\n{KILLS} kills at {sent_at_kill} accepted messages; {FAN_OUT} subscribers: "
          f"{sum(1 for s in rows.values() if s == 'sent')} sent, {len(unknown)} unknown "
          f"({delivered_unknown} of them did arrive, {hang_unknown} were accepted-but-unanswered sends), "
          f"0 duplicates, 0 lost")
