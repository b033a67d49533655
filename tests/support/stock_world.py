"""A constructed replay of per-stock bars and per-stock attention (market CSV with `code`, attention CSV with
`subject`), written as the files `sentibot replay` reads. Synthetic (seeded random walks), not recorded data: the
stocks are real BSE names so that name resolution is exercised, the numbers are not theirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

SURGING = ("831526", "920171")  # 凯华材料 under its old code, 志晟信息 under its new one
CALM = ("839946", "920305")  # 华阳变速 (old code), 云创数据
NOTICE_TITLE = "关于对凯华材料、志晟信息、华阳变速实施重点监控的公告"


def write_stock_files(folder: Path, days: int = 160, surging=SURGING, calm=CALM, surge_days: int = 6,
                      seed: int = 11) -> tuple[Path, Path, Path]:
    """(market.csv, attention.csv, notices.jsonl): calm stocks, and `surging` ones whose forum attention, rank and
    turnover surge over the last `surge_days` with limit-up closes; plus the BSE 50 index, calm."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2023-06-01", periods=days)
    dates = index.strftime("%Y-%m-%d")
    market, attention = [], []
    level = 900 * np.exp(np.cumsum(rng.normal(0, 0.005, days)))
    market += [{"date": d, "code": "", "close": round(c, 2), "amount": round(a)}
               for d, c, a in zip(dates, level, 1e9 * np.exp(rng.normal(0, 0.05, days)))]
    for code in (*surging, *calm):
        close = 12 * np.exp(np.cumsum(rng.normal(0, 0.01, days)))
        amount = 3e7 * np.exp(rng.normal(0, 0.15, days))
        posts = np.round(30 * np.exp(rng.normal(0, 0.2, days)))
        reads = np.round(2500 * np.exp(rng.normal(0, 0.2, days)))
        rank = np.clip(np.round(180 * np.exp(rng.normal(0, 0.1, days))), 1, None)
        if code in surging:
            tail = slice(days - surge_days, days)
            posts[tail] *= np.linspace(4, 12, surge_days)
            reads[tail] *= np.linspace(4, 12, surge_days)
            amount[tail] *= 3.5
            rank[tail] = np.linspace(25, 2, surge_days).round()
            for t in range(days - 3, days):
                close[t] = close[t - 1] * 1.30
        market += [{"date": d, "code": code, "close": round(c, 2), "amount": round(a), "turnover_rate": round(a / 1e7, 2)}
                   for d, c, a in zip(dates, close, amount)]
        for source, metric, values in (("guba", "posts", posts), ("guba", "reads", reads), ("em_rank", "rank", rank)):
            attention += [{"date": d, "source": source, "metric": metric, "value": v, "subject": code}
                          for d, v in zip(dates, values)]
    m, a, n = folder / "stocks_market.csv", folder / "stocks_attention.csv", folder / "stocks_notices.jsonl"
    pd.DataFrame(market).to_csv(m, index=False)
    pd.DataFrame(attention).to_csv(a, index=False)
    notice = {"published_at": f"{index[-1].date()}T19:00:00+08:00", "source": "bse.cn", "title": NOTICE_TITLE,
              "text": "本所对凯华材料、志晟信息、华阳变速等股票实施重点监控，提醒投资者注意二级市场交易风险。",
              "url": "https://www.bse.cn/constructed/stock-watch"}
    n.write_text(json.dumps(notice, ensure_ascii=False) + "\n", encoding="utf-8")
    return m, a, n
