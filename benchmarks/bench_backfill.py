"""Day-one backfill from loopback sources: 300 stocks x 1 year of daily bars (plus the BSE 50), then the first score.

Run: python -m benchmarks.bench_backfill [--stocks 300] [--days 250] [--polite-stocks 10]

The local Eastmoney (tests/support/market_site.py) answers kline and clist requests; every other source points at a
closed port and fails at once. Figures:
- the whole backfill (sentibot.run.backfill.run: fetch, parse, store, rescore) with SENTIBOT_MIN_INTERVAL_S=0, and
  where its time goes (HTTP round trips, kline parsing, SQLite writes, the first rescore), from cProfile;
- the same at the default politeness (2 s between requests to one host) on --polite-stocks stocks, and the
  production estimate for all stocks: requests x interval, since one host's interval, not the CPU, bounds it.
Anchor (same run): one loopback kline round trip with its parse (ms), times the requests made.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sentibot.collect.http import PoliteClient  # noqa: E402
from sentibot.collect.market import parse_kline  # noqa: E402
from sentibot.config import load_settings  # noqa: E402
from sentibot.run import backfill  # noqa: E402
from sentibot.run.jobs import Runtime  # noqa: E402
from sentibot.store.db import open_store  # noqa: E402
from sentibot.timeutil import SHANGHAI  # noqa: E402
from tests.support.market_site import MarketSite  # noqa: E402

NOW = datetime(2026, 11, 30, 16, 0, tzinfo=SHANGHAI)
DEAD = "http://127.0.0.1:9"
QUICK_ARGV = ["--stocks", "60", "--days", "250", "--polite-stocks", "3"]
PARTS = {"HTTP (get_text)": "get_text", "kline parse": "parse_kline", "SQLite writes": "upsert_bars",
         "first rescore": "rescore_now"}


def settings_for(url: str, db: Path, interval: float):
    return load_settings({"SENTIBOT_DB": str(db), "SENTIBOT_EASTMONEY_URL": url, "SENTIBOT_EASTMONEY_LIST_URL": url,
                          "SENTIBOT_EASTMONEY_SESSION_URL": url, "SENTIBOT_GUBA_URL": DEAD, "SENTIBOT_BSE_URL": DEAD,
                          "SENTIBOT_CSRC_URL": DEAD, "SENTIBOT_GUBA_API_URL": DEAD,
                          "SENTIBOT_BAIDU_INDEX_URL": DEAD, "SENTIBOT_WECHAT_INDEX_URL": DEAD,
                          "SENTIBOT_MARKET_SCOPE": "all", "SENTIBOT_MIN_INTERVAL_S": str(interval),
                          "SENTIBOT_HTTP_RETRIES": "0", "SENTIBOT_EM_RANK_URL": DEAD}, env_file=None)


def run_once(site: MarketSite, interval: float, profile: cProfile.Profile | None = None) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(site.url, Path(tmp) / "b.db", interval)

        async def scenario():
            async with PoliteClient.from_settings(settings) as client:
                db = open_store(settings.db)
                rt = Runtime(settings=settings, db=db, client=client, clock=lambda: NOW)
                await backfill.run(rt)
                scores = next(db.query("select count(*) as n from scores"))["n"]
                db.close()
                return scores

        hits_before = sum(site.site.hits.values())
        start = time.perf_counter()
        if profile:
            profile.enable()
        scores = asyncio.run(scenario())
        if profile:
            profile.disable()
        elapsed = time.perf_counter() - start
        if not scores:
            raise SystemExit("bench_backfill: the backfill produced no score")
        return elapsed, sum(site.site.hits.values()) - hits_before


def round_trip(site: MarketSite, repeats: int = 30) -> float:
    """Median of one kline request + parse over loopback (the anchor)."""
    async def one() -> list[float]:
        async with PoliteClient.from_settings(settings_for(site.url, Path("unused.db"), 0)) as client:
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                text = await client.get_text(f"{site.url}/api/qt/stock/kline/get",
                                             params={"secid": "0.899050", "beg": "19900101"})
                parse_kline(text, "899050")
                runs.append(time.perf_counter() - start)
            return sorted(runs)

    return asyncio.run(one())[repeats // 2]


def breakdown(profile: cProfile.Profile) -> dict[str, float]:
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out = {}
    for label, name in PARTS.items():
        out[label] = sum(v[3] for (_, _, func), v in stats.items() if func == name)
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stocks", type=int, default=300)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--polite-stocks", type=int, default=10)
    args = parser.parse_args(argv)
    rows = []
    with MarketSite(NOW.date(), days=args.days, stocks=args.stocks) as site:
        anchor = round_trip(site)
        run_once(site, 0)  # warm-up: imports, jieba-free paths, SQLite
        profile = cProfile.Profile()
        fast, requests = run_once(site, 0, profile)
        parts = breakdown(profile)
        rows.append({"figure": f"backfill {args.stocks} stocks x {args.days} days, politeness off", "value": fast,
                     "unit": "s", "anchor": f"one kline round trip + parse ({anchor * 1000:.1f} ms) x {requests} "
                     "requests", "anchor_value": anchor * requests, "ratio": round(fast / (anchor * requests), 2),
                     "goal": "< 120 s"})
        print(f"anchor: one loopback kline round trip + parse {anchor * 1000:.1f} ms; {requests} requests")
        print(f"backfill, politeness off: {fast:.2f} s for {requests} requests "
              f"({fast / (anchor * requests):.2f}x the bare round trips)")
        for label, value in parts.items():
            print(f"  {label}: {value:.2f} s ({value / fast:.0%}; cProfile, so inflated)")
    default_interval = load_settings({}, env_file=None).min_interval_s
    with MarketSite(NOW.date(), days=args.days, stocks=args.polite_stocks) as small:
        polite, polite_requests = run_once(small, default_interval)
    floor = (polite_requests - 1) * default_interval  # the first request does not wait
    estimate = (requests - 1) * default_interval  # the clist is one page here; in production it has its own host
    print(f"backfill at the default politeness ({default_interval:g} s/host), {args.polite_stocks} stocks: "
          f"{polite:.1f} s for {polite_requests} requests (interval floor {floor:.0f} s: "
          f"{(polite - floor) / polite:.0%} of the time is not waiting)")
    print(f"estimate at the default politeness for {args.stocks} stocks: {estimate / 60:.1f} min "
          f"({requests - 1} kline requests x {default_interval:g} s on one host)")
    rows.append({"figure": f"backfill {args.polite_stocks} stocks at the default politeness", "value": polite,
                 "unit": "s", "anchor": "requests x interval", "anchor_value": floor,
                 "ratio": round(polite / floor, 2), "goal": "≈ 1x (the interval dominates)"})
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
