"""Eastmoney popularity rank (东方财富股吧人气榜) of BSE stocks: a no-login attention series."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import date

from sentibot.store import db as store
from sentibot.errors import InputError
from sentibot.models import Observation, Outcome
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.http import classify_json, safe_url

log = logging.getLogger(__name__)

SOURCE = "em_rank"
MARKET_SUBJECT = "北交所"
# The fixed ids Eastmoney's own rank page (guba.eastmoney.com/rank/) sends with every request.
BODY = {"appId": "appId01", "globalId": "786e4c21-70dc-435a-93bb-38", "marketType": ""}
_CODE = re.compile(r"^(?:BJ)?(\d{6})$", re.I)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def security_code(code: str) -> str:
    """'831526' or 'BJ831526' -> 'BJ831526' (the srcSecurityCode of a BSE stock)."""
    match = _CODE.match(code.strip())
    if not match:
        raise InputError(f"SENTIBOT_EM_RANK_CODES: {code!r} is not a 6-digit BSE stock code")
    return f"BJ{match.group(1)}"


def parse_rank_history(payload: dict, code: str, where: str) -> list[Observation]:
    """getHisList answer {"data": [{"calcTime": "YYYY-MM-DD", "rank": N}, ...]} -> daily `rank` observations."""
    rows = payload.get("data")
    if rows is None:
        raise InputError(f"{where}: data: null for {code} (an unknown code, or the API refused us)")
    if not isinstance(rows, list):
        raise InputError(f"{where}: data is a {type(rows).__name__}, expected a list")
    out = []
    for i, row in enumerate(rows):
        day = str(row.get("calcTime", "")) if isinstance(row, dict) else ""
        rank = row.get("rank") if isinstance(row, dict) else None
        if not _DAY.match(day) or not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
            raise InputError(f"{where}: data[{i}] needs calcTime YYYY-MM-DD and a rank >= 1, got {row!r:.80}")
        out.append(Observation(SOURCE, code, "rank", day[:10], float(rank)))
    return out


def market_series(ranks: list[Observation]) -> list[Observation]:
    """Per day, the mean of 1000/rank over the stocks ranked that day: higher = more attention to BSE stocks."""
    by_day: dict[str, list[float]] = defaultdict(list)
    for obs in ranks:
        by_day[obs.ts].append(1000.0 / obs.value)
    return [Observation(SOURCE, MARKET_SUBJECT, "inv_rank", day, round(sum(v) / len(v), 4))
            for day, v in sorted(by_day.items())]


async def collect(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """Rank history of every configured stock (the API returns its whole recent window), stored all or nothing."""
    url = f"{ctx.settings.em_rank_url}/stockrank/getHisList"
    where = safe_url(url)
    ranks: list[Observation] = []
    try:
        codes = [security_code(c) for c in ctx.settings.em_rank_codes]
        for code in codes:
            text = (await ctx.client.post(url, json=dict(BODY, srcSecurityCode=code))).text
            verdict = classify_json(text, data_key=None)
            verdict.raise_unusable(where)
            ranks += parse_rank_history(verdict.payload, code[2:], where)
    except InputError as exc:
        log.warning("%s: %s (nothing stored)", SOURCE, exc)
        return CollectResult(SOURCE, Outcome.FAILED, 0, f"{exc} (nothing stored)")
    if since:
        ranks = [o for o in ranks if o.ts >= since.isoformat()]
    rows = ranks + market_series(ranks)
    stored = store.upsert_observations(ctx.db, rows, ctx.now.isoformat(timespec="seconds"))
    days = sorted({o.ts for o in ranks})
    span = f", {days[0]}..{days[-1]}" if days else ""
    return CollectResult(SOURCE, Outcome.OK if stored else Outcome.EMPTY, stored,
                         f"{len(ranks)} daily ranks of {len(codes)} stock(s){span}")
