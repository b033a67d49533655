"""Authorisation: every admin command from every non-admin sender and chat type is refused and changes nothing.

Senders: a stranger, a subscriber, a user whose *chat* id is the admin's id, Telegram's GroupAnonymousBot (an
anonymous group admin posts as it), and a channel post (no user at all). Chat types: private, group, supergroup,
channel. Forms: plain, addressed to this bot, with arguments, and as an edited message. The real Application
(build_application) runs with the in-process transport of test_fuzz_commands. After each attempt: no message
reached any chat but the sender's, the reply reveals nothing (no outbox, no source detail), and the whole database
dump is byte-for-byte the one before.
"""

from __future__ import annotations

import itertools
import time

import pytest

from tests.support.fake_telegram import BOT_USERNAME, FakeTelegram
from sentibot.bot.application import COMMANDS
from sentibot.store.db import open_store
from tests.support.hostile import ADMIN, seed_hostile
from tests.support.loopback_bot import loopback_bot


ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: who an anonymous group admin appears as
ADMIN_COMMANDS = [c.name for c in COMMANDS if c.admin]
SENDERS = [  # (label, user id or None for a channel post, chat id)
    ("stranger", 1001, None), ("subscriber", 2001, None), ("user in the admin's chat id", 1002, ADMIN),
    ("anonymous group admin", ANONYMOUS_ADMIN, None), ("negative id", -5, None)]
CHAT_TYPES = ["private", "group", "supergroup", "channel"]
FORMS = ["/{c}", "/{c}@" + BOT_USERNAME, "/{c} hello <b>all</b>", "/{c}@" + BOT_USERNAME + " x\ny", "edited:/{c} hi"]


def dump(db) -> str:
    return "\n".join(db.conn.iterdump())


def make_update(update_id: int, form: str, command: str, user_id: int | None, chat_id: int, chat_type: str) -> dict:
    edited = form.startswith("edited:")
    text = form.removeprefix("edited:").format(c=command)
    chat = {"id": chat_id, "type": chat_type}
    chat.update(first_name="x") if chat_type == "private" else chat.update(title="a group")
    body = {"message_id": update_id, "date": int(time.time()), "chat": chat, "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
    if edited:
        body["edit_date"] = int(time.time())
    if chat_type == "channel":
        body["sender_chat"] = chat
        return {"update_id": update_id, ("edited_channel_post" if edited else "channel_post"): body}
    body["from"] = {"id": user_id, "is_bot": user_id == ANONYMOUS_ADMIN, "first_name": "x"}
    if user_id == ANONYMOUS_ADMIN:
        body["sender_chat"] = chat
    return {"update_id": update_id, ("edited_message" if edited else "message"): body}


@pytest.fixture
def bot(tmp_path):
    db = open_store(tmp_path / "auth.db")
    seed_hostile(db)
    fake = FakeTelegram()
    with loopback_bot(db, tmp_path, fake, ADMIN) as running:
        yield db, running.send, running.crashes


def test_every_admin_command_from_every_non_admin_and_chat_type_is_refused_and_changes_nothing(bot):
    db, send, crashes = bot
    attempts = refused = silent = 0
    for command, (label, user_id, chat_id), chat_type, form in itertools.product(
            ADMIN_COMMANDS, SENDERS, CHAT_TYPES, FORMS):
        chat = chat_id if chat_id is not None else (user_id if chat_type == "private" else -1009876543210)
        if chat_type == "channel":
            chat = -1009876543210
        before = dump(db)
        out = send(make_update(0, form, command, user_id, chat, chat_type))
        attempts += 1
        where = f"/{command} from {label} in a {chat_type} ({form})"
        assert not crashes, f"{where}: handler raised {crashes[0]!r}"
        assert all(c == chat for _, c, _ in out), f"{where}: a message went to another chat: {out}"
        for _, _, text in out:
            assert "Outbox" not in text and "Subscribers</b>" not in text and "📣" not in text, f"{where}: {text}"
        assert dump(db) == before, f"{where}: the database changed"
        silent += not out  # e.g. an edited message: ignored, which is also a refusal
        refused += all(("only for this bot's administrators" in t or "I don't know" in t) for _, _, t in out)
    assert refused == attempts, f"{attempts - refused} of {attempts} attempts were not answered with a refusal"
    print(f"\n{attempts} admin-command attempts from non-admins: {refused} refused ({silent} silently ignored), "
          "0 database changes")


def test_the_same_commands_from_the_admin_do_work(bot):
    """The refusal above is not a broken command: the admin's own attempts succeed."""
    db, send, crashes = bot
    out = send(make_update(0, "/{c}", "sources", ADMIN, ADMIN, "private"))
    assert any("Outbox" in t for _, _, t in out)
    out = send(make_update(0, "/{c} hello", "broadcast", ADMIN, ADMIN, "private"))
    assert {c for _, c, _ in out} >= {2001, 2002}  # the subscribers got it
    assert not crashes


def test_commands_posted_in_a_channel_get_no_reply(bot):
    """The bot serves private chats and groups; a channel post (admin or not, known command or not) is ignored."""
    db, send, crashes = bot
    before = dump(db)
    for command in ("heat", "chart", "nosuchcommand", "broadcast"):
        out = send(make_update(0, "/{c}", command, None, -1009876543210, "channel"))
        assert out == [], f"/{command} in a channel was answered: {out}"
    assert not crashes and dump(db) == before


def test_an_unknown_command_in_a_private_chat_still_gets_the_hint(bot):
    db, send, crashes = bot
    out = send(make_update(0, "/{c}", "nosuchcommand", 4242, 4242, "private"))
    assert [t for _, _, t in out] and "I don't know /nosuchcommand" in out[0][2]
