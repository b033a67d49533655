"""The BSE stock list (code, name, old code) from Eastmoney's clist endpoint, stored in the universe table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database

from sentibot import codes
from sentibot.models import Outcome
from sentibot.collect.http import PoliteClient, Verdict, classify_json, safe_url
from sentibot.collect.probe import ProbeLine, Recorder, ask

if TYPE_CHECKING:
    from sentibot.collect.cycle import CollectContext

CLIST_PATH = "/api/qt/clist/get"
BSE_A_SHARES = "m:0 t:81 s:2048"  # Eastmoney's filter for BSE A-shares, with spaces as akshare sends it
PAGE_SIZE = 100  # the endpoint serves at most 100 rows per page
BSE50_SIZE = 50


def clist_params(page: int) -> dict:
    # f12 code, f14 name, f20 total market value (yuan), f6 turnover today (yuan); sorted by code (fid=f12,
    # efinance): sorting by a moving value such as f20 lets rows shift between pages while we page
    return {"pn": page, "pz": PAGE_SIZE, "po": 0, "np": 1, "fltt": 2, "invt": 2, "fid": "f12",
            "fs": BSE_A_SHARES, "fields": "f12,f14,f20,f6"}


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None  # "-" marks a suspended stock


def parse_clist(text: str) -> tuple[Verdict, list[dict], int]:
    """A clist page -> (verdict, rows of code/name/market_cap/amount, total); empty diff is a block, not 'no stocks'."""
    verdict = classify_json(text)
    if not verdict.usable:
        return verdict, [], 0
    data = verdict.payload["data"]
    diff = data.get("diff")
    if isinstance(diff, dict):  # np=0 serves {"0": {...}, "1": {...}}
        diff = list(diff.values())
    if not isinstance(diff, list) or not diff or not data.get("total"):
        return Verdict(Outcome.BLOCKED, f"stock list without rows (total={data.get('total')})"), [], 0
    rows = []
    for item in diff:
        code, name = str(item.get("f12") or ""), str(item.get("f14") or "").strip()
        if not (code.isascii() and code.isdigit()) or not name:  # isdigit alone accepts ² and ①
            return Verdict(Outcome.FAILED, f"stock list row without code or name: {item!r:.80}"), [], 0
        rows.append({"code": code, "name": name, "market_cap": _number(item.get("f20")),
                     "amount": _number(item.get("f6"))})
    return Verdict(Outcome.OK, f"{len(rows)} stocks"), rows, int(data["total"])


MAX_PAGES = 20  # 2,000 stocks: the BSE lists about 300; a site that never stops paging is not followed forever


async def fetch_universe(client: PoliteClient, base_url: str) -> list[dict]:
    """Every BSE A-share, page by page, deduped on code; FetchError when any page is blocked or malformed."""
    rows: dict[str, dict] = {}
    url = f"{base_url}{CLIST_PATH}"
    for page in range(1, MAX_PAGES + 1):
        verdict, page_rows, total = parse_clist(await client.get_text(url, params=clist_params(page)))
        verdict.raise_unusable(f"{safe_url(url)} page {page}")
        for row in page_rows:  # a row repeated across pages (the list moved while we paged) counts once
            rows.setdefault(row["code"], row)
        if len(page_rows) < PAGE_SIZE or len(rows) >= total:
            break
    return list(rows.values())


def store_universe(db: Database, rows: list[dict], now: str) -> int:
    """Replace the stored list under 920xxx codes, each with its old code (shipped map, else the same name listed
    before under an old code); an old code the site still serves is stored under its new one."""
    rows = [dict(r, code=codes.canonical(r["code"])) for r in rows]
    rows = list({r["code"]: r for r in rows}.values())  # an old and a new row of one stock: one stock
    with db.atomic():
        known = {r["code"]: r for r in db.query("select * from universe")}
        by_name = {r["name"]: r for r in known.values() if r["listed"]}
        listed = {r["code"] for r in rows}
        for row in rows:
            previous = known.get(row["code"])
            old_code = (previous["old_code"] if previous else None) or codes.old_code(row["code"])
            renamed = by_name.get(row["name"])
            if not old_code and not previous and renamed and renamed["code"] not in listed:
                old_code = renamed["code"]
            db.table("universe").upsert({"code": row["code"], "name": row["name"], "old_code": old_code,
                                   "market_cap": row["market_cap"], "listed": 1, "updated_at": now}, pk="code")
        gone = [code for code, r in known.items() if r["listed"] and code not in listed]
        for code in gone:
            db.table("universe").update(code, {"listed": 0, "updated_at": now})
    return len(rows)


def universe(db: Database, listed_only: bool = True) -> list[dict]:
    """The stored BSE stocks, largest first: dicts with code, name, old_code, market_cap, listed."""
    where = "where listed = 1" if listed_only else ""
    return list(db.query(f"select code, name, old_code, market_cap, listed from universe {where} "
                         "order by market_cap is null, market_cap desc, code"))


def tracked_codes(db: Database, scope: str) -> list[str]:
    """Stocks followed beyond the configured bars: none, the 50 largest (the BSE 50 stand-in) or all."""
    if scope == "bars":
        return []
    listed = [r["code"] for r in universe(db)]
    return listed[:BSE50_SIZE] if scope == "bse50" else listed



async def probe(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """`sentibot probe universe`: the first page of the BSE stock list."""
    def parse(text: str) -> tuple[Verdict, str]:
        verdict, rows, total = parse_clist(text)
        return verdict, f"{len(rows)} of {total} stocks in data.diff (f12, f14, f20, f6)"

    url = f"{ctx.settings.eastmoney_list_url}{CLIST_PATH}"
    return [await ask(ctx, recorder, "universe", "clist page 1", "GET", url, parse, params=clist_params(1))]
