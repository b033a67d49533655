"""A stock alert's reasons are said at display time in the reader's language, from the stock's scored day
(alerts/facts.py reads stock_scores); the stored English reasons are shown only to English readers when that day
is missing. /stock lists the stock's alerts in the reader's language too."""

from __future__ import annotations

import pytest

from sentibot.alerts.facts import alert_facts
from sentibot.alerts.texts import Facts, format_alert
from sentibot.models import AlertKind
from sentibot.store.stock_names import resolve
from sentibot.views import stocks
from tests.score.test_stock_replay import replayed
from tests.views.test_heat_language import english_words


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    db, result, _ = replayed(tmp_path_factory.mktemp("stocks"))
    return db, [a for a in result.alerts if a.stocks and a.kind is AlertKind.FRENZY]


@pytest.mark.slow
def test_a_stock_alert_reads_chinese_from_the_stored_numbers(world):
    db, alerts = world
    alert = alerts[-1]
    assert alert.reasons and all(english_words(r) for r in alert.reasons)  # stored in English
    zh = format_alert(alert, "zh", alert_facts(db, alert))
    assert "个股热度上升" in zh and "成交额为20日均值的" in zh and "换手率" in zh
    assert english_words(zh) == [], zh
    en = format_alert(alert, "en", alert_facts(db, alert))
    assert "Stock heat up" in en and "its 20-day mean" in en and "turnover rate" in en
    bare = format_alert(alert, "zh", Facts())  # the day's numbers missing: nothing English for a Chinese reader
    assert english_words(bare) == [] and "个股热度上升" in bare
    assert alert.reasons[0] in format_alert(alert, "en", Facts())  # ...and the stored reasons for an English one


@pytest.mark.slow
def test_the_stock_page_lists_its_alerts_in_chinese(world):
    db, _ = world
    text = stocks.format_stock(stocks.stock_snapshot(db, resolve(db, "凯华材料")), html=True, lang="zh")
    assert "凯华材料 (920526)：升温 → 狂热" in text and "连续3个涨停收盘" in text
    assert english_words(text) == [], text
