"""Stock names and codes: a 920xxx code, an old 43/83/87xxxx code, or a name (full or a unique prefix, *ST or not).

Names come from the stored universe (current names, *ST included), then codes.py's shipped map, then the company
dictionary (sentibot/data/dict/bse_companies.txt); every stock is known under its 920xxx code when one exists.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass

from sqlite_utils import Database

from sentibot import codes, i18n
from sentibot.errors import InputError
from sentibot.i18n import N_
from sentibot.resources import DICT_DIR

SUGGESTIONS = 5
SPECIAL = re.compile(r"^(?:\*?S?\*?ST|S|N|C)(?=[\u4e00-\u9fff])", re.IGNORECASE)  # *ST, ST, S*ST, SST; N/C new-listing marks
EXCHANGE_SUFFIX = re.compile(r"^(?:BJ)?(\d+)(?:\.BJ)?$", re.IGNORECASE)
ARG_MAX = 40  # characters of the user's input quoted back


class StockInputError(InputError):
    """Why an input names no single stock: a msgid and its values, so the bot can say it in the chat's language."""

    def __init__(self, msgid: str, **values: object) -> None:
        super().__init__(i18n.t("en", msgid, **values))
        self.msgid, self.values = msgid, values

    def text(self, lang: str, html: bool = False) -> str:
        return i18n.h(lang, self.msgid, **self.values) if html else i18n.t(lang, self.msgid, **self.values)


@dataclass(frozen=True)
class Stock:
    code: str  # 920xxx when known
    name: str
    old_code: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


def normal(text: str) -> str:
    """Full-width forms folded (ＳＴ, ＊, ９２０), spaces dropped, upper case: what comparisons use."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def bare(name: str) -> str:
    """A name without its *ST / ST / N / C prefix."""
    return SPECIAL.sub("", normal(name))


@functools.cache
def _static() -> dict[str, Stock]:
    """Shipped knowledge: the old -> 920 map (with names), then the dictionary (old codes, mapped when possible)."""
    out: dict[str, Stock] = {}
    table = codes.code_map()
    for new, name in table.names.items():
        out[new] = Stock(new, name, table.new_to_old.get(new))
    with (DICT_DIR / "bse_companies.txt").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if line.startswith("#") or len(parts) < 2 or not codes.is_bse_code(parts[0]):
                continue
            code = codes.canonical(parts[0])
            if code not in out:
                out[code] = Stock(code, parts[1].strip(), parts[0] if code != parts[0] else None)
    return out


def directory(db: Database | None) -> dict[str, Stock]:
    """Every known stock by 920xxx code: the stored universe's names win over the shipped ones."""
    out = dict(_static())
    if db is not None and db["universe"].exists():
        for r in db.query("select code, name, old_code from universe order by listed"):  # listed rows last: win
            code = codes.canonical(r["code"])
            old = r["old_code"] or (r["code"] if code != r["code"] else None) or \
                (out[code].old_code if code in out else None)
            out[code] = Stock(code, r["name"], old)
    return out


def names(db: Database | None) -> dict[str, str]:
    """920xxx code -> display name."""
    return {code: s.name for code, s in directory(db).items()}


def _quoted(raw: str) -> str:
    shown = " ".join(raw.split())
    return f"“{shown[:ARG_MAX]}{'…' if len(shown) > ARG_MAX else ''}”"


def resolve(db: Database | None, raw: str) -> Stock:
    """The stock `raw` names; InputError (one line, with suggestions) when it is unknown, ambiguous or malformed."""
    text = normal(raw or "")
    if not text:
        raise StockInputError(N_("give a stock: a 920xxx code, an old 43/83/87xxxx code or a name, e.g. 凯华材料"))
    known = directory(db)
    digits = EXCHANGE_SUFFIX.match(text)
    if digits:
        return _by_code(known, digits.group(1), raw)
    return _by_name(known, text, raw)


def _by_code(known: dict[str, Stock], code: str, raw: str) -> Stock:
    if len(code) != 6:
        raise StockInputError(N_("{value} has {n} digits; a BSE code has 6 (920xxx, or an old 43/83/87xxxx)"),
                              value=_quoted(raw), n=len(code))
    if not codes.is_bse_code(code):
        raise StockInputError(N_("{code} is not a Beijing Stock Exchange code (BSE codes start with 920, or "
                                 "43/83/87 before October 2025)"), code=code)
    new = codes.to_new(code)
    if new in known:
        return known[new]
    for stock in known.values():  # an old code the shipped map lacks but the stored universe remembers
        if stock.old_code == code:
            return stock
    near = [s.label for c, s in sorted(known.items()) if c[-3:] == code[-3:]][:SUGGESTIONS]
    if near:
        raise StockInputError(N_("no BSE stock with code {code} is known; did you mean {suggestions}?"), code=code,
                              suggestions=", ".join(near))
    raise StockInputError(N_("no BSE stock with code {code} is known; try its name"), code=code)


def _by_name(known: dict[str, Stock], text: str, raw: str) -> Stock:
    key = bare(text) or text
    exact = [s for s in known.values() if normal(s.name) == text or bare(s.name) == key]
    if len(exact) == 1:
        return exact[0]
    prefix = exact or [s for s in known.values() if bare(s.name).startswith(key) or normal(s.name).startswith(text)]
    if len(prefix) == 1:
        return prefix[0]
    if prefix:
        shown = ", ".join(s.label for s in sorted(prefix, key=lambda s: s.code)[:SUGGESTIONS])
        if len(prefix) > SUGGESTIONS:
            raise StockInputError(N_("{value} matches {n} stocks: {shown} and {more} more; give more of the name or "
                                     "the code"), value=_quoted(raw), n=len(prefix), shown=shown,
                                  more=len(prefix) - SUGGESTIONS)
        raise StockInputError(N_("{value} matches {n} stocks: {shown}; give more of the name or the code"),
                              value=_quoted(raw), n=len(prefix), shown=shown)
    by_bare = {bare(s.name): s for s in known.values()}
    close = difflib.get_close_matches(key, list(by_bare), n=SUGGESTIONS, cutoff=0.5)
    close += [n for n in by_bare if key in n and n not in close][:SUGGESTIONS - len(close)]
    if close:
        raise StockInputError(N_("no BSE stock named {value} is known; did you mean {suggestions}?"),
                              value=_quoted(raw), suggestions=", ".join(by_bare[n].label for n in close))
    raise StockInputError(N_("no BSE stock named {value} is known"), value=_quoted(raw))
