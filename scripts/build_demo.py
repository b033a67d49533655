"""Build sentibot/data/demo/: a reconstructed BSE 50 episode (2022-04-29 .. 2023-12-29) honouring the reported figures.

Reads ../shared/data/bse50_reported_figures_2022-2023.csv for the numeric anchors and their source URLs; every other
value is reconstructed (seeded, deterministic) and labelled origin=reconstructed. No source quote is copied.
Run: python scripts/build_demo.py [--shared PATH] [--out sentibot/data/demo]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FIGURES = "data/bse50_reported_figures_2022-2023.csv"
NOTICE = "samples/bse/notice_2023-11-27_trading_supervision.txt"
NOTICE_URL = "http://www.zqdb.com.cn/xinwen/2023/show-1246729.html"
START, END = date(2022, 4, 29), date(2023, 12, 29)
SEED = 20231127


def trading_days(start: date, end: date) -> list[date]:
    """Weekdays that are not Chinese public holidays (make-up Saturdays are not trading days)."""
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and chinese_calendar.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def read_figures(path: Path) -> dict[tuple[str, str], dict]:
    with path.open(encoding="utf-8") as fh:
        return {(r["date"], r["metric"]): r for r in csv.DictReader(fh)}


def num(fig: dict, key: tuple[str, str]) -> float:
    return float(fig[key]["value"].lstrip("~>"))


def note_number(fig: dict, key: tuple[str, str], marker: str) -> float:
    """A percentage stated in a row's note (e.g. 'YTD +12%'); refuses to guess if the note changed."""
    note = fig[key]["source_quote_or_note"]
    if marker not in note:
        sys.exit(f"build_demo: {key} note no longer mentions {marker!r}; update the anchors")
    return float(marker.strip("+% ").split()[-1].rstrip("%"))


def close_anchors(fig) -> dict[date, float]:
    """Closes fixed by the reported figures (derived ones chosen inside their stated rounding)."""
    d = date.fromisoformat
    c = {d("2022-04-29"): num(fig, ("2022-04-29", "bse50_base_level"))}
    for day in ("2022-06-28", "2022-10-28", "2022-11-18", "2023-11-28"):
        c[d(day)] = num(fig, (day, "bse50_close"))
    fall = 0.042  # 28 Nov: -4.2%; 27 Nov close chosen so that the morning low 1,045 is the reported -5.2%
    c[d("2023-11-27")] = 1102.0
    assert abs((c[d("2023-11-28")] / c[d("2023-11-27")] - 1) + fall) < 0.0005
    c[d("2023-11-24")] = c[d("2023-11-27")] / (1 + num(fig, ("2023-11-27", "bse50_pct_change")) / 100)
    c[d("2023-11-23")] = c[d("2023-11-24")] / 1.012
    c[d("2023-11-22")] = c[d("2023-11-23")] / 1.035
    c[d("2023-11-21")] = c[d("2023-11-22")] / (1 + num(fig, ("2023-11-22", "bse50_pct_change")) / 100)
    c[d("2023-11-20")] = c[d("2023-11-21")] / (1 + num(fig, ("2023-11-21", "bse50_pct_change")) / 100)
    c[d("2023-10-23")] = num(fig, ("2023-10-23", "bse50_close_DERIVED"))  # 56% below the 27 Nov close
    since_oct24 = note_number(fig, ("2023-11-24", "bse_half_day_turnover"), "37.36%")
    c[d("2023-10-24")] = c[d("2023-11-24")] / (1 + since_oct24 / 100)
    ytd = note_number(fig, ("2023-11-28", "bse50_1m_change"), "YTD +12%")
    c[d("2022-12-30")] = c[d("2023-11-28")] / (1 + ytd / 100)
    c[d("2023-11-29")], c[d("2023-11-30")] = 1021.0, 1004.0
    c[d("2023-10-31")] = c[d("2023-11-30")] / (1 + num(fig, ("2023-11", "bse50_month_change")) / 100)
    c[d("2023-10-27")], c[d("2023-10-30")] = 745.0, 755.0  # both > 39% below the 28 Nov close (Wind: 1m +39%)
    return c


# Shape points of the reconstruction (not reported figures): where the path goes between anchors.
CLOSE_SHAPE = {"2022-08-31": 1080.0, "2023-02-20": 1010.0, "2023-05-31": 920.0, "2023-08-31": 790.0,
               "2023-09-28": 765.0, "2023-11-10": 805.0, "2023-11-17": 818.0, "2023-12-15": 960.0,
               "2023-12-29": 935.0}
TURNOVER_SHAPE = {"2022-04-29": 1.0e9, "2022-08-31": 1.3e9, "2022-11-21": 2.0e9, "2022-12-30": 1.3e9,
                  "2023-02-20": 2.2e9, "2023-06-30": 1.5e9, "2023-09-01": 1.4e9, "2023-10-23": 1.1e9,
                  "2023-10-27": 1.5e9, "2023-10-31": 1.8e9, "2023-11-10": 2.7e9, "2023-11-17": 4.3e9,
                  "2023-11-20": 6.2e9, "2023-11-22": 12.9e9, "2023-11-28": 26.0e9, "2023-11-29": 17.5e9,
                  "2023-11-30": 13.0e9, "2023-12-08": 9.0e9, "2023-12-29": 5.5e9}


def bridge(days: list[date], points: dict[date, float], vol: float, rng, noisy: bool = True) -> np.ndarray:
    """A log-space Brownian bridge through every point (exact at the points)."""
    pos = {day: i for i, day in enumerate(days)}
    keys = sorted(points)
    out = np.empty(len(days))
    for a, b in zip(keys, keys[1:]):
        i, j = pos[a], pos[b]
        n = j - i
        walk = np.concatenate([[0.0], np.cumsum(rng.normal(0, vol, n))]) if noisy else np.zeros(n + 1)
        walk -= np.linspace(0, 1, n + 1) * walk[-1]
        out[i:j + 1] = np.linspace(math.log(points[a]), math.log(points[b]), n + 1) + walk
    return np.exp(out)


def reflect(value: float, low: float, high: float) -> float:
    """Mirror a value that crosses a bound back inside (keeps the noise; clipping would flatten it)."""
    if value < low:
        value = low + (low - value)
    if value > high:
        value = high - (value - high)
    return value


def build(shared: Path, out: Path) -> dict:
    fig = read_figures(shared / FIGURES)
    rng = np.random.default_rng(SEED)
    days = trading_days(START, END)
    pos = {day: i for i, day in enumerate(days)}
    anchors = close_anchors(fig)
    points = {**{date.fromisoformat(k): v for k, v in CLOSE_SHAPE.items()}, **anchors}
    close = bridge(days, points, 0.011, rng)
    # 2022: 28 Jun is the highest and 28 Oct the lowest close of 29 Apr..18 Nov (as reported); 23 Oct 2023 the low
    for i, day in enumerate(days):
        if day in anchors:
            continue
        if day <= date(2022, 11, 18):
            close[i] = reflect(close[i], anchors[date(2022, 10, 28)] * 1.004, anchors[date(2022, 6, 28)] * 0.996)
        elif date(2023, 9, 1) <= day <= date(2023, 11, 20):
            close[i] = reflect(close[i], anchors[date(2023, 10, 23)] * 1.005, math.inf)

    amount_points = {date.fromisoformat(k): v for k, v in TURNOVER_SHAPE.items()}
    amount_points[date(2023, 11, 21)] = num(fig, ("2023-11-21", "bse_total_turnover")) * 1e9
    amount_points[date(2023, 11, 23)] = num(fig, ("2023-11-23", "bse_total_turnover")) * 1e9
    amount_points[date(2023, 11, 24)] = 2 * num(fig, ("2023-11-24", "bse_half_day_turnover")) * 1e9 * 0.98
    amount_points[date(2023, 11, 27)] = num(fig, ("2023-11-27", "bse_total_turnover")) * 1e9 * 1.05
    amount = bridge(days, amount_points, 0.03, rng)
    for i, day in enumerate(days):
        if day not in amount_points:
            amount[i] *= math.exp(rng.normal(0, 0.07))

    market = []
    prev = close[0]
    for i, day in enumerate(days):
        c = close[i]
        o = prev * math.exp(rng.normal(0, 0.004))
        hi = max(o, c) * (1 + abs(rng.normal(0, 0.006)))
        lo = min(o, c) * (1 - abs(rng.normal(0, 0.006)))
        if day == date(2023, 11, 21):
            hi = prev * (1 + num(fig, ("2023-11-21", "bse50_intraday_max_gain")) / 100)  # +11% at one point
        if day == date(2023, 11, 28):
            o, hi, lo = 1088.0, 1092.5, num(fig, ("2023-11-28", "bse50_intraday"))  # morning low 1,045
        market.append({"date": day.isoformat(), "code": "899050", "open": round(o, 4), "high": round(hi, 4),
                       "low": round(lo, 4), "close": round(c, 4), "amount": round(amount[i], -4),
                       "origin": "reconstructed"})
        prev = c

    # Attention is shaped to lead turnover by one day (a reconstruction choice, stated in the README).
    lead = np.append(amount[1:], amount[-1]) / 1.5e9
    month = (pos[date(2023, 11, 27)], pos[date(2023, 10, 27)])
    attention = []
    # source, subject, metric as the collectors store them (guba: the exchange-wide series)
    specs = [("wechat_index", "北交所", "index", 1.5e6, None, START, 40.0),
             ("baidu_index", "北证50", "all", 4000.0, 1.10, date(2022, 9, 5), None),
             ("guba", "北交所", "posts", 400.0, 1.00, date(2022, 11, 21), None),
             ("guba", "北交所", "reads", 6.0e5, 1.25, date(2022, 11, 21), None)]
    missing = {date(2023, 3, 14), date(2023, 3, 15), date(2023, 6, 20)}  # a few days the index did not publish
    for source, subject, metric, base, k, first, fold in specs:
        noise = rng.normal(0, 0.06, len(days))
        if fold:  # choose the exponent so the month before 27 Nov grows exactly `fold`-times (WeChat: ~40x)
            k = (math.log(fold) - (noise[month[0]] - noise[month[1]])) / math.log(lead[month[0]] / lead[month[1]])
        values = base * lead**k * np.exp(noise)
        for i, day in enumerate(days):
            if day < first or (source == "wechat_index" and day in missing):
                continue
            attention.append({"date": day.isoformat(), "source": source, "subject": subject, "metric": metric,
                              "value": round(float(values[i]), 1 if values[i] < 1e4 else 0),
                              "origin": "reconstructed"})

    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "market.csv", market)
    _write_csv(out / "attention.csv", attention)
    notice = _notice(shared / NOTICE)
    (out / "notices.jsonl").write_text(json.dumps(notice, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "README.md").write_text(_readme(fig, market), encoding="utf-8")
    return {"market": len(market), "attention": len(attention), "notices": 1}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _notice(path: Path) -> dict:
    """The real 27 Nov 2023 exchange statement (a public notice), provenance lines dropped."""
    fields, body = {}, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        key, sep, value = line.partition(": ")
        if sep and key in ("title", "published_at", "source") and not body:
            fields[key] = value.strip()
        elif line.strip():
            body.append(line.strip())
    return {"published_at": fields["published_at"], "source": "bse.cn", "title": fields["title"],
            "text": "\n".join(body), "url": NOTICE_URL, "origin": "imported"}


def _readme(fig, market) -> str:
    closes = {r["date"]: r["close"] for r in market}
    lines = ["# Demo episode: BSE 50, 2022-04-29 .. 2023-12-29 (RECONSTRUCTED)", "",
             "Built by `python scripts/build_demo.py` (seeded, deterministic). Every row of market.csv and",
             "attention.csv is **reconstructed** (`origin=reconstructed`): a path drawn through the reported figures",
             "below, not downloaded data. `amount` is exchange-wide BSE turnover in yuan (the figure the press",
             "reports), attached to the index row. Attention series (WeChat index 北交所, Baidu index 北证50, Guba",
             "北交所-wide posts and reads) are shaped after reported turnover and the ~40-fold WeChat-index growth in the",
             "month before 2023-11-27, and are built to lead turnover by one day: the demo's lead-lag figure shows",
             "the method working, it is not a finding about 2023.", "",
             "notices.jsonl holds one real public text: the exchange's 2023-11-27 statement 北交所加强交易监管",
             f"(published on bse.cn; text as reproduced by 证券导报 {NOTICE_URL} and 北京商报).", "",
             "## Anchors honoured (figures from ../shared/data/bse50_reported_figures_2022-2023.csv)", "",
             "| date | figure | honoured as | source |", "|---|---|---|---|"]
    for (day, metric), row in fig.items():
        url = row["source_url"] or ("(derived in the figures file from the rows above; not a sourced figure)"
                                    if row["kind"] == "derived" else "(seed article only; not independently confirmed)")
        lines.append(f"| {day} | {metric} = {row['value']} {row['unit']} ({row['kind']}) | "
                     f"{_honoured(day, metric, closes)} | {url} |")
    return "\n".join(lines) + "\n"


def _honoured(day: str, metric: str, closes: dict) -> str:
    if metric == "bse50_close_DERIVED" and day == "2023-11-27":
        return f"close {closes[day]} (within its ±1; puts the 28 Nov morning low 1,045 at -5.2%)"
    if metric in ("bse50_close", "bse50_close_DERIVED", "bse50_base_level") and day in closes:
        return f"close {closes[day]}"
    if metric == "bse50_pct_change":
        days = sorted(closes)
        prev = closes[days[days.index(day) - 1]]
        return f"close {closes[day]} = {(closes[day] / prev - 1) * 100:+.2f}%"
    return {"bse_total_turnover": "daily amount", "bse_half_day_turnover": "daily amount ~2x, 4 days > 10 bn",
            "bse50_intraday_max_gain": "high of the day", "bse50_intraday": "low of the day (-5.2%)",
            "bse50_1m_change": "27 Oct close; YTD vs 2022-12-30", "bse50_month_change": "30 Nov / 31 Oct",
            "bse50_rally_start_low": "23 Oct lowest close of Sep-Nov", "bse_supervision_notice": "notices.jsonl",
            }.get(metric, "context only")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=ROOT / "sentibot" / "data" / "demo")
    args = parser.parse_args(argv)
    if not (args.shared / FIGURES).is_file():
        sys.exit(f"build_demo: {args.shared / FIGURES} not found (the reported figures are read from ../shared)")
    print(json.dumps(build(args.shared, args.out)))


if __name__ == "__main__":
    main()
