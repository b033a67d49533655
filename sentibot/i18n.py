"""Languages: message catalogs (gettext .po through Babel), a chat's language, level names in zh and en.

Every user-facing string is written once, in English, as a gettext msgid with named {placeholders}:

    t(lang, "Unsubscribed: this chat gets no more alerts.")                plain text (CLI, logs shown to users)
    h(lang, "Changed the level to <b>{level}</b>.", level=name)           Telegram HTML: every value is escaped
    hn(lang, "{n} subscriber", "{n} subscribers", count)                   plurals (n is passed as {n} too)
    N_("the command list")                                                 marks a literal for later t(lang, text)

The Chinese text lives in sentibot/data/locale/zh/LC_MESSAGES/sentibot.po; `python scripts/i18n_catalog.py` adds
new msgids to it and `--check` (a test runs it) fails while any is untranslated. A whole sentence is one msgid, so
a translator can reorder it; never join translated fragments in English word order. docs/i18n.md says more.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from sentibot.resources import LOCALE_DIR
from sentibot.telegram_html import escape

LANGUAGES = ("zh", "en")
SOURCE_LANGUAGE = "en"  # msgids are the English text: English needs no catalog
DOMAIN = "sentibot"
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en"}  # for Babel's number and date formats

LEVELS = ("calm", "warming", "hot", "frenzy")
LEVEL_NAMES = {
    "zh": {"calm": "平静", "warming": "升温", "hot": "过热", "frenzy": "狂热"},
    "en": {"calm": "calm", "warming": "warming", "hot": "hot", "frenzy": "frenzy"},
}
_LEVEL_INPUT = {name.casefold(): level for names in LEVEL_NAMES.values() for level, name in names.items()}


class Safe(str):
    """A value that is already Telegram HTML (a link, a bold name): h() inserts it unescaped."""


def N_(msgid: str) -> str:
    """Mark a literal for the catalog without translating it now (module-level tables); translate it with t()."""
    return msgid


def catalog_path(lang: str) -> str:
    return str(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po")


@cache
def translations(lang: str) -> Any:
    """The gettext translations of `lang`, compiled from its .po once per process (no binary .mo in git)."""
    import gettext

    if lang == SOURCE_LANGUAGE or lang not in LANGUAGES:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    with open(catalog_path(lang), "rb") as fh:
        catalog = read_po(fh, locale=BABEL_LOCALES[lang], domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out: they fall back to English, never to a wrong text
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _fill(template: str, values: Mapping[str, object]) -> str:
    return template.format_map(values) if values else template.replace("{{", "{").replace("}}", "}")


def t(lang: str, msgid: str, /, **values: object) -> str:
    """The plain-text translation of msgid in lang, with {placeholders} filled from values (not escaped)."""
    return _fill(translations(lang).gettext(msgid), values)


def tn(lang: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    """Plural form for n (Chinese has one form); {n} is available in the text."""
    return _fill(translations(lang).ngettext(singular, plural, n), {"n": n, **values})


def _escaped(values: Mapping[str, object]) -> dict[str, object]:
    return {k: v if isinstance(v, (Safe, int, float)) else escape(v)
            for k, v in values.items()}


def h(lang: str, msgid: str, /, **values: object) -> str:
    """Like t() for Telegram HTML: the msgid may hold tags; every value is escaped unless it is Safe or a number."""
    return _fill(translations(lang).gettext(msgid), _escaped(values))


def hn(lang: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    """Like tn() for Telegram HTML."""
    return _fill(translations(lang).ngettext(singular, plural, n), {"n": n, **_escaped(values)})


def language_from_code(code: str | None) -> str | None:
    """Telegram's language_code (an IETF tag such as zh-hans, zh-TW, de) as one of ours: zh* -> zh, else en."""
    if not code or not code.strip():
        return None
    return "zh" if code.strip().lower().replace("_", "-").split("-")[0] == "zh" else "en"


def locale_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the process locale (LC_ALL, LC_MESSAGES, LANG, as gettext reads them): zh* -> zh, else en."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").split(":")[0].split(".")[0]
        if value and value not in ("C", "POSIX"):
            return language_from_code(value) or SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def default_language(setting: str = "", environ: Mapping[str, str] | None = None) -> str:
    """SENTIBOT_LANGUAGE when set, else the locale's language: the CLI's language and a chat's last resort."""
    return setting if setting in LANGUAGES else locale_language(environ)


def resolve(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """A chat's language: its /lang choice, else the user's Telegram language (zh* -> zh, else en), else default."""
    if chosen in LANGUAGES:
        return chosen
    return language_from_code(telegram_code) or (default if default in LANGUAGES else SOURCE_LANGUAGE)


def level_name(lang: str, level: str) -> str:
    """平静/升温/过热/狂热 or calm/warming/hot/frenzy; an unknown level is shown as it is."""
    return LEVEL_NAMES.get(lang, LEVEL_NAMES[SOURCE_LANGUAGE]).get(level, level)


def parse_level(text: str) -> str | None:
    """A level typed in either language (狂热, Frenzy, hot) as its key, or None."""
    return _LEVEL_INPUT.get(text.strip().casefold())


def babel_locale(lang: str) -> str:
    """The Babel locale name for formatting numbers and dates in lang."""
    return BABEL_LOCALES.get(lang, BABEL_LOCALES[SOURCE_LANGUAGE])


_WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def yuan(lang: str, amount: float | None) -> str:
    """Turnover as a reader expects it: 12.34亿元 / 5600万元, or 1.23 bn yuan / 56.0 m yuan; n/a when unknown."""
    if amount is None:
        return "无" if lang == "zh" else "n/a"
    if lang == "zh":
        if abs(amount) >= 1e8:
            return f"{amount / 1e8:,.2f}亿元"
        return f"{amount / 1e4:.0f}万元" if abs(amount) >= 1e4 else f"{amount:,.0f}元"
    if abs(amount) >= 1e9:
        return f"{amount / 1e9:,.2f} bn yuan"
    return f"{amount / 1e6:,.1f} m yuan" if abs(amount) >= 1e6 else f"{amount:,.0f} yuan"


def full_date(lang: str, day: Any) -> str:
    """A date in full: 2023年11月27日（周一） or Mon 27 Nov 2023 (a date, datetime or ISO text)."""
    from datetime import date, datetime

    value = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    value = value.date() if isinstance(value, datetime) else value
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日（周{_WEEKDAYS['zh'][value.weekday()]}）"
    return f"{_WEEKDAYS['en'][value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def when(lang: str, moment: Any) -> str:
    """A moment in Shanghai time, date in full: 2023年11月27日（周一）15:00 or Mon 27 Nov 2023 15:00 (Beijing time)."""
    from datetime import datetime

    from sentibot.timeutil import SHANGHAI

    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    value = value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value.astimezone(SHANGHAI)
    clock = value.strftime("%H:%M")
    return f"{full_date('zh', value)}{clock}" if lang == "zh" else f"{full_date('en', value)} {clock} (Beijing time)"
