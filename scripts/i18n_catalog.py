"""Keep the Chinese catalog in step with the code: extract every t()/h()/tn()/hn()/N_() msgid from sentibot/.

    python scripts/i18n_catalog.py            add new msgids (empty msgstr) to every .po, drop the ones gone from the code
    python scripts/i18n_catalog.py --check    exit 1 if a .po is out of date, a msgid is untranslated or fuzzy, or a
                                              translation lost a {placeholder} or an HTML tag of its msgid

The .po files are written sorted by msgid and without source locations, so two branches adding strings touch
different places of the file and line moves never change it.
"""

from __future__ import annotations

import io
import re
import string
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from sentibot import i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sentibot"
KEYWORDS = {"t": (2,), "h": (2,), "tn": (2, 3), "hn": (2, 3), "N_": None}
STAMP = datetime(2026, 12, 1, tzinfo=UTC)  # fixed header dates: the file changes only with its messages
TELEGRAM_TAGS = "b|strong|i|em|u|ins|s|strike|del|a|code|pre|span|tg-spoiler|tg-emoji|blockquote"
TAG = re.compile(rf"</?(?:{TELEGRAM_TAGS})\b[^>]*>")  # what Telegram's HTML mode parses; "<text>" is no tag


def extract() -> dict[str | tuple[str, str], list[str]]:
    """Every msgid in the package (a (singular, plural) pair for plurals) with its translator comments."""
    found: dict[str | tuple[str, str], list[str]] = {}
    for _file, _line, message, comments, _context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("i18n:",),
            strip_comment_tags=True):
        found.setdefault(message, [])
        found[message] += [c for c in comments if c not in found[message]]
    return found


def updated(lang: str, messages: dict) -> tuple[Catalog, str]:
    """The catalog of lang with the extracted msgids (translations kept) and its new .po text."""
    path = Path(i18n.catalog_path(lang))
    old = None
    if path.exists():
        with path.open("rb") as fh:
            old = read_po(fh, locale=i18n.BABEL_LOCALES[lang], domain=i18n.DOMAIN)
    catalog = Catalog(locale=i18n.BABEL_LOCALES[lang], domain=i18n.DOMAIN, project="sentibot", version="",
                      charset="utf-8", fuzzy=False, creation_date=STAMP, revision_date=STAMP)
    for message, comments in messages.items():
        previous = old.get(message[0] if isinstance(message, tuple) else message) if old is not None else None
        if previous is not None and previous.id == message:
            catalog.add(message, previous.string, auto_comments=comments, flags=previous.flags)
        else:  # new, or its plural changed: translate it (again)
            catalog.add(message, ("", "") if isinstance(message, tuple) else "", auto_comments=comments)
    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=False, sort_output=True, no_location=True, width=120,
             include_previous=False)
    text = buffer.getvalue().decode("utf-8")
    # the header names no Babel version, so another Babel release does not make --check fail
    return catalog, "".join(line for line in text.splitlines(keepends=True) if not line.startswith('"Generated-By:'))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems(catalog: Catalog) -> list[str]:
    """Untranslated or fuzzy msgids, and translations whose placeholders or tags differ from the msgid's."""
    found = []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        name = ids[0]
        if m.fuzzy or not all(strings):
            found.append(f"untranslated{' (fuzzy)' if m.fuzzy else ''}: {name!r}")
            continue
        want = set().union(*(_fields(i) for i in ids))
        for s in strings:
            if _fields(s) != want:
                found.append(f"placeholders differ: {name!r} has {sorted(want)}, translation {sorted(_fields(s))}")
            if sorted(TAG.findall(s)) != sorted(TAG.findall(ids[0])):
                found.append(f"HTML tags differ: {name!r}")
    return found


def main(argv: list[str]) -> int:
    check = "--check" in argv
    messages, failed = extract(), False
    for lang in i18n.LANGUAGES:
        if lang == i18n.SOURCE_LANGUAGE:
            continue
        path = Path(i18n.catalog_path(lang))
        catalog, text = updated(lang, messages)
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if check:
            if current != text:
                print(f"{path.relative_to(ROOT)}: out of date: run python scripts/i18n_catalog.py", file=sys.stderr)
                failed = True
            for problem in problems(catalog):
                print(f"{path.relative_to(ROOT)}: {problem}", file=sys.stderr)
                failed = True
        elif current != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            todo = [p for p in problems(catalog) if p.startswith("untranslated")]
            print(f"{path.relative_to(ROOT)}: updated; {len(todo)} msgid(s) to translate")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
