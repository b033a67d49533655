"""A Chinese chat reads /heat in Chinese: the as-of and session, provisional and stale notes, the basis, the limit
board and the source names come from the catalog (docs/i18n.md); an English chat reads the same facts in English."""

from __future__ import annotations

import re

import pytest

from sentibot import calendar, i18n
from sentibot.models import Alert, AlertKind
from sentibot.store.db import save_scores
from sentibot.views import heat
from sentibot.views.heat import HeatSnapshot
from tests.bot.test_bot import NOW, run_bot
from tests.bot.test_bot_language import ask

ALLOWED = {"RSI"}  # an abbreviation Chinese market readers use as it is
# an ASCII word of two or more letters that is not a /command (single letters are statistics: r, z)
WORD = re.compile(r"(?<![/\w])[A-Za-z]{2,}")

COMPONENTS = {
    "close": 1402.5, "pct_change": 3.1, "amount": 3.1e10, "turnover_ratio": 3.2, "rsi": 81, "bullish_share": 0.62,
    "ret_from_low": 0.41, "limit_up": 30,
    "attention": {"Guba posts 北交所": {"ratio": 4.1, "z": 3.3}, "WeChat index 北交所": {"ratio": 6.2, "z": 4.0}},
    "reasons": ["turnover 3.2x its 20-day mean", "30 stocks closed at the +30% limit",
                "market data only: no attention series usable"],
}
BOARD = {"limit_up": 30, "limit_down": 1, "broken_limit": 12, "limit_streak_max": 6, "up_share": 0.93, "stocks": 232}


def english_words(text: str) -> list[str]:
    """ASCII words in a text meant for a Chinese reader, leaving out tags, entities, /commands and ALLOWED."""
    bare = re.sub(r"&#?\w+;", " ", re.sub(r"<[^>]+>", " ", text))
    return [w for w in WORD.findall(bare) if w not in ALLOWED]


def snapshot(**changes) -> HeatSnapshot:
    fields = dict(date="2023-11-27", score=88.0, level="frenzy", components=COMPONENTS,
                  reasons=tuple(COMPONENTS["reasons"]), lead_lag={"lag": 1, "corr": 0.62},
                  recent_alerts=(Alert(kind=AlertKind.FRENZY, ts="2023-11-27T15:00:00+08:00", title="BSE heat hot → "
                                       "frenzy", level="frenzy", score=88.0),),
                  warnings=({"published_at": "2023-11-27T19:00:00+08:00", "title": "北交所加强交易监管",
                             "url": "https://www.bse.cn/n.html", "source": "bse.cn"},),
                  sources=({"source": "guba", "status": "blocked"}, {"source": "wechat_index",
                                                                      "status": "not_configured"}),
                  as_of="2023-11-27T14:40:00+08:00", age_s=4 * 86400, session="closed", basis="market_only",
                  breadth=BOARD, provisional=True, stale=True, last_close="2023-12-01T15:00:00+08:00")
    return HeatSnapshot(**{**fields, **changes})


@pytest.mark.parametrize("html", [True, False])
def test_a_chinese_heat_has_no_english_sentence(html):
    text = heat.format_heat(snapshot(), html=html, lang="zh")
    assert english_words(text) == [], text
    for line in ("数据截至 2023-11-27 14:40（4天前）· 已收盘", "临时数据：当天行情是在 15:00 收盘前读取的",
                 "⚠️ 数据已过时：最新只到 2023-11-27，早于上一个交易时段（2023-12-01）",
                 "依据：仅行情数据（没有可用的关注度来源，热度最高只到“过热”）",
                 "涨跌停：30 家涨停（+30%） · 1 家跌停（−30%） · 12 家炸板 · 最高连板 6 天 · 232 只股票中 93% 上涨",
                 "数据源异常：东方财富股吧", "未配置：微信指数"):
        assert line in text


def test_an_english_heat_says_the_same_in_english_and_the_check_sees_it():
    text = heat.format_heat(snapshot(), html=False, lang="en")
    for line in ("as of 2023-11-27 14:40 (4 days ago) · market closed",
                 "provisional: this day's bars were read before the 15:00 close",
                 "⚠️ stale data: nothing newer than 2023-11-27, before the last trading session (2023-12-01)",
                 "basis: market data only (no attention source usable; this heat stops at hot)",
                 "limit board: 30 at +30% · 1 at −30% · 12 broken · longest run 6 days · 93% of 232 stocks rose",
                 "sources unhealthy: Eastmoney Guba forum", "not configured: WeChat search interest"):
        assert line in text
    assert {"stale", "basis", "board"} <= set(english_words(text))  # the control of the test above


def test_every_session_state_and_age_has_chinese_words():
    for state in calendar.SESSION_STATES:
        zh = heat.describe_time(snapshot(session=state, provisional=False, stale=False), "zh")
        assert len(zh) == 1 and english_words(zh[0]) == [], zh
        assert i18n.t("zh", heat.SESSION_NAMES[state]) != heat.SESSION_NAMES[state]
    ages = {0: "刚刚", 360: "6分钟前", 5 * 3600: "5小时前", 3 * 86400: "3天前"}
    assert {age: heat.describe_age(age, "zh") for age in ages} == ages
    assert [heat.describe_age(age) for age in (59, 60, 3600, 47 * 3600, 48 * 3600)] == [
        "just now", "1 minute ago", "1 hour ago", "47 hours ago", "2 days ago"]


def test_the_limit_board_without_a_stock_count_or_up_share():
    board = {"limit_up": 2, "limit_down": None, "broken_limit": 0, "limit_streak_max": 1, "up_share": 0.5}
    assert heat.describe_breadth(board, "zh") == ("涨跌停：2 家涨停（+30%） · 0 家跌停（−30%） · 0 家炸板 · 最高连板 1 天 · "
                                                  "50% 的股票上涨")
    assert heat.describe_breadth({**board, "up_share": None}) == ("limit board: 2 at +30% · 0 at −30% · 0 broken · "
                                                                  "longest run 1 day")
    assert heat.describe_breadth({"limit_up": None}, "zh") is None and heat.describe_breadth(None) is None


@pytest.mark.slow
def test_a_zh_chat_reads_heat_in_chinese_through_the_bot(tmp_path):
    """The real Application and the fake Bot API: what a zh-hans user's /heat says, from a stored score."""

    def prepare(db):
        save_scores(db, [{"date": "2023-11-27", "score": 72.0, "level": "hot",
                          "components": {**COMPONENTS, "basis": "market_only", "breadth": BOARD,
                                         "as_of": "2023-11-27T15:00:00+08:00", "lead_lag": {"lag": 2, "corr": 0.61}}}],
                    NOW)
        db["source_health"].insert({"source": "guba", "status": "blocked", "last_success_at": NOW})

    async def scenario(chat, db, fake):
        text = await ask(fake, "/heat", language_code="zh-hans")
        assert "北交所热度 2023年11月27日（周一）：过热" in text and "涨跌停：30 家涨停" in text, text
        assert "依据：仅行情数据" in text and "数据源异常：东方财富股吧" in text
        assert english_words(text) == [], text
        english = await ask(fake, "/heat", user_id=2, language_code="en")
        assert "basis: market data only" in english and "limit board: 30 at +30%" in english

    run_bot(tmp_path, scenario, prepare=prepare)
