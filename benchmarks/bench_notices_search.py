"""Parser throughput of the notices and search-interest sources, each against a plain baseline in the same run.

Run: python -m benchmarks.bench_notices_search
Figures: bse.cn listse items -> Notice (anchor: json.loads of the same body), notice page -> text (anchor: building
the BeautifulSoup tree alone), Baidu Index decrypt + series (anchor: split + float of the decrypted text).
"""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

from bs4 import BeautifulSoup

from sentibot.collect.notices.parse import parse_bse_news, parse_notice_page
from sentibot.collect.search.cipher import cipher_text
from sentibot.collect.search.parse import EncryptedSeries, decrypt_series
from sentibot.text.notice_stocks import stocks_named
from sentibot.text.tokenizer import mentions

FIX = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
KEY = "qW3eR7tYu9P0123456789,"


def _rate(fn, units: int, repeat: int) -> float:
    fn()  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, time.perf_counter() - start)
    return units * repeat / best


def _listse_body(n: int) -> str:
    item = {"title": "北交所加强交易监管", "text": "<p>本所召开会员座谈会，<b>听取</b>意见。</p>",
            "htmlUrl": "/news/c/2023-11-27/520001.html", "publishDate": "2023-11-27 19:00:00", "tags": "本所要闻"}
    items = [dict(item, htmlUrl=f"/news/c/2023-11-27/{520001 + i}.html") for i in range(n)]
    return "null(" + json.dumps([{"data": {"content": items}, "status": 0}], ensure_ascii=False) + ")"


def _page() -> str:
    lines = (FIX / "bse" / "notice_2023-11-27_trading_supervision.txt").read_text(encoding="utf-8").splitlines()
    body = "".join(f"<p>{line}</p>" for line in lines if line and not line.startswith("#") and ":" not in line[:14])
    return (FIX / "bse" / "constructed_notice_page.html").read_text(encoding="utf-8").replace("{NOTICE_BODY}", body)


def _series(days: int) -> tuple[list[EncryptedSeries], str]:
    encode = dict(zip(KEY[11:], KEY[:11]))
    plain = ",".join(str(1000 + i % 977) for i in range(days))
    start = date(2019, 1, 1)
    end = start + timedelta(days=days - 1)
    cipher = "".join(encode[c] for c in plain)
    return [EncryptedSeries("北交所", m, "day", start, end, cipher) for m in ("all", "pc", "wise")], plain


def _figure(name, value, unit, anchor, anchor_value, goal) -> dict:
    row = {"figure": name, "value": round(value), "unit": unit, "anchor": anchor, "anchor_value": round(anchor_value),
           "ratio": round(value / anchor_value, 3), "goal": goal}
    print(f"{name:<28} {row['value']:>10,} {unit:<9} anchor {anchor} {row['anchor_value']:,} "
          f"(ratio {row['ratio']})  goal: {goal}")
    return row


def main() -> list[dict]:
    rows = []
    body = _listse_body(50)
    rows.append(_figure("listse_items_per_s", _rate(lambda: parse_bse_news(body, "https://www.bse.cn", "1289", "b"),
                                                     50, 200), "items/s", "json.loads items/s",
                        _rate(lambda: json.loads(body[5:-1]), 50, 200),
                        ">= 2,000 items/s (a cycle reads <= 250 list items)"))
    page = _page()
    rows.append(_figure("notice_page_to_text_per_s", _rate(lambda: parse_notice_page(page, "p"), 1, 300), "pages/s",
                        "BeautifulSoup tree pages/s", _rate(lambda: BeautifulSoup(page, "html.parser"), 1, 300),
                        ">= 100 pages/s"))
    series, plain = _series(1826)  # five years, daily
    rows.append(_figure("baidu_decrypt_values_per_s", _rate(lambda: decrypt_series(series, KEY, "b"), 3 * 1826, 20),
                        "values/s", "split+float values/s",
                        _rate(lambda: [[float(v) for v in plain.split(",")] for _ in range(3)], 3 * 1826, 20),
                        ">= 100,000 values/s (5 years x 4 keywords x 3 metrics = ~22k values)"))
    ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
    rows.append(_figure("cipher_text_per_s", _rate(lambda: cipher_text(ua, "北交所", 1763957200000), 1, 2000),
                        "headers/s", "json.dumps of its payload/s",
                        _rate(lambda: json.dumps({"ua": ua, "url": "u", "clientTs": 1}, separators=(",", ":")), 1, 2000),
                        ">= 1,000 headers/s (one per Baidu request; a cycle sends a few)"))
    text = page.split("<div", 1)[0] + "".join(BeautifulSoup(page, "html.parser").stripped_strings)
    mentions(text)  # the dictionaries load once, outside the timing
    rows.append(_figure("notice_stocks_per_s", _rate(lambda: stocks_named("北交所加强交易监管", text), 1, 300),
                        "notices/s", "tokenizer.mentions notices/s", _rate(lambda: mentions(text), 1, 300),
                        ">= 100 notices/s (a cycle stores a handful)"))
    return rows


if __name__ == "__main__":
    main()
