"""Eastmoney popularity rank (东方财富股吧人气榜) of BSE stocks: a no-login attention series."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from datetime import date

from sentibot import codes as bse_codes
from sentibot.store import db as store
from sentibot.errors import InputError
from sentibot.models import Observation, Outcome
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.http import FetchError, Verdict, classify_json, safe_url
from sentibot.collect.probe import ProbeLine, Recorder, ask
from sentibot.collect.universe import universe

log = logging.getLogger(__name__)

SOURCE = "em_rank"
MARKET_SUBJECT = "北交所"
HIS_PATH = "/stockrank/getHisList"
# The fixed ids Eastmoney's rank page sends, and yearType as akshare's stock_hot_rank_detail_em sends it (2025-07).
BODY = {"appId": "appId01", "globalId": "786e4c21-70dc-435a-93bb-38", "marketType": "", "yearType": "5"}
# SOURCES.md §1: akshare's documented BSE example is SZ871245, another client uses BJ920895; which one answers is
# an open question, so both are tried and the one that answers is remembered per code.
PREFIXES = ("BJ", "SZ")
_CODE = re.compile(r"^(?:BJ|SZ)?(\d{6})$", re.IGNORECASE)
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def stock_code(code: str) -> str:
    """'831526', 'BJ920526' or 'sz920526' -> the stored (920xxx when known) six-digit code; InputError otherwise."""
    match = _CODE.match(code.strip())
    if not match:
        raise InputError(f"SENTIBOT_EM_RANK_CODES: {code!r} is not a 6-digit BSE stock code")
    return bse_codes.canonical(match.group(1))


def rank_codes(ctx: CollectContext) -> list[str]:
    """SENTIBOT_EM_RANK_CODES when set, else the largest SENTIBOT_EM_RANK_TOP stocks of the stored universe."""
    if ctx.settings.em_rank_codes:
        return list(dict.fromkeys(stock_code(c) for c in ctx.settings.em_rank_codes))
    return [r["code"] for r in universe(ctx.db)][:ctx.settings.em_rank_top]


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


async def ranks_of(ctx: CollectContext, code: str) -> tuple[str, list[Observation]]:
    """One stock's rank history under the prefix that answers (the remembered one first) -> (prefix, ranks).

    InputError when no prefix has data or the answer is malformed; FetchError when Eastmoney refuses (a block).
    """
    url = f"{ctx.settings.em_rank_url}{HIS_PATH}"
    where = safe_url(url)
    known = store.get_cursor(ctx.db, SOURCE, f"prefix:{code}")
    order = [known] if known in PREFIXES else []
    order += [p for p in PREFIXES if p not in order]
    for prefix in order:
        text = (await ctx.client.post(url, json=dict(BODY, srcSecurityCode=prefix + code))).text
        verdict = classify_json(text, data_key=None)
        if verdict.outcome is Outcome.FAILED and text.lstrip()[:1] in ("<", ""):
            # the API answers JSON or nothing: a page (challenge, empty shell) in its place is a refusal
            verdict = Verdict(Outcome.BLOCKED, f"a {len(text)}-character page where JSON was expected")
        verdict.raise_unusable(where)
        if verdict.payload.get("data") is None:
            continue  # nothing under this prefix: the other one may answer
        return prefix, parse_rank_history(verdict.payload, code, where)
    raise InputError(f"{code}: data: null under {' and '.join(order)} (not ranked, or an unknown code)")


async def collect(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """Rank history of each stock (the API returns its whole recent window); a failed stock is skipped and named."""
    try:
        codes = rank_codes(ctx)
    except InputError as exc:
        return CollectResult(SOURCE, Outcome.FAILED, 0, str(exc))
    if not codes:
        return CollectResult(SOURCE, Outcome.EMPTY, 0, "no stocks to rank: the universe is not stored yet "
                                                          "(collect market first) and SENTIBOT_EM_RANK_CODES is empty")
    stamp = ctx.now.isoformat(timespec="seconds")
    ranks: list[Observation] = []
    failed: list[str] = []
    prefixes: dict[str, str] = {}
    for code in codes:
        try:
            prefix, rows = await ranks_of(ctx, code)
        except FetchError as exc:
            if exc.outcome is Outcome.BLOCKED:
                raise  # a refusal stops the source before anything is stored; collect_one records the block
            log.warning("%s: %s %s (skipped)", SOURCE, code, exc)
            failed.append(f"{code}: {exc}")
            continue
        except InputError as exc:
            log.warning("%s: %s (skipped)", SOURCE, exc)
            failed.append(str(exc))
            continue
        prefixes[code] = prefix
        ranks += rows
    if since:
        ranks = [o for o in ranks if o.ts >= since.isoformat()]
    stored = store.upsert_observations(ctx.db, ranks + market_series(ranks), stamp)
    for code, prefix in prefixes.items():  # written after the loop: a block on a later code writes nothing
        store.set_cursor(ctx.db, SOURCE, f"prefix:{code}", prefix, stamp)
    days = sorted({o.ts for o in ranks})
    span = f", {days[0]}..{days[-1]}" if days else ""
    ranked = len(codes) - len(failed)
    detail = f"{len(ranks)} daily ranks of {ranked}/{len(codes)} stock(s){span}"
    if failed:
        detail += f"; skipped {len(failed)}: {'; '.join(failed[:3])}" + (" ..." if len(failed) > 3 else "")
    if not ranked:
        return CollectResult(SOURCE, Outcome.FAILED, 0, detail)
    return CollectResult(SOURCE, Outcome.OK if stored else Outcome.EMPTY, stored, detail)


async def probe(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """`sentibot probe em_rank`: one stock's history under each prefix (settles SOURCES.md §7 question 2)."""
    codes = rank_codes(ctx) or ["920819"]  # 颖泰生物, a large BSE stock, when no universe is stored yet
    url = f"{ctx.settings.em_rank_url}{HIS_PATH}"
    lines = []
    for prefix in PREFIXES:
        def parse(text: str, prefix: str = prefix) -> tuple[Verdict, str]:
            verdict = classify_json(text, data_key=None)
            if not verdict.usable:
                return verdict, ""
            data = verdict.payload.get("data")
            if data is None:
                return Verdict(Outcome.FAILED, f"data: null (nothing under {prefix})"), ""
            try:
                rows = parse_rank_history(verdict.payload, codes[0], "getHisList")
            except InputError as exc:
                return Verdict(Outcome.FAILED, str(exc)), ""
            return verdict, f"{len(rows)} rows of calcTime, rank in data"

        lines.append(await ask(ctx, recorder, SOURCE, f"getHisList {prefix}{codes[0]}", "POST", url, parse,
                               json=dict(BODY, srcSecurityCode=prefix + codes[0])))
    return _one_prefix_suffices(lines)


def _one_prefix_suffices(lines: list[ProbeLine]) -> list[ProbeLine]:
    """The probe passes when either prefix answers: the other one's data: null is then an answer, not a failure."""
    from dataclasses import replace

    from sentibot.collect.probe import ProbeStatus

    if any(line.ok for line in lines):
        return [line if line.ok or "data: null" not in line.detail
                else replace(line, status=ProbeStatus.OK, detail=line.detail + " (the other prefix answers)")
                for line in lines]
    return lines
