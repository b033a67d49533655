"""Subscriber controls against the fake Bot API: the /subscribe panel and its buttons, group admins, /quiet,
/alerts, /id, the /heat refresh button, and what the outbox does with the settings."""

from __future__ import annotations

import pytest
import asyncio
import json
from datetime import datetime

from telegram import Bot

from sentibot.alerts.outbox import NO_LIMITS, SenderConfig, drain_outbox
from sentibot.bot.settings import parse_callback, parse_quiet
from sentibot.models import Alert, AlertKind
from sentibot.store import subscriptions
from sentibot.store.db import add_alert, open_store
from sentibot.timeutil import SHANGHAI
from tests.bot.test_bot import run_bot, seed, until
from tests.support.fake_telegram import TOKEN, FakeTelegram

GROUP, MEMBER, GROUP_ADMIN = -100555, 21, 22


def buttons(sent) -> list[str]:
    markup = json.loads(sent.params.get("reply_markup") or "{}")
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


async def tap(fake, message, data: str, user_id: int) -> None:
    answered = len(fake.answered)
    fake.inject_callback(message, data, user_id=user_id)
    await until(lambda: len(fake.answered) > answered)
    await asyncio.sleep(0.05)


@pytest.mark.slow
def test_a_bare_subscribe_keeps_the_level_and_its_buttons_work(tmp_path):
    async def scenario(chat, db, fake):
        await chat.ask("/subscribe frenzy")
        shown = await chat.ask("/subscribe")
        assert "level <b>frenzy</b>" in shown[0] and db["subscribers"].get(1001)["min_level"] == "frenzy"
        panel = fake.sent_to(1001)[-1]
        assert buttons(panel) == ["sub:warming", "sub:hot", "sub:frenzy", "sub:off", "kind:heat", "kind:cooling",
                                  "kind:regulator", "kind:stocks", "kind:digest"]
        assert "✅ stock alerts" in shown[0] and "🔕 daily summary" in shown[0]  # the digest starts off
        await tap(fake, panel, "sub:warming", 1001)
        assert db["subscribers"].get(1001)["min_level"] == "warming"
        assert "level <b>warming</b>" in fake.message(1001, panel.message_id).text  # the message was edited
        await tap(fake, panel, "kind:cooling", 1001)
        assert subscriptions.chat_settings(db, 1001).muted == {"cooling"}
        assert "🔕 cooling" in fake.message(1001, panel.message_id).text
        await tap(fake, panel, "kind:cooling", 1001)  # a second tap turns it back on
        assert subscriptions.chat_settings(db, 1001).muted == frozenset()
        await tap(fake, panel, "sub:off", 1001)
        assert db["subscribers"].get(1001)["active"] == 0
        assert "not subscribed" in fake.message(1001, panel.message_id).text
        before = db["subscribers"].get(1001)
        for bogus in ("sub:calm", "sub:hot;drop table subscribers", "kind:digests", "kind:frenzy", "heat:now",
                      "x" * 64, "", "sub:①", "SUB:hot", "kind:stocks "):
            await tap(fake, panel, bogus, 1001)
            assert "out of date" in fake.answered[-1][1], bogus
        assert db["subscribers"].get(1001) == before  # nothing changed

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_a_plain_group_member_cannot_change_the_group_and_an_admin_can(tmp_path):
    async def scenario(chat, db, fake):
        fake.chat_admins[GROUP] = {GROUP_ADMIN}
        group = {"chat_id": GROUP, "chat_type": "supergroup"}
        assert "Subscribed" in (await chat.ask("/subscribe hot", user_id=GROUP_ADMIN, **group))[0]
        for command in ("/unsubscribe", "/subscribe frenzy", "/quiet 22-07", "/alerts cooling off"):
            refusal = await chat.ask(command, user_id=MEMBER, **group)
            assert refusal == ["Sorry, only this group's administrators can change its alerts."], command
        row = db["subscribers"].get(GROUP)
        assert (row["active"], row["min_level"], row["quiet_start"], row["muted_kinds"]) == (1, "hot", None, None)
        await chat.ask("/subscribe", user_id=MEMBER, **group)  # anyone may look
        panel = fake.sent_to(GROUP)[-1]
        await tap(fake, panel, "sub:off", MEMBER)
        assert "administrators" in fake.answered[-1][1] and db["subscribers"].get(GROUP)["active"] == 1
        await tap(fake, panel, "sub:frenzy", GROUP_ADMIN)
        assert db["subscribers"].get(GROUP)["min_level"] == "frenzy"
        # an anonymous admin writes as the group itself
        before = len(fake.sent_to(GROUP))
        fake.inject("/quiet 23-06", chat_id=GROUP, chat_type="supergroup", anonymous=True)
        await until(lambda: len(fake.sent_to(GROUP)) > before)
        assert subscriptions.chat_settings(db, GROUP).quiet == (23, 6)
        assert "Unsubscribed" in (await chat.ask("/unsubscribe", user_id=GROUP_ADMIN, **group))[0]
        assert sum(c.method == "getChatMember" for c in fake.calls) <= 4  # cached per user for a minute

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_quiet_alerts_id_and_the_heat_refresh_button(tmp_path):
    async def scenario(chat, db, fake):
        assert "none" in (await chat.ask("/quiet"))[0]
        assert "22:00–07:00" in (await chat.ask("/quiet 22-07"))[0]
        assert subscriptions.chat_settings(db, 1001).quiet == (22, 7)
        for bad in ("①-⑦", "２２-０７", "22-22", "24-07", "22", "22-07-09", "-1-5", "²³-⁰⁷"):
            assert "is not a time range" in (await chat.ask(f"/quiet {bad}"))[0], bad
        assert subscriptions.chat_settings(db, 1001).quiet == (22, 7)
        assert "none" in (await chat.ask("/quiet off"))[0] and subscriptions.chat_settings(db, 1001).quiet is None
        await chat.ask("/alerts regulator off")
        assert subscriptions.chat_settings(db, 1001).muted == {"regulator"}
        assert "Use /alerts KIND on|off" in (await chat.ask("/alerts stocks maybe"))[0]
        await chat.ask("/alerts 个股 关")
        assert subscriptions.chat_settings(db, 1001).muted == {"regulator", "stocks"}
        ids = (await chat.ask("/id", user_id=1002))[0]
        assert "<code>1002</code>" in ids and "SENTIBOT_ADMIN_IDS" in ids
        in_group = (await chat.ask("/id", user_id=1003, chat_id=-100999, chat_type="group"))[0]
        assert "<code>1003</code>" in in_group and "<code>-100999</code>" in in_group
        await chat.ask("/heat")
        heat = fake.sent_to(1001)[-1]
        assert buttons(heat) == ["heat:refresh"]
        await tap(fake, heat, "heat:refresh", 1001)  # unchanged: Telegram says "not modified", which is fine
        db["scores"].update("2023-11-27", {"score": 91.0})
        await tap(fake, heat, "heat:refresh", 1001)
        assert "91" in fake.message(1001, heat.message_id).text
        assert not [c for c in fake.calls if c.method == "editMessageText" and c.fault]

    run_bot(tmp_path, scenario, prepare=seed)


def test_quiet_hours_send_silently_and_muted_kinds_are_not_queued(tmp_path):
    db = open_store(tmp_path / "q.db")
    for chat in (1, 2, 3):
        subscriptions.subscribe(db, chat, chat, "private", None, "hot", "2023-11-27T08:00:00+08:00")
    subscriptions.set_quiet(db, 1, "private", (22, 7), "2023-11-27T08:00:00+08:00")
    subscriptions.set_quiet(db, 2, "private", (9, 17), "2023-11-27T08:00:00+08:00")
    subscriptions.set_kind(db, 3, "private", "cooling", False, "2023-11-27T08:00:00+08:00")
    night = datetime(2023, 11, 27, 23, 30, tzinfo=SHANGHAI)
    add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=night.isoformat(), title="警示", dedupe_key="w"),
              night.isoformat())
    add_alert(db, Alert(kind=AlertKind.COOLING, ts=night.isoformat(), title="降温", level="warming",
                        dedupe_key="c"), night.isoformat())
    assert sorted(r["chat_id"] for r in db.query("select chat_id from deliveries where alert_id = 2")) == [1, 2]

    async def scenario():
        async with FakeTelegram() as fake:
            bot = Bot(TOKEN, base_url=fake.base_url)
            async with bot:
                await drain_outbox(bot, db, lambda: night, config=SenderConfig(limits=NO_LIMITS))
            return fake

    fake = asyncio.run(scenario())
    silent = {s.chat_id: s.params.get("disable_notification") in ("true", "True") for s in fake.sent}
    assert silent == {1: True, 2: False, 3: False}  # 23:30 is inside 22-07 (across midnight), outside 09-17
    assert len(fake.sent) == 5


def test_parsers_refuse_unicode_digits_and_odd_callback_data():
    assert parse_quiet("22-07") == (22, 7) and parse_quiet("22:00-07:00") == (22, 7) and parse_quiet("0-23")
    assert all(parse_quiet(x) is None for x in ("①-⑦", "２２-０７", "٢٢-٠٧", "22-22", "7", ""))
    assert parse_callback("sub:hot") == ("sub", "hot") and parse_callback("heat:refresh") == ("heat", "refresh")
    assert parse_callback("kind:stocks") == ("kind", "stocks") and parse_callback("kind:digest") == ("kind", "digest")
    assert all(parse_callback(x) is None for x in (None, "", "sub:calm", "sub: hot", "sub:hot\n", "kind:stock"))
    assert subscriptions.in_quiet_hours((22, 7), datetime(2023, 1, 1, 6, 59, tzinfo=SHANGHAI))
    assert not subscriptions.in_quiet_hours((22, 7), datetime(2023, 1, 1, 7, 0, tzinfo=SHANGHAI))
    assert subscriptions.in_quiet_hours((22, 7), datetime(2023, 1, 1, 14, 0, tzinfo=SHANGHAI).astimezone(
        SHANGHAI).replace(hour=22))


def test_muting_stocks_drops_a_chat_from_stock_alerts_but_not_from_regulator_warnings_naming_the_stock(tmp_path):
    db = open_store(tmp_path / "s.db")
    stamp = "2026-12-02T15:00:00+08:00"
    for chat in (1, 2):
        subscriptions.subscribe(db, chat, chat, "private", None, "hot", stamp)
        db["watches"].insert({"chat_id": chat, "code": "920001", "added_at": stamp}, pk=("chat_id", "code"))
    subscriptions.set_kind(db, 2, "private", "stocks", False, stamp)
    stock = add_alert(db, Alert(kind=AlertKind.FRENZY, ts=stamp, title="富士达 (920001) heat hot → frenzy",
                                level="frenzy", dedupe_key="stock:920001", stocks=("920001",)), stamp)
    notice = add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=stamp, title="警示", dedupe_key="n",
                                 stocks=("920001",)), stamp)
    market = add_alert(db, Alert(kind=AlertKind.FRENZY, ts=stamp, title="BSE heat hot → frenzy", level="frenzy",
                                 dedupe_key="m"), stamp)
    got = {a: sorted(r["chat_id"] for r in db.query("select chat_id from deliveries where alert_id = ?", [a]))
           for a in (stock, notice, market)}
    assert got == {stock: [1], notice: [1, 2], market: [1, 2]}
    assert subscriptions.kind_of(Alert(kind=AlertKind.FRENZY, ts=stamp, title="", stocks=("920001",))) == "stocks"
