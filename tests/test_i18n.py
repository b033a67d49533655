"""sentibot.i18n: catalogs (every msgid translated, placeholders and tags kept), language resolution, level names,
Chinese number and date formats."""

from __future__ import annotations

import importlib.util
from datetime import date

import pytest

from sentibot import i18n
from tests.support.paths import ROOT


def _catalog_script():
    spec = importlib.util.spec_from_file_location("i18n_catalog", ROOT / "scripts" / "i18n_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_chinese_catalog_is_complete_and_in_step_with_the_code(capsys):
    # fails when a t()/h()/tn()/hn()/N_() msgid is new (run scripts/i18n_catalog.py and translate it), when a
    # translation is missing or fuzzy, or when it lost a {placeholder} or an HTML tag
    assert _catalog_script().main(["--check"]) == 0, capsys.readouterr().err


def test_the_check_catches_a_lost_placeholder_a_broken_tag_and_an_untranslated_msgid():
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="zh_Hans_CN")
    catalog.add("Hello <b>{name}</b>", "你好 <b>{nam}</b>")
    catalog.add("Level <b>{level}</b>", "级别 {level}")
    catalog.add("Untranslated", "")
    catalog.add("Fuzzy", "模糊", flags=("fuzzy",))
    found = "\n".join(_catalog_script().problems(catalog))
    assert "placeholders differ: 'Hello <b>{name}</b>'" in found
    assert "HTML tags differ: 'Level <b>{level}</b>'" in found
    assert "untranslated: 'Untranslated'" in found and "untranslated (fuzzy): 'Fuzzy'" in found


def test_english_is_the_msgid_and_chinese_comes_from_the_catalog():
    msgid = "Unsubscribed: this chat gets no more alerts. /subscribe brings them back."
    assert i18n.t("en", msgid) == msgid
    assert i18n.t("zh", msgid) == "已退订：本聊天不再接收预警。发送 /subscribe 可重新订阅。"
    assert i18n.t("de", msgid) == msgid  # a language we do not have falls back to English
    assert i18n.t("zh", "a msgid nobody translated") == "a msgid nobody translated"


def test_html_escapes_every_value_but_safe_ones_and_numbers():
    msgid = "Broadcast #{id} done: {outcomes}."
    assert i18n.h("en", msgid, id=3, outcomes="<b>&") == "Broadcast #3 done: &lt;b&gt;&amp;."
    assert i18n.h("zh", msgid, id=3, outcomes=i18n.Safe("<b>2</b>")) == "广播 #3 已完成：<b>2</b>。"
    assert i18n.t("en", msgid, id=3, outcomes="<b>") == "Broadcast #3 done: <b>."  # plain text is not escaped


def test_plurals_in_both_languages():
    one, many = "Broadcasting #{id} to {n} subscriber…", "Broadcasting #{id} to {n} subscribers…"
    assert i18n.hn("en", one, many, 1, id=2) == "Broadcasting #2 to 1 subscriber…"
    assert i18n.hn("en", one, many, 5, id=2) == "Broadcasting #2 to 5 subscribers…"
    assert i18n.hn("zh", one, many, 1, id=2) == i18n.hn("zh", one, many, 1, id=2) == "正在向 1 位订阅者发送广播 #2…"


@pytest.mark.parametrize("code, lang", [("zh-hans", "zh"), ("zh", "zh"), ("zh-TW", "zh"), ("ZH_cn", "zh"),
                                        ("zh-hant-hk", "zh"), ("de", "en"), ("en", "en"), ("en-GB", "en"),
                                        ("zhx", "en"), ("", None), (None, None), ("  ", None)])
def test_telegram_language_codes(code, lang):
    assert i18n.language_from_code(code) == lang


def test_a_chats_choice_wins_then_telegram_then_the_default():
    assert i18n.resolve("zh", "en", "en") == "zh"
    assert i18n.resolve("en", "zh-hans", "zh") == "en"
    assert i18n.resolve(None, "zh-hans", "en") == "zh"
    assert i18n.resolve(None, "de", "zh") == "en"  # Telegram said German: English, not the default
    assert i18n.resolve(None, None, "zh") == "zh"
    assert i18n.resolve(None, None, "") == "en"
    assert i18n.resolve("fr", None, "zh") == "zh"  # a stored value we no longer offer is ignored


def test_the_cli_follows_sentibot_language_else_the_locale():
    assert i18n.default_language("zh", {"LANG": "en_US.UTF-8"}) == "zh"
    assert i18n.default_language("", {"LANG": "zh_CN.UTF-8"}) == "zh"
    assert i18n.default_language("", {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) == "zh"  # C is no language
    assert i18n.default_language("", {"LANGUAGE": "de:zh", "LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.default_language("", {}) == "en"


def test_level_names_in_both_languages_are_typed_and_shown():
    assert [i18n.level_name("zh", k) for k in i18n.LEVELS] == ["平静", "升温", "过热", "狂热"]
    assert [i18n.level_name("en", k) for k in i18n.LEVELS] == list(i18n.LEVELS)
    for typed, level in [("狂热", "frenzy"), ("过热", "hot"), (" 升温 ", "warming"), ("平静", "calm"),
                         ("FRENZY", "frenzy"), ("Hot", "hot")]:
        assert i18n.parse_level(typed) == level
    assert i18n.parse_level("火热") is None and i18n.parse_level("") is None
    assert i18n.level_name("zh", "odd") == "odd"


def test_chinese_numbers_and_full_dates_in_shanghai_time():
    assert i18n.yuan("zh", 12_345_678_900) == "123.46亿元"
    assert i18n.yuan("zh", 56_000_000) == "5600万元"  # 万 without separators, as Chinese finance sites write it
    assert i18n.yuan("zh", 5_600_000) == "560万元"
    assert i18n.yuan("en", 12_345_678_900) == "12.35 bn yuan"
    assert i18n.yuan("en", 56_000_000) == "56.0 m yuan"
    assert i18n.yuan("zh", None) == "无" and i18n.yuan("en", None) == "n/a"
    assert i18n.full_date("zh", date(2023, 11, 27)) == "2023年11月27日（周一）"
    assert i18n.full_date("en", "2023-11-26") == "Sun 26 Nov 2023"
    assert i18n.when("zh", "2023-11-27T07:30:00+00:00") == "2023年11月27日（周一）15:30"  # UTC shown in Shanghai
    assert i18n.when("en", "2023-11-27T15:30:00") == "Mon 27 Nov 2023 15:30 (Beijing time)"  # naive = Shanghai


def test_english_needs_no_catalog():
    assert type(i18n.translations("en")).__name__ == "NullTranslations"
    assert type(i18n.translations("zh")).__name__ == "Translations"
