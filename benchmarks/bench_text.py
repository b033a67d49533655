"""Throughput of tokenise + sentiment + mentions on real Guba titles, against plain jieba.lcut in the same run.

Run: python -m benchmarks.bench_text [N]   (N titles, default 100,000: the 3,360 titles of
../shared/data/guba_titles_600519_2022-11.csv repeated). Also reports cold start to the first tokenised title
(with the tokenizer cache, and the first start that builds it).
"""

from __future__ import annotations

import csv
import marshal
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "guba_titles_600519_2022-11.csv"
GOAL = 40_000
GOAL_RATIO = GOAL / 30_000  # issue #4: plain jieba with HMM does ~30,000 titles/s on this machine

_COLD = "import time; t=time.perf_counter(); from sentibot.text.tokenizer import tokenize; tokenize('北交所北证50利空出尽'); " \
        "print(time.perf_counter()-t)"
# the anchor: jieba's own cold start (import, load its cached dictionary, first cut) in a fresh interpreter
_COLD_JIEBA = "import time; t=time.perf_counter(); import jieba; jieba.setLogLevel(30); jieba.lcut('北交所北证50利空出尽'); " \
              "print(time.perf_counter()-t)"


def _cold_once(code: str, env: dict | None = None) -> float:
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                env=env).stdout)


def cold_starts(runs: int = 5) -> tuple[float, float, float, float]:
    """Seconds from the first import to the first tokenised title in a fresh interpreter.

    Returns (sentibot's first start, which builds the tokenizer and writes its cache; sentibot's median start with
    that cache; jieba's median start with its own cache; the median ratio of marshal.load on the cache file to
    marshal.loads on its bytes). Each pair takes turns, so a load change on the machine hits both alike.
    """
    with tempfile.TemporaryDirectory() as cache_home:
        env = {**os.environ, "XDG_CACHE_HOME": cache_home}
        first = _cold_once(_COLD, env)
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(_cold_once(_COLD, env))
            theirs.append(_cold_once(_COLD_JIEBA))
        cache = next((Path(cache_home) / "sentibot").glob("tokenizer-*.marshal"))
        file_read_ratio = statistics.median(_marshal_file_vs_bytes(cache) for _ in range(runs))
    return first, statistics.median(ours), statistics.median(theirs), file_read_ratio


def _marshal_file_vs_bytes(path: Path) -> float:
    """How many times longer marshal.load(file) (jieba's way to read its cache) takes than marshal.loads(bytes)."""
    start = time.perf_counter()
    with path.open("rb") as fh:
        marshal.load(fh)
    from_file = time.perf_counter() - start
    start = time.perf_counter()
    marshal.loads(path.read_bytes())
    return from_file / (time.perf_counter() - start)


ROUNDS = 5  # the contenders take turns on slices of the titles, so a load change on the machine hits them alike


def _seconds(fn, titles: list[str]) -> float:
    start = time.perf_counter()
    for title in titles:
        fn(title)
    return time.perf_counter() - start


def _race(contenders: dict, titles: list[str]) -> dict[str, tuple[float, float]]:
    """{name: (titles/s over all rounds, median per-round ratio to the first contender)}."""
    size = len(titles) // ROUNDS
    spent = {name: 0.0 for name in contenders}
    ratios: dict[str, list[float]] = {name: [] for name in contenders}
    anchor = next(iter(contenders))
    for r in range(ROUNDS):
        chunk = titles[r * size:(r + 1) * size]
        took = {name: _seconds(fn, chunk) for name, fn in contenders.items()}
        for name in contenders:
            spent[name] += took[name]
            ratios[name].append(took[anchor] / took[name])
    return {name: (size * ROUNDS / spent[name], statistics.median(ratios[name])) for name in contenders}


def main(argv: list[str] | None = None) -> list[dict]:
    args = sys.argv[1:] if argv is None else argv
    if not DATA.exists():
        print(f"skipped: {DATA} is absent (real titles live in ../shared/data and are not shipped)")
        return []
    n = int(args[0]) if args else 100_000
    with DATA.open(encoding="utf-8-sig", newline="") as fh:
        unique = [row["title"] for row in csv.DictReader(fh)]
    titles = (unique * (n // len(unique) + 1))[:n]
    first, cold, cold_jieba, file_read_ratio = cold_starts()

    import jieba

    from sentibot.text import tokenizer as text

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
    if default.segmenter == "jieba":
        print("note: jieba-next is not installed, so the default path is plain jieba ('pip install .[fast]')")
    race = _race({"anchor": jieba.lcut, "ours": pipeline(default), "plain": pipeline(plain),
                  "full": text.analyze}, titles)
    (anchor, _), (ours, ours_r), (ours_plain, plain_r), (full, full_r) = race.values()
    print(f"{len(titles):,} titles ({len(unique):,} unique real Guba titles repeated), {ROUNDS} interleaved rounds; "
          "ratio = median per-round speed-up over jieba.lcut")
    print(f"plain jieba.lcut (HMM on):                {anchor:10,.0f} titles/s")
    print(f"tokenise + sentiment + mentions [{default.segmenter}]: {ours:10,.0f} titles/s  "
          f"({ours_r:.2f}x jieba.lcut; goal {GOAL:,} = {GOAL_RATIO:.2f}x)")
    print(f"tokenise + sentiment + mentions [jieba]:  {ours_plain:10,.0f} titles/s  ({plain_r:.2f}x)")
    print(f"analyze() (the above + notice class):     {full:10,.0f} titles/s  ({full_r:.2f}x)")
    print(f"cold start to first tokenised title:      {cold:10.3f} s  (goal < 1 s; plain jieba's own cold start "
          f"{cold_jieba:.3f} s, {cold / cold_jieba:.2f}x)")
    print(f"first start ever (builds the tokenizer cache): {first:5.3f} s; reading the cache with marshal.load(file) "
          f"takes {file_read_ratio:.1f}x marshal.loads(bytes)")
    return [
        {"figure": f"tokenise+sentiment+mentions ({default.segmenter})", "value": round(ours), "unit": "titles/s",
         "anchor": "jieba.lcut (HMM on)", "anchor_value": round(anchor), "ratio": round(ours_r, 3),
         "goal": f">= {GOAL_RATIO:.2f}x ({GOAL:,} vs jieba's 30,000 titles/s)"},
        {"figure": "tokenise+sentiment+mentions (plain jieba)", "value": round(ours_plain), "unit": "titles/s",
         "anchor": "jieba.lcut (HMM on)", "anchor_value": round(anchor), "ratio": round(plain_r, 3),
         "goal": f">= {GOAL_RATIO:.2f}x (without the fast path)"},
        {"figure": "analyze()", "value": round(full), "unit": "titles/s", "anchor": "jieba.lcut (HMM on)",
         "anchor_value": round(anchor), "ratio": round(full_r, 3), "goal": "-"},
        {"figure": "cold start to first tokenised title", "value": round(cold, 3), "unit": "s",
         "anchor": "plain jieba's own cold start", "anchor_value": round(cold_jieba, 3),
         "ratio": round(cold / cold_jieba, 3), "goal": "< 1 s"},
        {"figure": "first start (no tokenizer cache yet)", "value": round(first, 3), "unit": "s",
         "anchor": "plain jieba's own cold start", "anchor_value": round(cold_jieba, 3),
         "ratio": round(first / cold_jieba, 3), "goal": "-"},
    ]


if __name__ == "__main__":
    main()
