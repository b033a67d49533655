"""Languages in the real bot (PTB Application against the fake Bot API): Telegram's language_code, /lang, menus per
language, Chinese command words, level names typed in Chinese."""

from __future__ import annotations

import asyncio

import pytest

from sentibot.bot.application import COMMANDS
from sentibot.store import chats
from tests.bot.test_bot import ADMIN, run_bot, until
from tests.support.fake_telegram import BOT_USERNAME


async def ask(fake, text, user_id=1001, chat_id=None, chat_type="private", language_code=None):
    chat = user_id if chat_id is None else chat_id
    before = len(fake.sent_to(chat))
    fake.inject(text, user_id=user_id, chat_id=chat, chat_type=chat_type, language_code=language_code)
    await until(lambda: len(fake.sent_to(chat)) > before)
    await asyncio.sleep(0.05)
    return "\n".join(s.text for s in fake.sent_to(chat)[before:])


@pytest.mark.slow
def test_a_zh_hans_user_gets_chinese_a_de_or_en_user_english(tmp_path):
    async def scenario(chat, db, fake):
        assert "命令列表" in await ask(fake, "/help", user_id=1, language_code="zh-hans")
        assert "the command list" in await ask(fake, "/help", user_id=2, language_code="de")
        assert "the command list" in await ask(fake, "/help", user_id=3, language_code="en")
        assert "the command list" in await ask(fake, "/help", user_id=4)  # no language_code: SENTIBOT_LANGUAGE/locale
        assert "我只回应命令" in await ask(fake, "你好", user_id=1, language_code="zh")
        assert "没有 /frobnicate 这个命令" in await ask(fake, "/frobnicate", user_id=1, language_code="zh-TW")

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_lang_switches_a_chat_and_is_stored(tmp_path):
    async def scenario(chat, db, fake):
        assert "English" in await ask(fake, "/lang", language_code="en")
        assert "好的：本聊天今后用中文回复和发送预警" in await ask(fake, "/lang zh", language_code="en")
        assert chats.chosen_language(db, 1001) == "zh"
        assert "命令列表" in await ask(fake, "/help", language_code="en")  # the choice beats Telegram's language
        assert "已经使用中文" in await ask(fake, "/lang 中文", language_code="en")
        assert "不支持“klingon”这种语言" in await ask(fake, "/lang klingon")
        assert "replies and alerts in English" in await ask(fake, "语言 english")
        assert "the command list" in await ask(fake, "/help", language_code="zh-hans")

    run_bot(tmp_path, scenario)


def test_the_menu_exists_in_both_languages_from_the_one_command_list(tmp_path):
    async def scenario(chat, db, fake):
        public = [c.name for c in COMMANDS if not c.admin]
        assert set(fake.menus) == {"", "zh"}
        assert [c["command"] for c in fake.menus[""]] == [c["command"] for c in fake.menus["zh"]] == public
        zh = {c["command"]: c["description"] for c in fake.menus["zh"]}
        en = {c["command"]: c["description"] for c in fake.menus[""]}
        assert zh["heat"] == "当前热度级别、分数及其构成" and en["heat"] == "current heat level, score and its components"
        assert zh["history"] == "最近 n 条预警（默认 10 条，最多 50 条）"

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_chinese_words_work_in_private_chats_and_when_addressed_in_groups(tmp_path):
    async def scenario(chat, db, fake):
        assert "订阅成功" in await ask(fake, "订阅 狂热", language_code="zh-hans")
        assert db["subscribers"].get(1001)["min_level"] == "frenzy"
        assert "从<b>狂热</b>改为<b>升温</b>" in await ask(fake, "/subscribe 升温", language_code="zh-hans")
        assert "“火热”不是一个级别" in await ask(fake, "订阅 火热", language_code="zh-hans")
        assert "已退订" in await ask(fake, "退订", language_code="zh-hans")
        assert "命令列表" in await ask(fake, "帮助", language_code="zh-hans")
        # a group: a word is a command only when the bot is addressed
        fake.chat_admins[-100777] = {5}  # a group admin (issue 20: only they change a group's alerts)
        fake.inject("热度", user_id=5, chat_id=-100777, chat_type="supergroup")
        assert "订阅成功" in await ask(fake, f"@{BOT_USERNAME} 订阅 过热", user_id=5, chat_id=-100777,
                                       chat_type="supergroup", language_code="zh")
        assert len(fake.sent_to(-100777)) == 1  # the unaddressed 热度 got no reply
        assert db["subscribers"].get(-100777)["min_level"] == "hot"
        row = db["chat_prefs"].get(-100777)
        assert row["telegram_language"] == "zh" and row["language"] is None  # alerts later know the language

    run_bot(tmp_path, scenario)


def test_admin_refusal_and_level_errors_in_chinese(tmp_path):
    async def scenario(chat, db, fake):
        assert "抱歉，/sources 仅限本机器人的管理员使用" in await ask(fake, "/sources", language_code="zh")
        assert "Sorry, /sources is only for" in await ask(fake, "/sources", user_id=2, language_code="en")
        assert "管理员" in await ask(fake, "/help", user_id=ADMIN, language_code="zh")

    run_bot(tmp_path, scenario)
