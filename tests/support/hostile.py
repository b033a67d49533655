"""A stored history whose scraped strings are hostile (HTML, entities, bidi marks, 600-character titles).

The fuzz and security suites seed it so that every reply must escape what sites sent and stay under Telegram's limit.
"""

from __future__ import annotations

import json

from sentibot.models import BSE50_CODE, Bar, Notice
from sentibot.store.db import save_scores, upsert_bars, upsert_notice

ADMIN = 7
HOSTILE = "<script>alert(1)</script> & &amp; &#0; &bogus; <b>unclosed <a href='javascript:x'>北交所</a> \u202e"

def seed_hostile(db) -> None:
    """A history whose scraped strings are hostile: replies must escape them and stay under the limit."""
    now = "2023-11-27T20:00:00+08:00"
    save_scores(db, [{"date": "2023-11-27", "score": 88.0, "level": "frenzy",
                      "components": {"close": 1402.5, "note": HOSTILE, "attention": {"guba<x>": {"z": 3.3}}}}], now)
    for i in range(15):
        upsert_notice(db, Notice(url=f"https://www.bse.cn/a?x={i}&y=<2>\"", source=f"bse.cn {HOSTILE}",
                                 published_at=now, title=f"{HOSTILE} {i} " + "监管" * 300), now,
                      notice_class="regulator_warning", severity=2)
    for i in range(60):
        db["alerts"].insert({"kind": "frenzy", "ts": now, "level": "frenzy<", "score": 88.0,
                             "title": f"{HOSTILE} " * 20, "reasons": json.dumps([HOSTILE]), "dedupe_key": f"k{i}",
                             "audience": "subscribers", "created_at": now})
    db["source_health"].insert_all({"source": f"src{i}{HOSTILE}", "status": "blocked&", "detail": HOSTILE * 10,
                                    "last_attempt_at": now, "last_success_at": None, "consecutive_blocks": 1,
                                    "consecutive_failures": 0, "paused_until": HOSTILE} for i in range(40))
    db["subscribers"].insert_all({"chat_id": c, "user_id": c, "chat_type": "private", "min_level": "hot",
                                  "active": 1} for c in (2001, 2002))
    upsert_bars(db, [Bar(code=BSE50_CODE, date="2023-11-27", close=1402.5, amount=3.1e9)], now)
    seed_hostile_stocks(db, now)


def seed_hostile_stocks(db, now: str) -> None:
    """Stock names from the (scraped) universe are hostile too; 60 scored stocks, a watchlist, stock alerts."""
    codes = [f"920{i:03d}" for i in range(60)]
    db["universe"].insert_all({"code": c, "name": f"{HOSTILE}{i}" + "股" * 40, "old_code": None,
                               "market_cap": 1e9 - i, "listed": 1} for i, c in enumerate(codes))
    db["stock_scores"].insert_all({"code": c, "date": d, "score": 50.0 + i % 40, "level": "frenzy<&",
                                   "attention_ratio": 3.0, "turnover_ratio": 2.0, "limit_streak": 2,
                                   "coupling": 0.7, "close": 12.5} for i, c in enumerate(codes)
                                  for d in ("2023-11-24", "2023-11-27"))
    db["watches"].insert_all({"chat_id": chat, "code": c, "added_at": now} for chat in (ADMIN, 1001)
                             for c in codes[:30])
    for i, c in enumerate(codes[:10]):
        db["alerts"].insert({"kind": "frenzy", "ts": now, "level": "frenzy", "score": 90.0, "title": f"{HOSTILE} {c}",
                             "reasons": json.dumps([HOSTILE]), "dedupe_key": f"s{i}", "audience": "stocks",
                             "created_at": now, "stocks": json.dumps([c])})


