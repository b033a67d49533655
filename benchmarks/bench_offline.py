"""`sentibot collect` with no network: how long until every source has reported its failure.

Run: python -m benchmarks.bench_offline [SCALE]
A transport stands in for a network that drops every packet: each connection attempt waits out its connect timeout
(times SCALE, default 1), then fails with ConnectTimeout. Figure: seconds for one cycle of guba, market, em_rank and
notices on an empty store with the default settings. Anchor (same run): the same cycle under the connect policy of
before (connect timeout = SENTIBOT_HTTP_TIMEOUT_S, every failed connect retried SENTIBOT_HTTP_RETRIES times).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from sentibot.collect import http
from sentibot.collect.cycle import collect_cycle
from sentibot.config import load_settings
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI

SOURCES = ["guba", "market", "em_rank", "notices"]
QUICK_ARGV = ["0.2"]


class Blackhole(httpx.AsyncBaseTransport):
    def __init__(self, scale: float):
        self.scale = scale

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(request.extensions["timeout"]["connect"] * self.scale)
        raise httpx.ConnectTimeout("timed out", request=request)


def cycle_seconds(scale: float) -> float:
    settings = load_settings({}, None)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_store(Path(tmp) / "s.db")
        start = time.perf_counter()
        asyncio.run(collect_cycle(SOURCES, settings, db, datetime(2026, 12, 1, 10, 30, tzinfo=SHANGHAI),
                                  transport=Blackhole(scale)))
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> list[dict]:
    args = sys.argv[1:] if argv is None else argv
    scale = float(args[0]) if args else 1.0
    now = cycle_seconds(scale)
    saved = http.CONNECT_TIMEOUT_S, http.CONNECT_RETRIES, http.CONNECT_TIMEOUT_RETRIES
    http.CONNECT_TIMEOUT_S = load_settings({}, None).http_timeout_s
    http.CONNECT_RETRIES = http.CONNECT_TIMEOUT_RETRIES = 99  # capped by SENTIBOT_HTTP_RETRIES, as before
    try:
        before = cycle_seconds(scale)
    finally:
        http.CONNECT_TIMEOUT_S, http.CONNECT_RETRIES, http.CONNECT_TIMEOUT_RETRIES = saved
    row = {"figure": "offline_cycle_s", "value": round(now, 1), "unit": "s", "anchor": "old connect policy s",
           "anchor_value": round(before, 1), "ratio": round(now / before, 3),
           "goal": f"<= {20 * scale:g} s (every source's failure within 20 s, times SCALE)"}
    print(f"offline cycle (scale {scale:g}): {now:.1f} s; old connect policy {before:.1f} s "
          f"(ratio {row['ratio']}); goal {row['goal']}")
    return [row]


if __name__ == "__main__":
    main()
