"""The BSE stocks a notice names, by code (old 43/83/87xxxx or 920xxx) or by name, as 920xxx codes."""

from __future__ import annotations

from sentibot.codes import canonical


def stocks_named(title: str, text: str = "", known: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Codes of the stocks a notice names, first-named first, each under its 920xxx code when the map knows it.

    `known` are codes the source itself attaches (a disclosure's companyCd); they come first. Names are matched
    with the company dictionary (sentibot.text.tokenizer.mentions), codes through sentibot.codes.
    """
    from sentibot.text.tokenizer import mentions  # loads jieba and the dictionaries: only when a notice is stored

    found = mentions(f"{title}\n{text}" if text else title).stocks
    return tuple(dict.fromkeys(canonical(code) for code in (*known, *found)))
