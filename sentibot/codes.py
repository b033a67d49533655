"""BSE stock codes: the old 43/83/87xxxx codes, the 920xxx codes of 2025-10-09, and the shipped map between them.

Every stock is stored and shown under its 920xxx code when one is known; an old code is accepted wherever a code is
(input files, user commands, notice texts) and resolves to the same stock. The map is data/codes/ (243 pairs, with
its provenance): the new code is not always 920 + the last three digits, so nothing here guesses.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass

from sentibot.resources import CODES_DIR

OLD_CODE = re.compile(r"^(?:43|83|87)\d{4}$")
NEW_CODE = re.compile(r"^920\d{3}$")
MAP_FILE = CODES_DIR / "bse_code_map_old_to_920.csv"


@dataclass(frozen=True)
class CodeMap:
    """old -> new, new -> old and new -> name, from the shipped table."""

    old_to_new: dict[str, str]
    new_to_old: dict[str, str]
    names: dict[str, str]


@functools.cache
def code_map() -> CodeMap:
    """The shipped old -> 920xxx table (read once)."""
    with MAP_FILE.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    old_to_new = {r["old_code"]: r["new_code"] for r in rows}
    return CodeMap(old_to_new, {new: old for old, new in old_to_new.items()}, {r["new_code"]: r["name"] for r in rows})


def is_bse_code(text: str) -> bool:
    """True for a six-digit BSE stock code, old (43/83/87xxxx) or new (920xxx)."""
    return bool(NEW_CODE.match(text) or OLD_CODE.match(text))


def to_new(code: str) -> str | None:
    """The 920xxx code of a BSE stock code (itself when already new); None when an old code is not in the map."""
    if NEW_CODE.match(code):
        return code
    return code_map().old_to_new.get(code) if OLD_CODE.match(code) else None


def canonical(code: str) -> str:
    """The code a stock is stored under: its 920xxx code when known, else the code as given."""
    return to_new(code) or code


def old_code(code: str) -> str | None:
    """The pre-2025-10-09 code of a 920xxx code, when the map knows it."""
    return code_map().new_to_old.get(code)


_INPUT = re.compile(r"^(?:(?:BJ|SZ|SH)\.?)?(\d{6})(?:\.(?:BJ|SZ|SH))?$", re.IGNORECASE)


def parse_input(text: str, stored_old: dict[str, str] | None = None) -> str | None:
    """What a user or a file wrote ('831526', 'BJ920526', '920526.BJ') -> the stored 920xxx code, or None.

    stored_old maps old codes the store learned (the universe's old_code column) to new ones, for stocks the
    shipped map does not list; pure, so the bot, the CLI and importers can share it.
    """
    match = _INPUT.match(text.strip())
    if not match:
        return None
    code = match.group(1)
    if stored_old and code in stored_old:
        return stored_old[code]
    return canonical(code)
