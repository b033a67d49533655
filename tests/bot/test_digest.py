"""/digest on|off against the real PTB Application and the fake Bot API: state, switching, Chinese words, the
/subscribe panel's digest button, and a group's non-admins refused."""

from __future__ import annotations

import asyncio

import pytest

from sentibot.bot.application import COMMANDS, WORDS
from sentibot.store import subscriptions
from tests.bot.test_bot import run_bot, until
from tests.bot.test_settings import buttons, tap

GROUP, MEMBER, GROUP_ADMIN = -100777, 31, 32
pytestmark = pytest.mark.slow  # each runs the real Application against the fake Bot API: 0.6-1.1 s on 2 cores


async def ask_zh(fake, text: str, user_id: int = 1001) -> str:
    """A message from a user whose Telegram app is in Chinese; the bot's one reply."""
    before = len(fake.sent_to(user_id))
    fake.inject(text, user_id=user_id, language_code="zh-hans")
    await until(lambda: len(fake.sent_to(user_id)) > before)
    await asyncio.sleep(0.05)
    return fake.sent_to(user_id)[-1].text


def test_digest_says_its_state_turns_on_and_off_and_is_off_by_default(tmp_path):
    async def scenario(chat, db, fake):
        assert (await chat.ask("/digest"))[0].startswith("Daily summary: off.")
        assert db["subscribers"].count == 0  # looking stores nothing
        on = (await chat.ask("/digest on"))[0]
        assert on.startswith("Daily summary: on.") and "not subscribed yet" in on  # stored, but /subscribe is needed
        row = db["subscribers"].get(1001)
        assert (row["digest"], row["active"]) == (1, 0)
        await chat.ask("/subscribe hot")
        assert "not subscribed" not in (await chat.ask("/digest"))[0]
        assert subscriptions.chat_settings(db, 1001).digest
        for bad in ("maybe", "on off", "①"):
            assert "is not on or off" in (await chat.ask(f"/digest {bad}"))[0], bad
        assert db["subscribers"].get(1001)["digest"] == 1  # a bad argument changes nothing
        assert (await chat.ask("/digest off"))[0].startswith("Daily summary: off.")
        assert db["subscribers"].get(1001)["digest"] is None  # absence is off
        assert (await chat.ask("/digest OFF"))[0].startswith("Daily summary: off.")  # again: nothing changes
        # the Chinese words and switches, answered in Chinese
        assert (await ask_zh(fake, "日报 开")).startswith("每日日报：开启")
        assert subscriptions.chat_settings(db, 1001).digest
        assert (await ask_zh(fake, "摘要")).startswith("每日日报：开启")
        assert (await ask_zh(fake, "/digest 关闭")).startswith("每日日报：关闭")
        assert not subscriptions.chat_settings(db, 1001).digest
        assert "/digest" in (await chat.ask("/help"))[0]
        assert any(c.name == "digest" for c in COMMANDS) and WORDS["日报"] == WORDS["摘要"] == "digest"

    run_bot(tmp_path, scenario)


def test_the_panel_shows_the_digest_and_its_button_toggles_it(tmp_path):
    async def scenario(chat, db, fake):
        await chat.ask("/subscribe")
        panel = fake.sent_to(1001)[-1]
        assert "🔕 daily summary" in panel.text and "kind:digest" in buttons(panel)
        await tap(fake, panel, "kind:digest", 1001)
        assert subscriptions.chat_settings(db, 1001).digest
        assert "✅ daily summary" in fake.message(1001, panel.message_id).text
        assert (await chat.ask("/digest"))[0].startswith("Daily summary: on.")
        await tap(fake, panel, "kind:digest", 1001)
        assert not subscriptions.chat_settings(db, 1001).digest
        await chat.ask("/alerts digest on")  # /alerts names the same setting
        assert subscriptions.chat_settings(db, 1001).digest
        await tap(fake, panel, "kind:stocks", 1001)
        assert subscriptions.chat_settings(db, 1001).muted == {"stocks"}
        assert "🔕 stock alerts" in fake.message(1001, panel.message_id).text

    run_bot(tmp_path, scenario)


def test_in_a_group_only_administrators_change_the_digest(tmp_path):
    async def scenario(chat, db, fake):
        fake.chat_admins[GROUP] = {GROUP_ADMIN}
        group = {"chat_id": GROUP, "chat_type": "supergroup"}
        await chat.ask("/subscribe hot", user_id=GROUP_ADMIN, **group)
        for command in ("/digest on", "/digest off"):
            refusal = await chat.ask(command, user_id=MEMBER, **group)
            assert refusal == ["Sorry, only this group's administrators can change its alerts."], command
        assert db["subscribers"].get(GROUP)["digest"] is None
        assert (await chat.ask("/digest", user_id=MEMBER, **group))[0].startswith("Daily summary: off.")  # may look
        await chat.ask("/subscribe", user_id=MEMBER, **group)
        await tap(fake, fake.sent_to(GROUP)[-1], "kind:digest", MEMBER)
        assert "administrators" in fake.answered[-1][1] and not subscriptions.chat_settings(db, GROUP).digest
        assert (await chat.ask("/digest on", user_id=GROUP_ADMIN, **group))[0].startswith("Daily summary: on.")
        assert db["subscribers"].get(GROUP)["digest"] == 1

    run_bot(tmp_path, scenario)
