"""kill -9 in the middle of a /broadcast: after a restart every other subscriber gets it, and nobody gets it twice.

A real `sentibot bot` process, at Telegram's default limits (30 msg/s), broadcasts to 200 subscribers through the
fake Bot API on its own thread. It is killed with SIGKILL once 60 of them were served, then started again on the
same database. The restarted bot's outbox drain resumes the broadcast from the recipients still pending. The one recipient that may
have been in flight at the kill is left 'sending' and becomes 'unknown' after a minute, never re-sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.fake_telegram import TOKEN
from sentibot.store.db import open_store
from tests.support.threaded_fake import ThreadedFake

ADMIN = 777
SUBSCRIBERS = list(range(50_000, 50_200))
KILL_AFTER = 60


def start_bot(db: Path, fake: ThreadedFake, tmp_path: Path) -> subprocess.Popen:
    env = dict(os.environ, SENTIBOT_TELEGRAM_TOKEN=TOKEN, SENTIBOT_TELEGRAM_API_URL=fake.base_url,
               SENTIBOT_ADMIN_IDS=str(ADMIN), SENTIBOT_SENDER_INTERVAL_S="0.5")
    return subprocess.Popen([sys.executable, "-m", "sentibot", "bot", "--db", str(db)], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def received(fake: ThreadedFake) -> Counter:
    return Counter(m.chat_id for m in fake.sent if m.chat_id in set(SUBSCRIBERS))


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.slow
def test_kill_9_mid_broadcast_then_restart_delivers_the_rest_once(tmp_path):
    db_path = tmp_path / "broadcast.db"
    db = open_store(db_path)
    db["subscribers"].insert_all({"chat_id": c, "user_id": c, "chat_type": "private", "min_level": "hot",
                                  "active": 1} for c in SUBSCRIBERS)
    db.conn.close()
    with ThreadedFake() as fake:
        bot = start_bot(db_path, fake, tmp_path)
        try:
            fake.inject("/broadcast 北交所: new rules from Monday", user_id=ADMIN)
            wait_until(lambda: sum(received(fake).values()) >= KILL_AFTER, 30, f"{KILL_AFTER} broadcast messages")
            bot.send_signal(signal.SIGKILL)
            bot.wait(10)
            at_kill = received(fake)
            assert KILL_AFTER <= sum(at_kill.values()) < len(SUBSCRIBERS)

            bot = start_bot(db_path, fake, tmp_path)
            wait_until(lambda: len(received(fake)) >= len(SUBSCRIBERS) - 1, 40, "the resumed broadcast")
            time.sleep(1.0)  # a duplicate, if any, would arrive now
        finally:
            bot.terminate()
            bot.wait(15)
        final = received(fake)
    db = open_store(db_path)
    statuses = Counter(r["status"] for r in db["deliveries"].rows_where("broadcast_id is not null"))
    assert max(final.values()) == 1, "a subscriber got the broadcast twice"
    assert len(final) >= len(SUBSCRIBERS) - 1  # at most the one request in flight at the kill is missing
    assert statuses["sent"] >= len(SUBSCRIBERS) - 1 and statuses["sending"] + statuses["sent"] == len(SUBSCRIBERS)
    assert not statuses["pending"]
    assert db["broadcasts"].count == 1  # the restart resumed the stored broadcast; nothing was issued again
