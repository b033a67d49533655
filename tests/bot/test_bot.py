"""The real PTB Application against the fake Bot API over loopback: every command, bad input, admin checks, security."""

from __future__ import annotations

import asyncio
import re
import logging
import time

import pytest

from tests.support.fake_telegram import BOT_USERNAME, TOKEN, FakeTelegram
from sentibot.telegram_html import split_message, text_limit
from sentibot.bot.application import COMMANDS, build_application, serve
from sentibot.config import load_settings
from sentibot.errors import SentibotError
from sentibot.models import BSE50_CODE, Bar, Notice
from sentibot.store.db import open_store, save_scores, upsert_bars, upsert_notice

ADMIN = 7
NOW = "2023-11-27T20:00:00+08:00"


def settings_for(fake: FakeTelegram, **extra):
    env = {"SENTIBOT_TELEGRAM_TOKEN": TOKEN, "SENTIBOT_TELEGRAM_API_URL": fake.base_url,
           "SENTIBOT_ADMIN_IDS": str(ADMIN), "SENTIBOT_SENDER_INTERVAL_S": "0.1", **extra}
    return load_settings(env, env_file=None)


async def until(condition, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the bot")
        await asyncio.sleep(0.01)


class Chat:
    """Send a command as a user and collect the bot's replies to that chat."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake

    async def ask(self, text: str, user_id: int = 1001, chat_id: int | None = None, chat_type: str = "private",
                  replies_expected: int = 1):
        chat = user_id if chat_id is None else chat_id
        before = len(self.fake.sent_to(chat))
        self.fake.inject(text, user_id=user_id, chat_id=chat, chat_type=chat_type)
        await until(lambda: len(self.fake.sent_to(chat)) >= before + replies_expected)
        await asyncio.sleep(0.05)  # catch any extra reply
        return [s.text for s in self.fake.sent_to(chat)[before:]]


def run_bot(tmp_path, scenario, prepare=None):
    """Run scenario(chat, db, fake) against `serve` (build_application + polling + the outbox sender)."""
    db = open_store(tmp_path / "bot.db")
    if prepare:
        prepare(db)

    async def main():
        async with FakeTelegram() as fake:
            stop = asyncio.Event()
            task = asyncio.create_task(serve(settings_for(fake), db, stop=stop, poll_timeout_s=0.2))
            await until(lambda: any(c.method == "getUpdates" for c in fake.calls) or task.done())
            try:
                await scenario(Chat(fake), db, fake)
            finally:
                stop.set()
                await task

    asyncio.run(main())


def seed(db):
    save_scores(db, [{"date": "2023-11-27", "score": 88.0, "level": "frenzy",
                      "components": {"close": 1402.5, "turnover_ratio": 3.2, "rsi": 81,
                                     "attention": {"guba": {"ratio": 4.1, "z": 3.3}},
                                     "lead_lag": {"lag": 2, "corr": 0.61}}}], NOW)
    upsert_notice(db, Notice(url="https://www.bse.cn/a?x=1&y=<2>", source="bse.cn", published_at=NOW,
                             title="北交所<监管>提示 & 警示"), NOW, notice_class="regulator_warning", severity=2)
    db["source_health"].insert({"source": "guba", "status": "blocked", "detail": "captcha <page>",
                                "last_attempt_at": NOW, "last_success_at": "2023-11-27T15:00:00+08:00",
                                "consecutive_blocks": 1, "consecutive_failures": 0})
    db["alerts"].insert({"kind": "frenzy", "ts": NOW, "level": "frenzy", "score": 88.0, "title": "heat <frenzy>",
                         "reasons": "[]", "dedupe_key": "k1", "audience": "subscribers", "created_at": NOW})


def test_start_help_and_set_my_commands(tmp_path):
    async def scenario(chat, db, fake):
        start = (await chat.ask("/start"))[0]
        assert "北交所" in start and all(f"/{c.name}" in start for c in COMMANDS if not c.admin)
        assert "/broadcast" not in start
        assert "/broadcast" in (await chat.ask("/help", user_id=ADMIN))[0]
        assert [c["command"] for c in fake.commands] == [c.name for c in COMMANDS if not c.admin]

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_subscribe_and_unsubscribe_are_idempotent_and_say_what_changed(tmp_path):
    async def scenario(chat, db, fake):
        assert "not subscribed" in (await chat.ask("/subscribe"))[0]  # a bare /subscribe shows, never changes
        assert db["subscribers"].count == 0
        assert "Subscribed" in (await chat.ask("/subscribe hot"))[0]
        assert db["subscribers"].get(1001)["min_level"] == "hot"
        assert "nothing changed" in (await chat.ask("/subscribe hot"))[0]
        assert "from <b>hot</b> to <b>frenzy</b>" in (await chat.ask("/subscribe FRENZY"))[0]
        assert "is not a level" in (await chat.ask("/subscribe calm"))[0]
        assert db["subscribers"].get(1001)["min_level"] == "frenzy"
        assert "level <b>frenzy</b>" in (await chat.ask("/subscribe"))[0]  # the level is kept (issue 20)
        assert db["subscribers"].get(1001)["min_level"] == "frenzy"
        assert "Unsubscribed" in (await chat.ask("/unsubscribe"))[0]
        assert "nothing changed" in (await chat.ask("/unsubscribe"))[0]
        assert db["subscribers"].get(1001)["active"] == 0
        assert "Subscribed again" in (await chat.ask("/subscribe warming"))[0]

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_group_commands_unknown_commands_and_chatter(tmp_path):
    async def scenario(chat, db, fake):
        fake.chat_admins[-100777] = {5}  # only a group's administrators change its subscription
        text = (await chat.ask(f"/subscribe@{BOT_USERNAME} warming", user_id=5, chat_id=-100777,
                               chat_type="supergroup"))[0]
        assert "Subscribed" in text
        row = db["subscribers"].get(-100777)
        assert (row["user_id"], row["chat_type"], row["min_level"]) == (5, "supergroup", "warming")
        assert "/help" in (await chat.ask("/frobnicate"))[0]
        assert "I answer commands" in (await chat.ask("hello there"))[0]
        # commands for another bot and plain chatter in a group get no answer
        fake.inject("/heat@other_bot", user_id=5, chat_id=-100777, chat_type="supergroup")
        fake.inject("just talking", user_id=5, chat_id=-100777, chat_type="supergroup")
        await asyncio.sleep(0.5)
        assert len(fake.sent_to(-100777)) == 1

    run_bot(tmp_path, scenario)


def test_heat_history_warnings_status_from_the_stored_history(tmp_path):
    async def scenario(chat, db, fake):
        heat = (await chat.ask("/heat"))[0]
        assert "FRENZY" in heat and "88" in heat
        history = (await chat.ask("/history"))[0]
        assert "heat &lt;frenzy&gt;" in history
        warnings = (await chat.ask("/warnings"))[0]
        assert "北交所&lt;监管&gt;提示 &amp; 警示" in warnings
        assert 'href="https://www.bse.cn/a?x=1&amp;y=&lt;2&gt;"' in warnings
        status = (await chat.ask("/status"))[0]
        # users get words (working or not, how fresh); the status name, detail and stamps are the admins' /sources
        assert "Eastmoney Guba forum: not working right now; latest data" in status and "days ago" in status
        assert "blocked" not in status and "captcha" not in status and "2023-11-27" not in status
        sources = (await chat.ask("/sources", user_id=ADMIN))[0]
        assert "guba" in sources and "blocked" in sources and "captcha &lt;page&gt;" in sources

    run_bot(tmp_path, scenario, prepare=seed)


def test_empty_database_answers_politely(tmp_path):
    async def scenario(chat, db, fake):
        assert "no scores yet" in (await chat.ask("/heat"))[0]
        assert "No alerts yet" in (await chat.ask("/history"))[0]
        assert "No regulator warnings" in (await chat.ask("/warnings"))[0]
        assert "No collection" in (await chat.ask("/status"))[0]

    run_bot(tmp_path, scenario)


@pytest.mark.slow
def test_history_bad_arguments(tmp_path):
    def many(db):
        db["alerts"].insert_all({"kind": "frenzy", "ts": f"2023-11-{d:02d}T20:00:00+08:00", "level": "hot",
                                 "score": 70.0, "title": f"alert {d}", "reasons": "[]", "dedupe_key": f"k{d}",
                                 "audience": "subscribers", "created_at": NOW} for d in range(1, 31))

    async def scenario(chat, db, fake):
        assert "not a number" in (await chat.ask("/history abc"))[0]
        assert "not a number" in (await chat.ask("/history -3"))[0]
        assert "not a number" in (await chat.ask("/history 0"))[0]
        capped = (await chat.ask("/history 999999"))[0]
        assert "Last 30 alerts" in capped and "the most /history shows" in capped
        two = (await chat.ask("/history 2"))[0]
        assert two.count("•") == 2 and "alert 30" in two
        assert "not a number" in (await chat.ask("/history 1;drop table alerts"))[0]
        for digits in ("①", "²", "٣", "１２", "5²"):  # str.isdigit accepts these; int() refuses or misreads them
            assert "not a number" in (await chat.ask(f"/history {digits}"))[0], digits
        assert db["alerts"].count == 30

    run_bot(tmp_path, scenario, prepare=many)


def test_ten_kilobyte_messages(tmp_path):
    async def scenario(chat, db, fake):
        huge = "<b>" + "x" * 10_000
        assert "is not a level" in (await chat.ask("/subscribe " + huge))[0]
        reply = (await chat.ask("/history " + huge))[0]
        assert "not a number" in reply and len(reply) < 300
        assert "I answer commands" in (await chat.ask(huge))[0]
        assert "Too long" in (await chat.ask("/broadcast " + "&" * 2_000, user_id=ADMIN))[0]
        assert db["subscribers"].count == 0

    run_bot(tmp_path, scenario)


def test_admin_commands_check_the_user_not_the_chat(tmp_path, caplog):
    def subscribers(db):
        db["subscribers"].insert_all({"chat_id": c, "user_id": c, "chat_type": "private", "min_level": "hot",
                                      "active": 1} for c in (2001, 2002, 2003))

    async def scenario(chat, db, fake):
        fake.blocked.add(2003)
        with caplog.at_level(logging.WARNING, logger="sentibot.bot.application"):
            refused = (await chat.ask("/broadcast hi", user_id=1001, chat_id=ADMIN))[0]  # admin's chat, other user
            assert "only for this bot's administrators" in refused
            assert "administrators" in (await chat.ask("/sources", user_id=1001))[0]
        assert "refused /broadcast from user 1001" in caplog.text
        texts = await chat.ask("/broadcast <b>sale</b> & more\nline two", user_id=ADMIN, replies_expected=2)
        assert texts[0] == "Broadcasting #1 to 3 subscribers…"
        assert texts[1] == "Broadcast #1 done: 1 blocked, 2 sent."
        assert fake.sent_to(2001)[0].text == "📣 &lt;b&gt;sale&lt;/b&gt; &amp; more\nline two"
        assert db["subscribers"].get(2003)["active"] == 0
        stored = db["broadcasts"].get(1)  # kept for review, with each recipient's outcome
        assert stored["admin_id"] == ADMIN and stored["text"] == fake.sent_to(2001)[0].text and stored["finished_at"]
        assert {r["chat_id"]: r["status"] for r in db["deliveries"].rows_where("broadcast_id = 1")} == {
            2001: "sent", 2002: "sent", 2003: "blocked"}  # rows of the one outbox
        sources = (await chat.ask("/sources", user_id=ADMIN))[0]
        assert "Subscribers</b>: 2 active, 1 inactive" in sources
        assert "Guba BSE 50 forum: " in sources  # which bar is read as the forum (issue 15)
        assert "Broadcasts</b>: {&quot;blocked&quot;: 1, &quot;sent&quot;: 2}; 0 unfinished" in sources

    run_bot(tmp_path, scenario, prepare=subscribers)


@pytest.mark.slow
def test_chart_is_sent_as_a_photo(tmp_path):
    def prepare(db):
        seed(db)
        upsert_bars(db, [Bar(code=BSE50_CODE, date="2023-11-27", close=1402.5, amount=3.1e10)], NOW)

    async def scenario(chat, db, fake):
        fake.inject("/chart")
        await until(lambda: any(s.method == "sendPhoto" for s in fake.sent), timeout=30)
        photo = next(s for s in fake.sent if s.method == "sendPhoto")
        assert photo.params["_photo_bytes"].startswith(b"\x89PNG")
        assert any(c.method == "sendChatAction" for c in fake.calls)

    run_bot(tmp_path, scenario, prepare=prepare)


@pytest.mark.slow
def test_chart_without_scores_answers_politely(tmp_path):
    async def scenario(chat, db, fake):
        assert "no scores to chart yet" in (await chat.ask("/chart"))[0]

    run_bot(tmp_path, scenario)


def test_long_replies_split_under_the_limit_at_line_boundaries():
    text = "\n".join(f"line {i} &amp; <b>bold</b>" for i in range(600))
    chunks = split_message(text)
    assert len(chunks) > 1 and all(len(c) <= text_limit() for c in chunks)
    assert "\n".join(chunks) == text
    long_line = "&amp;" * 2000
    parts = split_message(long_line)
    assert "".join(parts) == long_line and all(p.count("&") == p.count(";") for p in parts)


def test_token_never_reaches_the_logs(tmp_path, caplog):
    async def scenario(chat, db, fake):
        await chat.ask("/start")

    logging.getLogger("httpx").setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        run_bot(tmp_path, scenario)
        logging.getLogger("sentibot.test").warning("url was %s/getMe", f"http://x/bot{TOKEN}")
    assert caplog.records and TOKEN not in caplog.text and "/bot***/getMe" in caplog.text
    assert logging.getLogger("httpx").level == logging.WARNING


@pytest.mark.slow
def test_a_second_instance_exits_with_a_clear_message(tmp_path):
    db = open_store(tmp_path / "bot.db")

    async def main():
        async with FakeTelegram() as fake:
            fake.fail_next("getUpdates", "409", count=3)
            with pytest.raises(SentibotError, match="409 Conflict"):
                await asyncio.wait_for(serve(settings_for(fake), db), timeout=10)

    asyncio.run(main())


def test_settings_without_token_are_refused(tmp_path):
    from sentibot.errors import ConfigError

    with pytest.raises(ConfigError, match="SENTIBOT_TELEGRAM_TOKEN"):
        build_application(load_settings({}, env_file=None), open_store(tmp_path / "x.db"))


def test_commands_are_defined_once():
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names))
    # Telegram's rules for a command menu entry: 1-32 of a-z, 0-9, _; a description of 1-256 characters
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", n) for n in names), names
    assert all(1 <= len(c.description) <= 256 for c in COMMANDS)
    assert {c.name for c in COMMANDS if c.admin} == {"broadcast", "sources"}


@pytest.mark.slow
def test_sentibot_bot_command_serves_delivers_and_stops_on_sigterm(tmp_path):
    import os
    import signal
    import sys

    from sentibot.models import Alert, AlertKind
    from sentibot.store.db import add_alert

    db = open_store(tmp_path / "cli.db")
    db["subscribers"].insert({"chat_id": 3001, "user_id": 3001, "chat_type": "private", "min_level": "hot",
                              "active": 1})
    add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts=NOW, title="北交所 警示", dedupe_key="w1"), NOW)

    async def main():
        async with FakeTelegram() as fake:
            env = dict(os.environ, SENTIBOT_TELEGRAM_TOKEN=TOKEN, SENTIBOT_TELEGRAM_API_URL=fake.base_url,
                       SENTIBOT_SENDER_INTERVAL_S="0.2", SENTIBOT_LOG_LEVEL="INFO")
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sentibot", "bot", "--db", str(tmp_path / "cli.db"), env=env, cwd=tmp_path,
                stderr=asyncio.subprocess.PIPE)
            await until(lambda: fake.sent_to(3001), timeout=20)  # the pending alert was delivered
            fake.inject("/start", user_id=3002)
            await until(lambda: fake.sent_to(3002), timeout=10)
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 20)
            return proc.returncode, err.decode(), fake

    code, err, fake = asyncio.run(main())
    assert code == 0, err
    assert TOKEN not in err and "北交所 警示" in fake.sent_to(3001)[0].text
    assert [r["status"] for r in db["deliveries"].rows_where("alert_id = 1 and chat_id = 3001")] == ["sent"]


@pytest.mark.slow
def test_sentibot_bot_without_token_is_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIBOT_")}
    proc = subprocess.run([sys.executable, "-m", "sentibot", "bot", "--db", str(tmp_path / "x.db")], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.strip().count("\n") == 0
    assert "SENTIBOT_TELEGRAM_TOKEN" in proc.stderr


def test_split_message_counts_utf16_units_like_telegram():
    from sentibot.telegram_html import split_message, units

    text = "📣 " + "🔥" * 2100  # 2,102 characters but 4,203 UTF-16 units
    chunks = split_message(text)
    assert len(chunks) == 2 and all(units(c) <= 4000 for c in chunks) and "".join(chunks) == text
