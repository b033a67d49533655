"""Alert builders, per-kind formatters, and the heat snapshot over a real SQLite file."""

import json

from click.testing import CliRunner

from sentibot.alerts import rules as alerts
from sentibot.views import heat
from sentibot.cli import cli
from sentibot.models import Alert, AlertKind, Notice
from sentibot.telegram_html import text_limit, units
from sentibot.store.db import add_alert, open_store, save_scores, upsert_notice

NOW = "2023-11-27T20:00:00+08:00"


def _notice(title="北交所加强交易监管", text="对异常交易行为采取口头警示、监管关注等自律监管措施93人次。"):
    return Notice(url="https://www.bse.cn/news/1.html", source="bse.cn", published_at="2023-11-27T19:00:00+08:00",
                  title=title, text=text)


def test_regulator_alert_from_a_warning_notice():
    notice = _notice()
    cls = alerts.classify_notice(notice.text, notice.title)
    assert cls.label == "regulator_warning"
    alert = alerts.regulator_alert(notice, cls)
    assert alert.kind is AlertKind.REGULATOR_WARNING
    assert alert.dedupe_key == "regulator_warning:https://www.bse.cn/news/1.html"
    assert alert.ts == notice.published_at and alert.reasons[-1] == "source: bse.cn"


def test_company_notice_is_not_a_regulator_warning():
    cls = alerts.classify_notice("关于股票交易异常波动公告", "")
    assert cls.label != "regulator_warning"


def test_every_kind_has_a_formatter_that_escapes():
    nasty = '<script>alert("x")</script> & co'
    for lang in ("en", "zh"):
        for kind in AlertKind:
            alert = Alert(kind=kind, ts=NOW, title=nasty, level="hot", score=77.4, reasons=(nasty, nasty))
            text = alerts.format_alert(alert, lang)
            assert "<script>" not in text, (lang, kind)
            if kind is AlertKind.DIGEST:  # worded from its stored facts, not title and reasons: see
                continue  # tests/alerts/test_digest.py for its escaped notice titles and links
            if kind in (AlertKind.REGULATOR_WARNING, AlertKind.SOURCE_DOWN) or lang == "en":
                assert "&lt;script&gt;" in text and "&amp; co" in text, (lang, kind)  # stored text shown, escaped


def test_format_alert_stays_under_the_telegram_limit():
    alert = Alert(kind=AlertKind.FRENZY, ts=NOW, title="t" * 5000, level="frenzy", reasons=("<b>" * 500,) * 30)
    text = alerts.format_alert(alert)
    assert units(text) <= text_limit() < 4096
    assert text.count("<b>") == text.count("</b>")


def test_source_down_alert():
    alert = alerts.source_down_alert("guba", "2023-11-27T10:00:00+08:00", "captcha page 3 times")
    assert alert.kind is AlertKind.SOURCE_DOWN and "guba" in alert.title
    assert alert.dedupe_key == "source_down:guba:2023-11-27T10:00:00+08:00"
    assert "Source down" in alerts.format_alert(alert)


def test_heat_snapshot_empty_database(tmp_path):
    db = open_store(tmp_path / "h.db")
    assert heat.heat_snapshot(db) is None
    assert "no scores yet" in heat.format_heat(None)
    result = CliRunner().invoke(cli, ["heat", "--db", str(tmp_path / "h.db")])
    assert result.exit_code == 0 and "no scores yet: run `sentibot collect` or `sentibot replay` first" in result.output


def test_heat_snapshot_from_stored_scores(tmp_path):
    db = open_store(tmp_path / "h.db")
    components = {"close": 1101.5, "pct_change": 11.4, "turnover_ratio": 3.1, "rsi": 82.0,
                  "attention": {"WeChat index 北交所": {"ratio": 38.0, "z": 9.1}},
                  "lead_lag": {"lag": 1, "corr": 0.62}, "reasons": ["turnover 3.1x its 20-day mean", "RSI 82"]}
    save_scores(db, [{"date": "2023-11-24", "score": 80, "level": "hot", "components": {}},
                     {"date": "2023-11-27", "score": 97.5, "level": "frenzy", "components": components}], NOW)
    notice = _notice(title="北交所<加强>交易监管")
    upsert_notice(db, notice, NOW, notice_class="regulator_warning", severity=3)
    add_alert(db, alerts.heat_alert("2023-11-27", "frenzy", 97.5, ("RSI 82",), "hot"), NOW)
    db["source_health"].insert_all([{"source": "guba", "status": "blocked"}, {"source": "market", "status": "ok"},
                                    {"source": "wechat_index", "status": "not_configured"}])
    snap = heat.heat_snapshot(db)
    assert snap.date == "2023-11-27" and snap.level == "frenzy" and snap.lead_lag["lag"] == 1
    text = heat.format_heat(snap)
    assert "FRENZY" in text and "attention leads turnover by 1 day (r=0.62)" in text
    assert "&lt;加强&gt;" in text and "turnover 3.1x its 20-day mean" in text
    assert "sources unhealthy: Eastmoney Guba forum" in text and "not configured: WeChat search interest" in text
    plain = heat.format_heat(snap, html=False)
    assert "<b>" not in plain and "北交所<加强>交易监管" in plain
    result = CliRunner().invoke(cli, ["heat", "--db", str(tmp_path / "h.db"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["level"] == "frenzy"


def test_exchange_turnover_observations_are_not_attention():
    """sources/market.py stores exchange turnover as (market, 北交所, amount): it must not confirm attention."""
    from sentibot.score.rescore import is_market_series

    assert not is_market_series("market", "北交所", "amount")
    assert is_market_series("wechat_index", "北交所", "index")
    assert is_market_series("guba", "北交所", "posts")


def test_the_cli_follows_sentibot_language_or_the_locale_and_json_stays_english(tmp_path):
    db = open_store(tmp_path / "h.db")
    save_scores(db, [{"date": "2023-11-27", "score": 97.5, "level": "frenzy",
                      "components": {"close": 1101.5, "amount": 2.6e10, "turnover_ratio": 3.1, "limit_up": 12,
                                     "attention": {"WeChat index 北交所": {"ratio": 38.0, "z": 9.1}}}}], NOW)
    args = ["heat", "--db", str(tmp_path / "h.db")]
    zh = CliRunner().invoke(cli, args, env={"SENTIBOT_LANGUAGE": "zh"})
    assert zh.exit_code == 0 and "北交所热度 2023年11月27日（周一）：狂热 · 热度分 98/100" in zh.output
    assert "• 微信指数 北交所：中位数的 38.0 倍" in zh.output and "12 只股票收于 +30% 涨停" in zh.output
    assert "成交额 260.00亿元，为 20 日均值的 3.1 倍" in zh.output  # 亿 for turnover
    by_locale = CliRunner().invoke(cli, args, env={"SENTIBOT_LANGUAGE": "", "LANGUAGE": "", "LC_ALL": "zh_CN.UTF-8"})
    assert "北交所热度" in by_locale.output
    english = CliRunner().invoke(cli, args, env={"SENTIBOT_LANGUAGE": "en", "LC_ALL": "zh_CN.UTF-8"})
    assert "BSE heat Mon 27 Nov 2023: FRENZY · score 98/100" in english.output  # the setting beats the locale
    as_json = CliRunner().invoke(cli, [*args, "--json"], env={"SENTIBOT_LANGUAGE": "zh"})
    assert json.loads(as_json.output)["level"] == "frenzy"  # DESIGN.md's JSON is never translated
    open_store(tmp_path / "e.db")  # an existing, empty history (a missing file is an error: issue 17)
    empty = CliRunner().invoke(cli, ["heat", "--db", str(tmp_path / "e.db"), "--json"], env={"SENTIBOT_LANGUAGE": "zh"})
    assert json.loads(empty.output)["message"].startswith("no scores yet")
