"""Subscriber settings under load: a flood of button taps in a group, and concurrent edits from several processes.

The flood runs the real Application (build_application: the CallbackQueryHandler, the admin check, the store) with
its socket swapped for the fake Bot API's in-process handler (as the command fuzz suite does), 64 updates at once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time

from telegram import Update

from sentibot.alerts.outbox import NO_LIMITS
from sentibot.bot.application import build_application
from sentibot.config import load_settings
from sentibot.store import subscriptions
from sentibot.store.db import open_store
from tests.support.loopback_bot import LoopbackRequest
from tests.support.proof_scale import scaled
from tests.support.fake_telegram import TOKEN, FakeTelegram

TAPS = scaled(10_000, 1_500)
GROUP = -100321
ADMINS = {31, 32, 33}
MEMBERS = set(range(100, 160))
BOGUS = ["sub:calm", "kind:stocks", "x" * 64, "", "heat:now", "sub:hot\n", "kind:①", None]


def callback_update(update_id: int, data: str | None, user_id: int, message_id: int) -> dict:
    chat = {"id": GROUP, "type": "supergroup", "title": "g"}
    query = {"id": str(update_id), "chat_instance": "1", "from": {"id": user_id, "is_bot": False, "first_name": "u"},
             "message": {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": "panel",
                         "from": {"id": 1, "is_bot": True, "first_name": "b"}}}
    if data is not None:
        query["data"] = data
    return {"update_id": update_id, "callback_query": query}


def test_a_flood_of_taps_from_admins_members_and_forged_data_is_answered_once_each_and_obeys_the_admins(tmp_path):
    db = open_store(tmp_path / "flood.db")
    subscriptions.subscribe(db, GROUP, 31, "supergroup", None, "hot", "2026-12-01T10:00:00+08:00")
    fake = FakeTelegram()
    fake.chat_admins[GROUP] = set(ADMINS)
    settings = load_settings({"SENTIBOT_TELEGRAM_TOKEN": TOKEN}, env_file=None)
    app = build_application(settings, db, limits=NO_LIMITS, chart_dir=tmp_path, request=LoopbackRequest(fake))
    errors: list[BaseException] = []

    async def on_error(update, context):
        errors.append(context.error)

    app.add_error_handler(on_error)
    rng = random.Random(20)
    taps = []
    for n in range(TAPS):
        user = rng.choice(sorted(ADMINS | MEMBERS))
        data = rng.choice([f"kind:{k}" for k in subscriptions.KINDS] + ["sub:frenzy", "sub:off", "heat:refresh"]
                          + BOGUS)
        taps.append((n + 1, data, user))
    # the panel message the taps edit (editMessageText answers "not found" otherwise)
    panel = fake._send("sendMessage", {"chat_id": str(GROUP), "text": "panel"})[1]["result"]["message_id"]

    async def scenario():
        await app.initialize()
        slots = asyncio.Semaphore(64)

        async def one(tap):
            async with slots:
                await app.process_update(Update.de_json(callback_update(tap[0], tap[1], tap[2], panel), app.bot))

        await asyncio.gather(*(one(t) for t in taps))
        await app.shutdown()

    asyncio.run(scenario())
    assert not errors, errors[:3]
    answered = [cid for cid, _ in fake.answered]
    assert sorted(answered, key=int) == [str(n) for n, _, _ in taps]  # every tap answered exactly once
    toggles = {k: sum(1 for _, d, u in taps if d == f"kind:{k}" and u in ADMINS) for k in subscriptions.KINDS}
    # toggles commute: only their parity counts (the digest starts off, every other kind on)
    expected = {k for k, n in toggles.items() if (n % 2 == 0 if k in subscriptions.OPT_IN else n % 2)}
    state = subscriptions.chat_settings(db, GROUP)
    assert {k for k in subscriptions.KINDS if not state.wants(k)} == expected, (state, toggles)
    members_off = sum(1 for _, d, u in taps if d == "sub:off" and u in MEMBERS)
    admins_level = [d for _, d, u in taps if d in ("sub:frenzy", "sub:off") and u in ADMINS]
    assert members_off and admins_level  # the flood really had both
    getters = sum(1 for c in fake.calls if c.method == "getChatMember")
    assert getters <= len(ADMINS | MEMBERS) * 2  # cached per user, not asked per tap
    print(f"\n{TAPS} taps: answered {len(answered)}, getChatMember {getters}, final muted {sorted(state.muted)}, digest {state.digest}")


def _edit_worker(db_path: str, kind: str, rounds: int, seed: int) -> None:
    db = open_store(db_path)
    rng = random.Random(seed)
    for n in range(rounds):
        subscriptions.set_kind(db, 1, "private", kind, on=n % 2 == 1, now=f"2026-12-01T10:00:{n % 60:02d}+08:00")
        if rng.random() < 0.3:
            subscriptions.set_quiet(db, 1, "private", (rng.randrange(8, 24), 7) if rng.random() < 0.5 else None,
                                    "2026-12-01T10:00:00+08:00")
        subscriptions.chat_settings(db, 1)
    db.conn.close()


def test_concurrent_settings_edits_from_several_processes_lose_none(tmp_path):
    db_path = str(tmp_path / "edits.db")
    db = open_store(db_path)
    subscriptions.subscribe(db, 1, 1, "private", None, "hot", "2026-12-01T10:00:00+08:00")
    rounds = scaled(2_001, 301)  # odd: each worker's last edit turns its kind off
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_edit_worker, args=(db_path, kind, rounds, seed))
               for seed, kind in enumerate(subscriptions.KINDS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0] * len(subscriptions.KINDS)  # no "database is locked"
    state = subscriptions.chat_settings(db, 1)
    assert not any(state.wants(k) for k in subscriptions.KINDS)  # each worker's last word (off) kept
    assert db["subscribers"].get(1)["active"] == 1 and db["subscribers"].count == 1
