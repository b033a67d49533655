"""Phase 2 of the Chinese-first bot, in the real PTB Application against the fake Bot API: /heat (and the first
/heat's explanation), /history, /warnings, /status, /chart and alerts delivered in each recipient's language."""

from __future__ import annotations

import asyncio

import pytest

from sentibot.alerts import rules
from sentibot.models import Notice
from sentibot.store.db import add_alert, upsert_notice
from tests.bot.test_bot import NOW, run_bot, seed, until
from tests.bot.test_bot_language import ask

NOTICE = Notice(url="https://www.bse.cn/news/2023-11-27.html", source="bse.cn", published_at="2023-11-27T19:00:00+08:00",
                title="北交所加强交易监管",
                text="本所对异常交易行为采取口头警示、监管关注、出具警示函等自律监管措施93人次。对近期涨幅异常的“凯华材料”"
                     "“志晟信息”等进行重点监控。")


def test_a_zh_user_gets_heat_history_warnings_and_status_in_chinese(tmp_path):
    async def scenario(chat, db, fake):
        heat = await ask(fake, "/heat", language_code="zh-hans")
        assert "北交所热度 2023年11月27日（周一）：狂热" in heat and "热度分 88/100" in heat
        assert "怎么看" in heat and "<b>狂热</b>：散户狂热" in heat  # the first /heat explains the score
        again = await ask(fake, "热度", language_code="zh-hans")
        assert "北交所热度" in again and "怎么看" not in again  # ...once per chat
        assert "<b>最近 1 条预警</b>" in await ask(fake, "/history", language_code="zh-hans")
        warnings = await ask(fake, "/warnings", language_code="zh-hans")
        assert "<b>近期监管警示</b>" in warnings and "2023年11月27日（周一）" in warnings
        assert "北交所&lt;监管&gt;提示 &amp; 警示" in warnings  # stored text still escaped
        status = await ask(fake, "状态", language_code="zh-hans")
        # users get words (issue 20): which source is not working and how old its data are, no internals
        assert "东方财富股吧：目前无法正常工作" in status and "天前" in status and "captcha" not in status
        assert "“abc”不是预警条数" in await ask(fake, "/history abc", language_code="zh-hans")
        english = await ask(fake, "/heat", user_id=2, language_code="en")
        assert "BSE heat Mon 27 Nov 2023: FRENZY" in english and "How to read this" in english

    run_bot(tmp_path, scenario, prepare=seed)


@pytest.mark.slow
def test_the_chart_caption_follows_the_chat_language(tmp_path):
    from sentibot.score import rescore
    from tests.score.test_scoring_pipeline import DAYS, at
    from tests.score.test_scoring_pipeline import seed as seed_history

    def prepare(db):
        seed_history(db)
        rescore.rescore(db, at(DAYS[-1]), since=DAYS[0].date())

    async def scenario(chat, db, fake):
        for lang, words in (("zh", "近 90 天"), ("en", "last 90 days")):
            before = len(fake.sent_to(1001))
            fake.inject("/chart", user_id=1001, chat_id=1001, language_code=lang)
            await until(lambda n=before: len(fake.sent_to(1001)) > n, timeout=60)
            photo = fake.sent_to(1001)[-1]
            assert photo.method == "sendPhoto" and words in photo.text, photo.text

    run_bot(tmp_path, scenario, prepare=prepare)


def test_a_regulator_alert_reaches_each_subscriber_in_its_language(tmp_path):
    async def scenario(chat, db, fake):
        # a bare /subscribe shows the settings panel (issue 20): subscribe with a level
        assert "订阅成功" in await ask(fake, "订阅 过热", user_id=1, language_code="zh-hans")
        assert "Subscribed" in await ask(fake, "/subscribe hot", user_id=2, language_code="en")
        assert "好的" in await ask(fake, "/lang zh", user_id=3, language_code="en")
        assert "订阅成功" in await ask(fake, "/subscribe hot", user_id=3, language_code="en")  # /lang beats Telegram's
        upsert_notice(db, NOTICE, NOW, notice_class="regulator_warning", severity=3)
        cls = rules.classify_notice(NOTICE.text, NOTICE.title)
        add_alert(db, rules.regulator_alert(NOTICE, cls, level="hot", score=81.0), NOW)
        await until(lambda: all(len(fake.sent_to(c)) == 2 for c in (1, 2, 3)), timeout=30)
        await asyncio.sleep(0.1)
        zh, en, chosen = (fake.sent_to(c)[-1].text for c in (1, 2, 3))
        assert zh == chosen
        lines = zh.split("\n")
        assert lines[0] == "⚠️ <b>监管警示：出具警示函</b>"  # the strongest measure, in one line
        assert lines[1] == f'<a href="{NOTICE.url}"><b>北交所加强交易监管</b></a>'  # the notice, linked
        assert lines[2].startswith("点名个股：") and "凯华材料（920526）" in lines[2] and "志晟信息（920171）" in lines[2]
        assert "https://t.me/sentibot_test_bot?start=stock_920526" in lines[2]  # a link to the stock's /stock page
        assert lines[3] == "bse.cn 发布于 2023年11月27日（周一）19:00"
        assert len(lines) <= 4 + 4 and "measure:" not in zh  # at most four more lines: no wall of measures
        assert "⚠️ <b>Regulator warning: warning letters issued</b>" in en and "凯华材料 (920526)" in en
        assert "Published Mon 27 Nov 2023 19:00 (Beijing time) by bse.cn" in en

    run_bot(tmp_path, scenario)
