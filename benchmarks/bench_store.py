"""Benchmark of the history writes: store.upsert_posts against sqlite-utils' own upsert_all, measured in the same run.

Run: python benchmarks/bench_store.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from sentibot.models import Post
from sentibot.store.db import open_store, upsert_posts

PAGE = 80  # posts on one Guba list page
PAGES = 50


def _pages(visit: int) -> list[list[Post]]:
    return [[Post("guba", f"{p}-{i}", "zs899050", "北交所今天又涨了" * 3, "2023-11-15T10:00:00+08:00",
                  reads=100 * visit + i, comments=visit, author_id=str(i), author_name="散户", url=f"/n/{p}-{i}")
             for i in range(PAGE)] for p in range(PAGES)]


def _run(write, rounds: int = 5) -> tuple[float, float]:
    """Median rows/s of (first visit, re-visit) of PAGES pages, one commit per page, on a fresh file."""
    first, again = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            db = open_store(Path(tmp) / "b.db")
            for visit, out in ((1, first), (2, again)):
                pages = _pages(visit)
                start = time.perf_counter()
                for page in pages:
                    write(db, page, f"t{visit}")
                out.append(PAGE * PAGES / (time.perf_counter() - start))
            db.close()
    return statistics.median(first), statistics.median(again)


def _sqlite_utils_upsert(db, page, now):
    """The anchor: sqlite-utils' upsert_all of whole rows (it cannot keep first_seen on its own)."""
    with db.atomic():
        db["posts"].upsert_all([dict(asdict(p), first_seen=now, updated_at=now) for p in page],
                               pk=("source", "post_id"))


def main() -> list[dict]:
    anchor_new, anchor_again = _run(_sqlite_utils_upsert)
    ours_new, ours_again = _run(upsert_posts)
    results = [
        {"figure": "upsert_posts, new page (80 posts/commit)", "value": round(ours_new), "unit": "rows/s",
         "anchor": "sqlite-utils upsert_all, same rows", "anchor_value": round(anchor_new),
         "ratio": round(ours_new / anchor_new, 2), "goal": ">= 1 (and keeps first_seen)"},
        {"figure": "upsert_posts, re-visit refreshing counts", "value": round(ours_again), "unit": "rows/s",
         "anchor": "sqlite-utils upsert_all, same rows", "anchor_value": round(anchor_again),
         "ratio": round(ours_again / anchor_again, 2), "goal": ">= 1"},
    ]
    for r in results:
        print(f"{r['figure']}: {r['value']:,} {r['unit']} vs {r['anchor']} {r['anchor_value']:,} "
              f"(x{r['ratio']}, goal {r['goal']})")
    return results


if __name__ == "__main__":
    main()
