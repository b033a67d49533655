"""One BSE stock from what a user typed: either code form, or the exact name, resolved against the stored universe."""

from __future__ import annotations

from sqlite_utils import Database

from sentibot import codes


def resolve_stock(db: Database, text: str) -> dict | None:
    """'831526', '920526', 'BJ920526' or an exact stored name -> {code, name, old_code}, or None when unknown.

    The code is the one history is stored under (920xxx when known); an old code resolves through the shipped map
    or the universe's old_code column.
    """
    if not db["universe"].exists():
        return None
    stored_old = {r["old_code"]: r["code"] for r in db.query(
        "select code, old_code from universe where old_code is not null")}
    code = codes.parse_input(text, stored_old)
    query = ("select code, name, old_code from universe where code = ? order by listed desc" if code else
             "select code, name, old_code from universe where name = ? order by listed desc")
    row = next(db.query(query, [code or text.strip()]), None)
    if row is None and code and codes.is_bse_code(code):
        return {"code": code, "name": codes.code_map().names.get(code), "old_code": codes.old_code(code)}
    return row
