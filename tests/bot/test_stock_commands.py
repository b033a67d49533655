"""The stock commands in the running bot (serve: the real PTB Application, polling, the outbox sender) against the
fake Bot API: /top, /stock with its chart button, /watch, /unwatch, /watchlist, /subscribe stocks, and delivery of
stock alerts and of regulator alerts naming a stock to chats that only watch it."""

from __future__ import annotations

import json

import pytest

from sentibot.models import Alert, AlertKind
from sentibot.score import replay
from sentibot.store import watchlist as watches
from sentibot.store.db import add_alert
from tests.bot.test_bot import run_bot, until
from tests.support.stock_world import write_stock_files

NOW = "2024-01-10T20:00:00+08:00"


def prepared(tmp_path):
    files = write_stock_files(tmp_path)

    def prepare(db):
        replay.replay(db, *files)

    return prepare


@pytest.mark.slow
def test_top_and_stock_answer_from_the_stored_history(tmp_path):
    async def scenario(chat, db, fake):
        top = (await chat.ask("/top"))[0]
        lines = top.splitlines()
        assert "志晟信息" in lines[1] + lines[2] and "凯华材料" in lines[1] + lines[2]  # the surging two lead
        assert "frenzy" in lines[1] and "limit-up" in lines[1] and ("↑" in top or "↓" in top)
        assert len((await chat.ask("/top 3"))[0].splitlines()) == 5  # head, 3 stocks, hint
        assert "not a number" in (await chat.ask("/top lots"))[0]
        assert "the most /top shows" in (await chat.ask("/top 500"))[0]
        reply = (await chat.ask("/stock 凯华材料"))[0]
        assert "920526" in reply and "formerly 831526" in reply and "FRENZY" in reply and "limit-up" in reply
        sent = fake.sent_to(1001)[-1]
        markup = json.loads(sent.params["reply_markup"])
        assert markup["inline_keyboard"][0][0]["callback_data"] == "stockchart:920526"
        assert "凯华材料" in (await chat.ask("/stock 831526"))[0]  # the old code resolves to the same stock
        assert "matches" in (await chat.ask("/stock 华"))[0]  # ambiguous prefix: says so, with suggestions
        assert "6" in (await chat.ask("/stock 92052"))[0]  # wrong length: says a code has 6 digits
        before = len(fake.sent_to(1001))
        fake.inject_button("stockchart:920526")
        await until(lambda: any(s.method == "sendPhoto" for s in fake.sent_to(1001)[before:]), timeout=30)
        photo = next(s for s in fake.sent_to(1001)[before:] if s.method == "sendPhoto")
        assert photo.params["_photo_bytes"][:8] == b"\x89PNG\r\n\x1a\n" and "920526" in photo.text

    run_bot(tmp_path, scenario, prepared(tmp_path))


@pytest.mark.slow
def test_watch_unwatch_watchlist_and_the_cap(tmp_path):
    async def scenario(chat, db, fake):
        assert "watches no stocks" in (await chat.ask("/watchlist"))[0]
        reply = (await chat.ask("/watch 凯华材料, 920171 600519 zzz"))[0]
        assert "✓ watching 凯华材料 (920526)" in reply and "✓ watching 志晟信息 (920171)" in reply
        assert "not a Beijing Stock Exchange code" in reply and "no BSE stock named" in reply
        assert "already watching" in (await chat.ask("/watch 831526"))[0]
        listing = (await chat.ask("/watchlist"))[0]
        assert "凯华材料 920526: 🔴 frenzy" in listing and "(2 of 30)" in listing
        assert watches.watchlist(db, 1001) == ["920526", "920171"]
        assert "stopped watching 志晟信息" in (await chat.ask("/unwatch 志晟信息"))[0]
        assert "was not on" in (await chat.ask("/unwatch 920171"))[0]
        many = [c for c in _known_codes() if c not in ("920526",)][:40]
        for start in range(0, 40, 10):
            await chat.ask("/watch " + " ".join(many[start:start + 10]))
        assert len(watches.watchlist(db, 1001)) == watches.WATCH_MAX
        assert "the most it can" in (await chat.ask(f"/watch {many[-1]}"))[0]
        assert "(30 of 30)" in (await chat.ask("/watchlist"))[0]

    run_bot(tmp_path, scenario, prepared(tmp_path))


def _known_codes() -> list[str]:
    from sentibot import codes

    return sorted(codes.code_map().names)


@pytest.mark.slow
def test_watchers_and_optins_get_stock_alerts_and_regulator_alerts_naming_their_stock(tmp_path):
    async def scenario(chat, db, fake):
        await chat.ask("/watch 凯华材料", user_id=2001)  # watches only: never used /subscribe
        await chat.ask("/subscribe stocks hot", user_id=2002)  # every stock at hot or above
        assert "Already subscribed" in (await chat.ask("/subscribe stocks hot", user_id=2002))[0]
        await chat.ask("/subscribe hot", user_id=2003)  # market alerts only (a bare /subscribe shows the panel)
        warning = Alert(kind=AlertKind.REGULATOR_WARNING, ts=NOW, title="关于对凯华材料实施重点监控的公告",
                        reasons=("measure: 重点监控",), dedupe_key="regulator_warning:test", stocks=("920526",))
        stock = Alert(kind=AlertKind.FRENZY, ts="2024-01-11T15:00:00+08:00", level="frenzy", score=90.0,
                      title="凯华材料 (920526) heat hot → frenzy", dedupe_key="stock:920526:2024-01-11:frenzy",
                      stocks=("920526",))
        other = Alert(kind=AlertKind.FRENZY, ts="2024-01-11T15:00:00+08:00", level="hot", score=80.0,
                      title="云创数据 (920305) heat calm → hot", dedupe_key="stock:920305:2024-01-11:hot",
                      stocks=("920305",))
        for alert in (warning, stock, other):
            assert add_alert(db, alert, NOW) is not None
        await until(lambda: any("重点监控" in s.text for s in fake.sent_to(2001)), timeout=10)
        await until(lambda: len(fake.sent_to(2002)) >= 4 and any("重点监控" in s.text for s in fake.sent_to(2003)))
        watcher = [s.text for s in fake.sent_to(2001)]
        assert any("凯华材料 (920526)" in t and "Stock heat up" in t for t in watcher) and not any("云创数据" in t for t in watcher)
        optin = [s.text for s in fake.sent_to(2002)]
        assert any("云创数据" in t for t in optin) and any("凯华材料 (920526)" in t for t in optin)
        assert not any("重点监控" in t for t in optin)  # not subscribed, not watching: no regulator alert
        market = [s.text for s in fake.sent_to(2003)]
        assert not any("heat hot" in t or "heat calm" in t for t in market)  # stock alerts are not market alerts
        assert "Stopped every-stock" in (await chat.ask("/unsubscribe stocks", user_id=2002))[0]

    run_bot(tmp_path, scenario, prepared(tmp_path))


@pytest.mark.slow
def test_hostile_watch_input_gets_a_clear_reply_and_changes_nothing_beyond_the_cap(tmp_path):
    hostile = {
        "/watch " + "凯" * 10_000: "10,000 characters",
        "/watch 🔥🚀💎": "no BSE stock named",
        "/watch '; DROP TABLE watches; --": "no BSE stock named",
        "/watch <b>920526</b>": "no BSE stock named",
        "/watch 92052": "5 digits",
        "/watch 9205260": "7 digits",
        "/unwatch " + "x" * 10_000: "10,000 characters",
        "/stock <script>alert(1)</script>": "no BSE stock named",
        "/watch": "Usage: /watch",
    }

    async def scenario(chat, db, fake):
        for text, expected in hostile.items():
            reply = (await chat.ask(text, user_id=3001))[0]
            assert expected in reply, (text[:40], reply)
            assert "<script>" not in reply and "<b>920526" not in reply  # escaped
        assert db["watches"].count == 0 and "watches" in db.table_names()
        codes = _known_codes()
        for i in range(100):  # 1,000 watches from one chat, 10 per message
            await chat.ask("/watch " + " ".join(codes[(i * 10) % len(codes):(i * 10) % len(codes) + 10]),
                           user_id=3001)
        assert len(watches.watchlist(db, 3001)) == watches.WATCH_MAX == db["watches"].count
        refusals = sum(s.text.count("the most it can") for s in fake.sent_to(3001))
        assert refusals >= 243 - watches.WATCH_MAX  # every distinct stock past the cap was refused, in words

    run_bot(tmp_path, scenario, prepared(tmp_path))


@pytest.mark.slow
def test_stock_commands_answer_in_the_chats_language(tmp_path):
    async def scenario(chat, db, fake):
        await chat.ask("/lang zh", user_id=4001)
        top = (await chat.ask("/top 2", user_id=4001))[0]
        assert "北交所最热股票" in top and "狂热" in top and "连板" in top and "关注度" in top
        stock = (await chat.ask("/stock 凯华材料", user_id=4001))[0]
        assert "原代码 831526" in stock and "狂热" in stock and "连续3个涨停收盘" in stock
        watch = (await chat.ask("/watch 600519 凯华", user_id=4001))[0]
        assert "不是北交所代码" in watch and "✓ 已关注 凯华材料 (920526)" in watch
        assert "自选股" in (await chat.ask("/watchlist", user_id=4001))[0]
        assert "北交所最热股票" in (await chat.ask("排行", user_id=4001))[0]  # the Chinese word runs /top
        assert "已订阅所有进入" in (await chat.ask("/subscribe stocks 狂热", user_id=4001))[0]
        assert watches.optin_level(db, 4001) == "frenzy"
        assert "排行" in (await chat.ask("/help", user_id=4001))[0]  # the Chinese word for /top is listed

    run_bot(tmp_path, scenario, prepared(tmp_path))


@pytest.mark.slow
def test_the_chart_button_of_a_stock_without_scores_answers_in_the_chats_language(tmp_path):
    from sentibot.store.chats import set_language

    def prepare(db):
        prepared(tmp_path)(db)
        db.execute("delete from stock_scores where code = '920526'")  # known stock, nothing scored yet
        db.conn.commit()
        set_language(db, 1001, "zh", NOW)

    async def scenario(chat, db, fake):
        fake.inject_button("stockchart:920526")
        await until(lambda: fake.sent_to(1001), timeout=20)
        text = fake.sent_to(1001)[-1].text
        assert "凯华材料" in text and "还没有热度评分" in text and "no heat scores" not in text

    run_bot(tmp_path, scenario, prepare)
