"""Market collector: Eastmoney kline daily bars (BSE 50 index and tracked BSE stocks), the BSE universe and turnover."""

from __future__ import annotations

from datetime import date, time, timedelta

from sentibot.store import db as store
from sentibot.models import BSE50_CODE, Bar, Observation, Outcome
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.http import FetchError, Verdict, classify_json
from sentibot.collect.probe import ProbeLine, Recorder, ask
from sentibot.collect.universe import fetch_universe, store_universe, tracked_codes, universe

__all__ = ["collect", "parse_kline", "probe", "universe"]

SOURCE = "market"
EXCHANGE = "北交所"
KLINE_PATH = "/api/qt/stock/kline/get"
FIELDS2 = "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61"
FIRST_DAY = "19900101"  # no cursor and no --since: the whole history in one request
STOCKS_AFTER = time(15, 30)  # stock bars are fetched once a day, after the close; the index every cycle


def kline_params(code: str, beg: str, end: str = "20500101") -> dict:
    # BSE stocks and the BSE 50 are all market 0 (secid 0.899050); fqt=0: unadjusted prices
    return {"secid": f"0.{code}", "klt": 101, "fqt": 0, "beg": beg, "end": end,
            "fields1": "f1,f2,f3,f4,f5,f6", "fields2": FIELDS2}


def _float(raw: str) -> float | None:
    return float(raw) if raw not in ("", "-") else None


def parse_kline(text: str, code: str) -> tuple[Verdict, list[Bar]]:
    """A kline response (JSON or JSONP) -> bars; data null, dktotal 0, non-JSON or a bad row are never 'no bars'."""
    verdict = classify_json(text)
    if not verdict.usable:
        return verdict, []
    data = verdict.payload["data"]
    klines = data.get("klines") if isinstance(data, dict) else None
    if not isinstance(klines, list):
        return Verdict(Outcome.FAILED, "data.klines is missing"), []
    if not klines:
        if not data.get("dktotal"):
            return Verdict(Outcome.BLOCKED, "dktotal 0 with empty klines"), []
        return Verdict(Outcome.EMPTY, "no bars in the requested range"), []
    bars = []
    for number, row in enumerate(klines, 1):
        fields = str(row).split(",")
        try:
            if len(fields) < 7:
                raise ValueError(f"{len(fields)} fields, expected 8 or 11")
            day = date.fromisoformat(fields[0]).isoformat()
            bars.append(Bar(code=code, date=day, open=_float(fields[1]), close=float(fields[2]),
                            high=_float(fields[3]), low=_float(fields[4]), volume=_float(fields[5]),
                            amount=float(fields[6]),
                            turnover_rate=_float(fields[10]) if len(fields) >= 11 else None))
        except ValueError as exc:
            return Verdict(Outcome.FAILED, f"kline row {number} {str(row)[:60]!r}: {exc}"), []
    return Verdict(Outcome.OK, f"{len(bars)} bars"), bars


def backfill_units(db, settings) -> int:
    """The index plus the tracked stocks (as stored before this run's list refresh)."""
    scope = "bars" if settings.market_scope == "index" else settings.market_scope
    return 1 + len(tracked_codes(db, scope))


class _Run:
    def __init__(self, ctx: CollectContext, since: date | None):
        self.ctx, self.since = ctx, since
        self.stamp = ctx.now.isoformat(timespec="seconds")
        self.today = ctx.now.date().isoformat()
        self.bars = 0

    async def bars_of(self, code: str) -> str | None:
        """Fetch and store one code's daily bars from its cursor (or --since) on; returns its latest date."""
        ctx = self.ctx
        cursor = store.get_cursor(ctx.db, SOURCE, f"bars:{code}")
        since = self.since.isoformat() if self.since else None
        if since and (store.get_cursor(ctx.db, SOURCE, f"backfill:{code}") or "9999") <= since:
            return cursor  # an interrupted backfill resumes with the codes not done yet
        beg = since or cursor or FIRST_DAY
        url = f"{ctx.settings.eastmoney_url}{KLINE_PATH}"
        text = await ctx.client.get_text(url, params=kline_params(code, beg.replace("-", "")))
        verdict, bars = parse_kline(text, code)
        verdict.raise_unusable(f"{url} secid 0.{code}")
        if bars:
            store.upsert_bars(ctx.db, bars, self.stamp)
            self.bars += len(bars)
            # The last day is fetched again next time: today's bar keeps changing until the close.
            cursor = max(max(b.date for b in bars), cursor or "")
            store.set_cursor(ctx.db, SOURCE, f"bars:{code}", cursor, self.stamp)
        if since:
            store.set_cursor(ctx.db, SOURCE, f"backfill:{code}", since, self.stamp)
        if ctx.progress:
            ctx.progress(1)
        return cursor

    async def run(self) -> str:
        ctx = self.ctx
        latest = await self.bars_of(BSE50_CODE)  # first: the index series matters most if the list is blocked
        stocks = await fetch_universe(ctx.client, ctx.settings.eastmoney_list_url)
        store_universe(ctx.db, stocks, self.stamp)
        notes = [f"{len(stocks)} BSE stocks listed"]
        if latest == self.today:  # the index has a bar today, so today is a trading day
            amounts = [s["amount"] for s in stocks if s["amount"] is not None]
            store.upsert_observations(ctx.db, [Observation(SOURCE, EXCHANGE, "amount", self.today, sum(amounts))],
                                      self.stamp)
            notes.append(f"exchange turnover {sum(amounts) / 1e8:.2f} 亿元 over {len(amounts)} stocks")
        scope = "bars" if ctx.settings.market_scope == "index" else ctx.settings.market_scope
        after_close = ctx.now.time() >= STOCKS_AFTER
        codes = tracked_codes(ctx.db, scope)
        fetched = 0
        for code in codes:
            # Once per trading day after the close (a suspended stock has no new bar: the check date says done).
            done = (store.get_cursor(ctx.db, SOURCE, f"checked:{code}") or "") >= (latest or "")
            if self.since or (after_close and not done):
                await self.bars_of(code)
                store.set_cursor(ctx.db, SOURCE, f"checked:{code}", latest or self.today, self.stamp)
                fetched += 1
        notes.append(f"{fetched}/{len(codes)} stocks' bars fetched")
        return ", ".join(notes)


async def collect(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """One market cycle: BSE 50 bars, the BSE stock list and turnover, then tracked stocks' bars after the close."""
    job = _Run(ctx, since)
    try:
        detail = await job.run()
    except FetchError as exc:  # what was stored before the block stays: each piece came from a usable response
        return CollectResult(SOURCE, exc.outcome, job.bars, str(exc))
    return CollectResult(SOURCE, Outcome.OK if job.bars else Outcome.EMPTY, job.bars, f"{job.bars} bars; {detail}")



async def probe(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """`sentibot probe market`: the BSE 50's daily bars of the last two weeks, through the session step."""
    def parse(text: str) -> tuple[Verdict, str]:
        verdict, bars = parse_kline(text, BSE50_CODE)
        fields = len(str(classify_json(text).payload["data"]["klines"][0]).split(",")) if bars else 0
        return verdict, f"{len(bars)} bars in data.klines" + (f" ({fields} fields)" if fields else "")

    beg = (ctx.now.date() - timedelta(days=14)).strftime("%Y%m%d")
    url = f"{ctx.settings.eastmoney_url}{KLINE_PATH}"
    return [await ask(ctx, recorder, SOURCE, f"kline {BSE50_CODE}", "GET", url, parse,
                      params=kline_params(BSE50_CODE, beg))]
