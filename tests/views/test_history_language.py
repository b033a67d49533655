"""/history in the reader's language: a heat alert's stored English title becomes its move between levels."""

from __future__ import annotations

from sentibot import i18n
from sentibot.models import Alert, AlertKind
from sentibot.store.db import add_alert, open_store
from sentibot.views.replies import history_text

NOW = "2023-11-27T16:00:00+08:00"


def test_history_words_heat_moves_per_language_and_keeps_stored_titles(tmp_path):
    db = open_store(tmp_path / "h.db")
    add_alert(db, Alert(kind=AlertKind.FRENZY, ts="2023-11-24T15:00:00+08:00", title="BSE heat hot → frenzy",
                        level="frenzy", score=91.0), NOW)
    add_alert(db, Alert(kind=AlertKind.REGULATOR_WARNING, ts="2023-11-27T10:00:00+08:00",
                        title="北交所<加强>交易监管", dedupe_key="n1"), NOW)
    zh, en = history_text(db, 5, "zh"), history_text(db, 5, "en")
    assert f"{i18n.level_name('zh', 'hot')} → {i18n.level_name('zh', 'frenzy')}" in zh
    assert "BSE heat hot → frenzy" not in zh and "BSE heat hot → frenzy" in en
    assert "北交所&lt;加强&gt;交易监管" in zh and "北交所&lt;加强&gt;交易监管" in en
    assert zh.index("北交所") < zh.index("→")  # newest first


def test_broadcast_outcomes_are_worded_per_language():
    from sentibot.views.replies import OUTCOME_WORDS, outcomes_text

    assert outcomes_text("en", {"sent": 2, "blocked": 1}) == "1 blocked, 2 sent"
    assert outcomes_text("zh", {"sent": 2, "blocked": 1}) == "1 个已屏蔽机器人，2 个已送达"
    assert outcomes_text("zh", {}) == i18n.t("zh", "nothing sent") != "nothing sent"
    zh = outcomes_text("zh", dict.fromkeys(OUTCOME_WORDS, 1))
    assert not [w for w in ("sent", "blocked", "failed", "pending", "unknown", "log") if w in zh], zh
