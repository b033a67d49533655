"""A loopback Eastmoney for day-one backfills: kline history of the BSE 50 and N stocks, the clist stock list and
the webreport session step (set SENTIBOT_EASTMONEY_SESSION_URL to its url too).

Built from ../shared/SOURCES.md §1 and the constructed fixtures beside it (tests/fixtures/eastmoney/
constructed_kline_bse50_8field.json, constructed_clist_bse.json: the 8-field kline rows and the clist fields the
collectors parse). Prices are a seeded walk, not recorded data; `beg` is honoured as the real endpoint does.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np

from sentibot.calendar import is_trading_day
from sentibot.collect.sessions import WEBREPORT_PATH
from tests.support.eastmoney_session import webreport_body
from tests.support.local_sites import LocalSite, text


def trading_days(end: date, n: int) -> list[date]:
    """The n trading days up to and including end, oldest first."""
    days, day = [], end
    while len(days) < n:
        if is_trading_day(day):
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


class MarketSite:
    """kline + clist answers for the index and `stocks` synthetic stocks over `days` trading days up to `end`."""

    def __init__(self, end: date, days: int, stocks: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.days = trading_days(end, days)
        self.codes = [f"{920001 + i}" for i in range(stocks)]
        walk = np.exp(np.cumsum(rng.normal(0, 0.02, (days, stocks + 1)), axis=0))
        self.close = np.round(np.vstack([1000 * walk[:, :1].T, 15 * walk[:, 1:].T]), 2)  # row 0 = the index
        self.amount = np.round(1e8 * np.exp(rng.normal(0, 0.2, (stocks + 1, days))), 2)
        self.amount[0] *= 50
        self.site = LocalSite("eastmoney")
        self.site.route("GET", "/api/qt/stock/kline/get", self.kline)
        self.site.route("GET", "/api/qt/clist/get", self.clist)
        self.site.route("POST", WEBREPORT_PATH, text(webreport_body(), "application/json"))  # the nid18 step

    def __enter__(self) -> MarketSite:
        self.site.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.site.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.site.url

    def kline(self, params: dict) -> tuple[int, str, str]:
        code = params["secid"].split(".")[1]
        row = 0 if code == "899050" else self.codes.index(code) + 1
        beg = params.get("beg", "19900101")
        lines = []
        for t, day in enumerate(self.days):
            if day.strftime("%Y%m%d") < beg:
                continue
            c = self.close[row, t]
            prev = self.close[row, t - 1] if t else c
            lines.append(f"{day},{prev:.2f},{c:.2f},{max(c, prev) * 1.01:.2f},{min(c, prev) * 0.99:.2f},"
                         f"100000,{self.amount[row, t]:.2f},2.00")
        body = {"rc": 0, "rt": 17, "data": {"code": code, "market": 0, "name": code, "decimal": 2,
                                            "dktotal": len(self.days), "klines": lines}}
        return text(json.dumps(body), "application/json")

    def clist(self, params: dict) -> tuple[int, str, str]:
        page, size = int(params.get("pn", 1)), int(params.get("pz", 100))
        rows = [{"f6": float(self.amount[i + 1, -1]), "f12": code, "f14": f"样本{code}",
                 "f20": 1e10 - i * 1e7} for i, code in enumerate(self.codes)]
        body = {"rc": 0, "data": {"total": len(rows), "diff": rows[(page - 1) * size: page * size]}}
        return text(json.dumps(body, ensure_ascii=False), "application/json")
