"""Build sentibot/data/demo/stocks.csv: RECONSTRUCTED daily bars of 232 synthetic BSE stocks for the demo's limit board.

Per-stock bars of the real Nov 2023 are not available to this project. This script draws them (seeded, deterministic)
around the demo's own BSE 50 series (sentibot/data/demo/market.csv, itself reconstructed) and fixes only what was
reported: 232 listed companies (28 Nov 2023, ../shared/data/bse50_reported_figures_2022-2023.csv) and the number of
stocks closing at the +30% limit from 20 to 27 Nov 2023 (3 -> 7 -> 16 -> 22 -> 30, issue 17's reported counts; 24 Nov
carries no reported count and is drawn between its neighbours). Codes 990001..990232 belong to no real company.
Every row says origin=reconstructed. Run: python scripts/build_demo_stocks.py [--out sentibot/data/demo]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sentibot" / "data" / "demo"
SEED = 20231120
STOCKS = 232  # listed BSE companies on 28 Nov 2023 (reported)
FIRST_DAY = "2023-10-09"  # the limit board needs only the previous close; a short span keeps the file small
# stocks closing at +30%: reported for 20, 21, 22, 23 and 27 Nov; 24 Nov (no report) drawn between 22 and 30
LIMIT_UP = {"2023-11-20": 3, "2023-11-21": 7, "2023-11-22": 16, "2023-11-23": 22, "2023-11-24": 19,
            "2023-11-27": 30}
ANCHORED = ("2023-11-20", "2023-11-21", "2023-11-22", "2023-11-23", "2023-11-27")
BROKEN = {"2023-11-20": 2, "2023-11-21": 4, "2023-11-22": 7, "2023-11-23": 9, "2023-11-24": 11, "2023-11-27": 12}
CARRY = 0.45  # share of a day's limit-up stocks that were at the limit the day before (builds 连板 runs)
MAX_MOVE = 0.25  # outside the listed days no stock gets near the ±30% limit


def limit_price(previous: float, up: bool = True) -> float:
    """The exchange's limit price: previous close × 1.3 (0.7), rounded half-up to the cent."""
    return float(np.floor(previous * (1.3 if up else 0.7) * 100 + 0.5 + 1e-9) / 100)


def index_series(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["date"] >= FIRST_DAY]
    return ([r["date"] for r in rows], np.array([float(r["close"]) for r in rows]),
            np.array([float(r["amount"]) for r in rows]))


def build(market: Path) -> list[dict]:
    rng = np.random.default_rng(SEED)
    days, closes, amounts = index_series(market)
    index_ret = np.concatenate([[0.0], closes[1:] / closes[:-1] - 1])
    beta = rng.uniform(0.6, 1.5, STOCKS)
    weight = rng.lognormal(0, 0.8, STOCKS)
    weight /= weight.sum()
    price = np.round(rng.lognormal(np.log(14), 0.5, STOCKS), 2)
    rows, previous_up = [], np.array([], dtype=int)
    for t, day in enumerate(days):
        ret = np.clip(beta * index_ret[t] + rng.normal(0, 0.022, STOCKS), -MAX_MOVE, MAX_MOVE)
        close = np.maximum(np.round(price * (1 + ret), 2), 0.01)
        limit_up = np.array([limit_price(p) for p in price])
        high = np.minimum(np.maximum(close, price) * (1 + rng.uniform(0, 0.03, STOCKS)), limit_up - 0.02)
        up_set = np.array([], dtype=int)
        if day in LIMIT_UP:
            k = LIMIT_UP[day]
            carried = previous_up[rng.permutation(len(previous_up))][: int(round(k * CARRY))]
            others = rng.permutation(np.setdiff1d(np.arange(STOCKS), carried))
            up_set = np.concatenate([carried, others[: k - len(carried)]]).astype(int)
            close[up_set] = limit_up[up_set]
            high[up_set] = limit_up[up_set]
            broken = others[k - len(carried): k - len(carried) + BROKEN[day]]
            high[broken] = limit_up[broken]
            close[broken] = np.round(limit_up[broken] * rng.uniform(0.90, 0.97, len(broken)), 2)
        high = np.round(np.maximum(high, close), 2)
        stock_amount = amounts[t] * weight * rng.lognormal(0, 0.3, STOCKS)
        for i in range(STOCKS):
            rows.append({"date": day, "code": f"{990001 + i}", "high": f"{high[i]:.2f}", "close": f"{close[i]:.2f}",
                         "amount": f"{stock_amount[i]:.0f}", "origin": "reconstructed"})
        price, previous_up = close, up_set
    return rows


def write(rows: list[dict], out: Path) -> None:
    with (out / "stocks.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEMO)
    args = parser.parse_args(argv)
    rows = build(args.out / "market.csv")
    write(rows, args.out)
    print(f"wrote {len(rows)} reconstructed stock bars to {args.out / 'stocks.csv'}")


if __name__ == "__main__":
    main()
