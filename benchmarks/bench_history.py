"""`sentibot history` over a big history (1M posts + 5 years of scores, alerts, notices) vs plain SQL on the same file.

Run: python -m benchmarks history   (or --quick: 100k posts). The anchors are the same rows read with sqlite3 and
a plain `select ... union all ... order by` in the same run, in process and as a `python -c` subprocess.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from benchmarks.timing import median_s

QUICK_ARGV = ["100000"]
YEARS = 5
PLAIN_SQL = (
    "select ts, 'alert', kind, level, score, title, reasons from alerts union all "
    "select date, 'score', '', level, score, '', components from scores union all "
    "select published_at, 'notice', notice_class, severity, null, title, url from notices order by 1")
_ANCHOR_CLI = ("import sqlite3, sys, csv; c = sqlite3.connect(sys.argv[1]); w = csv.writer(sys.stdout); "
               f"w.writerows(c.execute({PLAIN_SQL!r}))")


def build(path: Path, posts: int, seed: int = 7) -> dict:
    """A sentibot history: `posts` Guba posts, daily scores, ~1 alert a week, ~2 notices a day; returns counts."""
    from sentibot.store.db import open_store

    rng = random.Random(seed)
    db = open_store(path)
    conn = db.conn
    start = date(2021, 11, 15)
    days = [start + timedelta(days=i) for i in range(365 * YEARS)]
    t0 = datetime(2021, 11, 15, 9, 0)
    conn.execute("BEGIN")
    conn.executemany(
        "insert into posts (source, post_id, bar, title, published_at, reads, comments, author_id, author_name, kind,"
        " url, first_seen, updated_at) values ('guba', ?, ?, ?, ?, ?, ?, ?, ?, 'normal', ?, ?, ?)",
        ((str(i), f"{830000 + i % 250}", f"北证50今天又大涨了 {i}",
          (t0 + timedelta(seconds=i * 157)).isoformat() + "+08:00", rng.randrange(50, 90000), rng.randrange(0, 80),
          str(i % 40000), f"股友{i % 40000}", f"https://guba.example/news,{i}.html", "2026-01-01", "2026-01-01")
         for i in range(posts)))
    levels = ("calm", "warming", "hot", "frenzy")
    conn.executemany(
        "insert into scores (date, score, level, components, computed_at) values (?, ?, ?, ?, '2026-01-01')",
        ((d.isoformat(), round(rng.uniform(0, 100), 1), rng.choice(levels),
          json.dumps({"attention_z": rng.uniform(-2, 4), "turnover_ratio": rng.uniform(0.5, 3),
                      "rsi": rng.uniform(20, 90), "lead_lag": rng.uniform(-1, 1)})) for d in days))
    notices = [(f"https://www.bse.cn/notice/{i}.html", "bse", f"{d.isoformat()}T{9 + i % 8:02d}:30:00+08:00",
                f"关于对北交所股票异常波动的监管公告 {i}", "正文" * 200, f"{i:016x}",
                "regulator_warning" if i % 9 == 0 else "other", 2 if i % 9 == 0 else 0, "[]", "bench", 1,
                "2026-01-01", "2026-01-01") for i, d in enumerate(d for d in days for _ in range(2))]
    conn.executemany("insert into notices (url, source, published_at, title, text, content_hash, notice_class, severity,"
                     " triggers, origin, revision, first_seen, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     notices)  # named columns: a later migration's new column keeps its default
    alerts = [(d.isoformat() + "T15:05:00+08:00", rng.choice(("frenzy", "cooling", "regulator_warning")),
               rng.choice(levels), rng.uniform(0, 100), f"北证50 heat {d}", json.dumps(["attention z 3.1"]),
               f"bench:{d}", "subscribers", "2026-01-01") for d in days[::7]]
    conn.executemany("insert into alerts (ts, kind, level, score, title, reasons, dedupe_key, audience, created_at)"
                     " values (?, ?, ?, ?, ?, ?, ?, ?, ?)", alerts)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return {"posts": posts, "scores": len(days), "notices": len(notices), "alerts": len(alerts)}


def main(argv: list[str] | None = None) -> list[dict]:
    import io
    import sqlite3

    from sentibot.views import timeline as history
    from sentibot.store.db import open_store

    posts = int(argv[0]) if argv else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.db"
        start = time.perf_counter()
        counts = build(path, posts)
        print(f"built {counts} in {time.perf_counter() - start:.1f} s")
        db = open_store(path, create=False)
        conn = sqlite3.connect(path)

        def ours() -> int:
            out = io.StringIO()
            history.write_csv(history.query_history(db, history.Query()), out)
            return len(out.getvalue())

        def plain() -> int:
            return len(conn.execute(PLAIN_SQL).fetchall())

        rows = plain()
        core, anchor = median_s(ours, runs=5), median_s(plain, runs=5)
        cli = median_s(lambda: subprocess.run([sys.executable, "-m", "sentibot", "history", "--csv", "--db", str(path)],
                                              check=True, capture_output=True), runs=3)
        cli_anchor = median_s(lambda: subprocess.run([sys.executable, "-c", _ANCHOR_CLI, str(path)], check=True,
                                                     capture_output=True), runs=3)
        db.conn.close()
        conn.close()
    label = f"{posts // 1000}k posts" if posts < 1_000_000 else f"{posts / 1e6:g}M posts"
    print(f"history core (query + CSV), {rows:,} rows over {label}: {core * 1000:.1f} ms; plain SQL "
          f"{anchor * 1000:.1f} ms ({core / anchor:.2f}x)")
    print(f"`sentibot history --csv` end to end: {cli:.3f} s; python -c sqlite3 + csv: {cli_anchor:.3f} s "
          f"({cli / cli_anchor:.2f}x)")
    return [
        {"figure": f"history query + CSV ({rows:,} rows, {label})", "value": round(core * 1000, 1), "unit": "ms",
         "anchor": "plain SQL union, same file", "anchor_value": round(anchor * 1000, 1),
         "ratio": round(core / anchor, 2), "goal": "<= 10x"},
        {"figure": f"`sentibot history --csv` end to end ({label})", "value": round(cli, 3), "unit": "s",
         "anchor": "python -c sqlite3 + csv", "anchor_value": round(cli_anchor, 3),
         "ratio": round(cli / cli_anchor, 2), "goal": "< 2 s"},
    ]


if __name__ == "__main__":
    main(sys.argv[1:])
