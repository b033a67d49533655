"""Sentiment accuracy on the labelled Guba titles in ../shared/data (neutral counts as a miss).

Run: python -m benchmarks.eval_sentiment [CSV]   (default: ../shared/data/guba_titles_labelled_dev.csv)
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEV = DATA / "guba_titles_labelled_dev.csv"


def evaluate(path: Path = DEV) -> dict:
    """Accuracy, coverage (non-neutral share) and the confusion counts of sentibot.text.sentiment on path."""
    from sentibot.text import sentiment

    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [(row["title"], row["label"]) for row in csv.DictReader(fh)]
    confusion = Counter((gold, sentiment(title).label) for title, gold in rows)
    hits = sum(n for (gold, got), n in confusion.items() if gold == got)
    neutral = sum(n for (_, got), n in confusion.items() if got == "neutral")
    # For comparison with classifiers that always decide (the naive Bayes baseline): a neutral title scored as
    # the forum's bearish default. This is a prior, not lexicon evidence; sentiment() itself stays neutral.
    forced = hits + confusion.get(("negative", "neutral"), 0)
    return {"n": len(rows), "accuracy": hits / len(rows), "coverage": 1 - neutral / len(rows),
            "precision_decided": hits / max(1, len(rows) - neutral), "forced_accuracy": forced / len(rows),
            "confusion": dict(confusion)}


def main(argv: list[str] | None = None) -> list[dict]:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEV
    if not path.exists():
        print(f"skipped: {path} is absent (the labelled titles live in ../shared/data and are not shipped)")
        return []
    result = evaluate(path)
    print(f"{path.name}: {result['n']} titles, accuracy {result['accuracy']:.1%} (neutral = miss), "
          f"coverage {result['coverage']:.1%}")
    print(f"  accuracy on the titles the lexicon decides: {result['precision_decided']:.1%}")
    print(f"  if every neutral were scored bearish (a prior, for comparison only): {result['forced_accuracy']:.1%}")
    for (gold, got), n in sorted(result["confusion"].items()):
        print(f"  gold {gold:<8} -> {got:<8} {n}")
    return [{"figure": "sentiment accuracy (dev, neutral = miss)", "value": round(result["accuracy"], 4),
             "unit": "fraction", "anchor": "naive Bayes baseline (issue #4)", "anchor_value": 0.64,
             "ratio": round(result["accuracy"] / 0.64, 3), "goal": ">= 0.75"}]


if __name__ == "__main__":
    main()
