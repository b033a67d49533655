"""Telegram HTML in one place: escaping, length as Telegram counts it (UTF-16 units), splitting, and the limits."""

from __future__ import annotations

import functools
from html import escape as _escape

# Our chunks stay this far under Telegram's limit (4,000 of 4,096, as before): a caller can prefix a short line
# without splitting again. HTML source is never shorter than the text Telegram counts after parsing it, so a
# chunk under the limit in source units is under it after parsing too.
HEADROOM = 96


def escape(value: object) -> str:
    """Escape any stored, scraped or user-supplied value for Telegram HTML (None is empty)."""
    return _escape("" if value is None else str(value), quote=True)


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


@functools.cache
def text_limit() -> int:
    """The longest message we send, in UTF-16 units: PTB's MessageLimit.MAX_TEXT_LENGTH less HEADROOM."""
    # imported here: telegram's package import costs ~0.5 s, and the CLI's demo formats alerts without the bot
    from telegram.constants import MessageLimit

    return int(MessageLimit.MAX_TEXT_LENGTH) - HEADROOM


@functools.cache
def caption_limit() -> int:
    """The longest photo caption Telegram accepts, in UTF-16 units (PTB's MessageLimit.CAPTION_LENGTH)."""
    from telegram.constants import MessageLimit

    return int(MessageLimit.CAPTION_LENGTH)


def fit(line: str, limit: int) -> int:
    """The largest index i such that line[:i] is at most limit UTF-16 units."""
    total = 0
    for i, char in enumerate(line):
        total += 2 if ord(char) > 0xFFFF else 1
        if total > limit:
            return i
    return len(line)


def split_message(text: str, limit: int | None = None) -> list[str]:
    """Chunks under limit (UTF-16 units), cut at line boundaries; an over-long line is cut outside any tag or entity."""
    limit = text_limit() if limit is None else limit
    chunks, current = [], ""
    for line in text.split("\n"):
        while units(line) > limit:
            cut = _safe_cut(line, fit(line, limit))
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:cut])
            line = line[cut:]
        if current and units(current) + 1 + units(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        chunks.append(current)
    return chunks or [""]


def _safe_cut(line: str, limit: int) -> int:
    """The largest cut <= limit that splits neither an &entity; nor a <tag>."""
    cut = limit
    amp, lt = line.rfind("&", 0, cut), line.rfind("<", 0, cut)
    if amp != -1 and line.find(";", amp, cut) == -1:
        cut = amp
    if lt != -1 and line.find(">", lt, cut) == -1:
        cut = min(cut, lt)
    return cut or limit
