"""The daily summary builder on a seeded history (real SQLite): what it reads, the stored alert's round trip, and
its text in Chinese and English."""

from __future__ import annotations

from dataclasses import replace

from sentibot.alerts.digest import DayHistory, build_digest, digest_alert, digest_of, load_day
from sentibot.alerts.texts import Facts, format_alert
from sentibot.models import AlertKind, Notice
from sentibot.store.db import open_store, save_scores, upsert_notice

DAY = "2026-12-02"
SINCE, UNTIL = "2026-12-01T15:40:00+08:00", "2026-12-02T15:45:00+08:00"
MADE = "2026-12-02T15:45:00+08:00"
COMPONENTS = {"close": 1402.5, "pct_change": 2.31, "amount": 3.05e10, "turnover_ratio": 1.8, "provisional": False,
              "breadth": {"stocks": 250, "limit_up": 12, "limit_down": 1, "broken_limit": 3, "limit_streak_max": 4,
                          "up_share": 0.652}}


def seeded(tmp_path):
    db = open_store(tmp_path / "d.db")
    save_scores(db, [{"date": DAY, "score": 71.4, "level": "hot", "components": COMPONENTS},
                     {"date": "2026-12-01", "score": 40.0, "level": "warming", "components": {}}], MADE)
    db["universe"].insert_all([{"code": "920001", "name": "富士达"}, {"code": "920002", "name": "凯华材料"}])
    rows = [("920001", DAY, 91.0, "frenzy", 3), ("920002", DAY, 80.0, "hot", 0), ("920003", DAY, None, None, 0),
            ("920004", "2026-12-01", 99.0, "frenzy", 0)]
    rows += [(f"92010{n}", DAY, 10.0 + n, "calm", 0) for n in range(6)]
    db["stock_scores"].insert_all([{"code": c, "date": d, "score": s, "level": lv, "limit_streak": ls}
                                   for c, d, s, lv, ls in rows], pk=("code", "date"))
    for url, at, cls in (("https://www.bse.cn/a?x=1&y=<2>", "2026-12-02T10:00:00+08:00", "regulator_warning"),
                         ("https://www.csrc.gov.cn/b", "2026-12-01T19:30:00+08:00", "regulator_warning"),
                         ("https://www.bse.cn/old", "2026-12-01T15:00:00+08:00", "regulator_warning"),
                         ("https://www.bse.cn/later", "2026-12-02T16:00:00+08:00", "regulator_warning"),
                         ("https://www.bse.cn/other", "2026-12-02T11:00:00+08:00", "other")):
        upsert_notice(db, Notice(url=url, source="bse.cn", published_at=at, title=f"北交所<监管>提示 & {url[-3:]}"),
                      MADE, notice_class=cls, severity=2)
    return db


def test_the_builder_reads_the_days_heat_board_hottest_stocks_and_notices_in_the_window(tmp_path):
    digest = build_digest(load_day(seeded(tmp_path), DAY, SINCE, UNTIL))
    assert digest is not None
    assert (digest.day, digest.score, digest.level, digest.provisional) == (DAY, 71.4, "hot", False)
    assert digest.market == {"close": 1402.5, "pct_change": 2.31, "amount": 3.05e10, "turnover_ratio": 1.8}
    assert digest.breadth is not None and digest.breadth["limit_up"] == 12 and digest.breadth["up_share"] == 0.652
    # the day's stocks only, hottest first, unscored ones left out, at most five; names from the universe
    assert [(s.code, s.name, s.level) for s in digest.stocks[:3]] == [
        ("920001", "富士达", "frenzy"), ("920002", "凯华材料", "hot"), ("920105", "", "calm")]
    assert len(digest.stocks) == 5 and digest.stocks[0].limit_streak == 3
    # regulator warnings after the previous summary up to now, newest first: not older, later or other notices
    assert [n.url for n in digest.notices] == ["https://www.bse.cn/a?x=1&y=<2>", "https://www.csrc.gov.cn/b"]
    assert digest.notice_count == 2


def test_no_market_score_for_the_day_means_no_digest(tmp_path):
    db = seeded(tmp_path)
    assert build_digest(load_day(db, "2026-12-03", UNTIL, "2026-12-03T15:45:00+08:00")) is None
    assert build_digest(DayHistory(DAY, None)) is None


def test_the_stored_alert_carries_the_whole_digest_and_one_key_per_day(tmp_path):
    digest = build_digest(load_day(seeded(tmp_path), DAY, SINCE, UNTIL))
    assert digest is not None
    alert = digest_alert(digest, MADE)
    assert (alert.kind, alert.ts, alert.dedupe_key, alert.stocks) == (AlertKind.DIGEST, MADE, f"digest:{DAY}", ())
    assert digest_of(alert) == digest
    assert alert.to_json()["kind"] == "digest" and alert.to_json()["level"] == "hot"
    broken = replace(alert, reasons=("stock: [not json", "notice: 5", *alert.reasons[:1]))
    assert digest_of(broken).stocks == () and digest_of(broken).market == digest.market  # bad lines are skipped


def test_the_digest_reads_in_both_languages_with_every_stored_string_escaped(tmp_path):
    digest = build_digest(load_day(seeded(tmp_path), DAY, SINCE, UNTIL))
    assert digest is not None
    alert = digest_alert(digest, MADE)
    en, zh = format_alert(alert, "en"), format_alert(alert, "zh")
    assert "BSE daily summary" in en and "<b>hot</b>" in en and "score 71/100" in en
    assert "12 at +30%, 1 at −30%, 3 broken limits, the longest limit-up run 4 days. 65% of stocks rose." in en
    assert "BSE 50 1402.50 (+2.31%) · turnover 30.50 bn yuan · 1.8 times its 20-day average" in en
    assert "1. 富士达 (920001) /stock 920001 🔴 91 · 3 limit-up closes in a row" in en
    assert "<b>2 regulator warnings</b>" in en
    assert '<a href="https://www.bse.cn/a?x=1&amp;y=&lt;2&gt;">北交所&lt;监管&gt;提示 &amp; &lt;2&gt;</a>' in en
    assert "<监管>" not in en and "<监管>" not in zh
    assert "3. 920105 /stock 920105 🟢 15" in en  # no name known: the code alone
    assert "北交所日报" in zh and "<b>过热</b>" in zh and "涨停 12 家，跌停 1 家，炸板 3 家，最高 4 连板。65% 的股票上涨。" in zh
    assert "305.00亿元" in zh and "<b>监管警示 2 条</b>" in zh and "最热个股" in zh
    quiet = replace(digest, stocks=(), notices=(), notice_count=0, breadth=None, provisional=True)
    text = format_alert(digest_alert(quiet, MADE), "en")
    assert "no stock heat for the day" in text and "No regulator warning since the last summary." in text
    assert "no stock bars for the day" in text and "Provisional" in text
    linked = format_alert(alert, "en", Facts(bot_username="sentibot_test_bot"))
    assert 'href="https://t.me/sentibot_test_bot?start=stock_920001"' in linked
