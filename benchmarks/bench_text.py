"""Throughput of tokenise + sentiment + mentions on real Guba titles, against plain jieba.lcut in the same run.

Run: python -m benchmarks.bench_text [N]   (N titles, default 100,000: the 3,360 titles of
../shared/data/guba_titles_600519_2022-11.csv repeated). Also reports cold start to the first tokenised title.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "guba_titles_600519_2022-11.csv"
GOAL = 40_000
GOAL_RATIO = GOAL / 30_000  # issue #4: plain jieba with HMM does ~30,000 titles/s on this machine

_COLD = "import time; t=time.perf_counter(); from sentibot.text import tokenize; tokenize('北交所北证50利空出尽'); " \
        "print(time.perf_counter()-t)"


def cold_start() -> float:
    """Seconds from importing sentibot.text to the first tokenised title, in a fresh interpreter (median of 3)."""
    runs = sorted(float(subprocess.run([sys.executable, "-c", _COLD], capture_output=True, text=True, check=True)
                        .stdout) for _ in range(3))
    return runs[1]


def _rate(fn, titles: list[str]) -> float:
    start = time.perf_counter()
    for title in titles:
        fn(title)
    return len(titles) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> list[dict]:
    args = sys.argv[1:] if argv is None else argv
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (real titles live in ../shared/data and are not shipped)")
        return []
    n = int(args[0]) if args else 100_000
    with DATA.open(encoding="utf-8-sig", newline="") as fh:
        unique = [row["title"] for row in csv.DictReader(fh)]
    titles = (unique * (n // len(unique) + 1))[:n]
    cold = cold_start()

    import jieba

    from sentibot import text

    jieba.setLogLevel(30)
    jieba.lcut("预热")  # load both dictionaries before timing
    text.tokenize("预热")

    def pipeline(m):
        def run(title: str) -> None:
            clean = text.normalize(title)
            tokens = text._tokens(clean, m)
            text.score_tokens(tokens, clean, m.lexicon)
            text._mentions(tokens, clean, m)
        return run

    default = text.model()
    plain = default if default.segmenter == "jieba" else text._build(text.DICT_DIR, "jieba")
    anchor = _rate(jieba.lcut, titles)
    ours = _rate(pipeline(default), titles)
    ours_plain = _rate(pipeline(plain), titles) if plain is not default else ours
    full = _rate(text.analyze, titles)
    print(f"{len(titles):,} titles ({len(unique):,} unique real Guba titles repeated)")
    print(f"plain jieba.lcut (HMM on):                {anchor:10,.0f} titles/s")
    print(f"tokenise + sentiment + mentions [{default.segmenter}]: {ours:10,.0f} titles/s  "
          f"({ours / anchor:.2f}x jieba.lcut; goal {GOAL:,} = {GOAL_RATIO:.2f}x)")
    print(f"tokenise + sentiment + mentions [jieba]:  {ours_plain:10,.0f} titles/s  ({ours_plain / anchor:.2f}x)")
    print(f"analyze() (the above + notice class):     {full:10,.0f} titles/s  ({full / anchor:.2f}x)")
    print(f"cold start to first tokenised title:      {cold:10.3f} s  (goal < 1 s)")
    return [
        {"figure": f"tokenise+sentiment+mentions ({default.segmenter})", "value": round(ours), "unit": "titles/s",
         "anchor": "jieba.lcut (HMM on)", "anchor_value": round(anchor), "ratio": round(ours / anchor, 3),
         "goal": f">= {GOAL} titles/s"},
        {"figure": "tokenise+sentiment+mentions (plain jieba)", "value": round(ours_plain), "unit": "titles/s",
         "anchor": "jieba.lcut (HMM on)", "anchor_value": round(anchor), "ratio": round(ours_plain / anchor, 3),
         "goal": f">= {GOAL} titles/s"},
        {"figure": "analyze()", "value": round(full), "unit": "titles/s", "anchor": "jieba.lcut (HMM on)",
         "anchor_value": round(anchor), "ratio": round(full / anchor, 3), "goal": "-"},
        {"figure": "cold start to first tokenised title", "value": round(cold, 3), "unit": "s", "anchor": "-",
         "anchor_value": None, "ratio": None, "goal": "< 1 s"},
    ]


if __name__ == "__main__":
    main()
