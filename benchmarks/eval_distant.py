"""What a distant-supervision model adds to the lexicon on the three-class dev titles, at a few corpus sizes.

Run: python -m benchmarks.eval_distant [--self-training]

The recipe of the literature: titles carrying a strong Guba emoticon ([看多] [上涨] [买入] [火箭] ... against [看空]
[下跌] [卖出] [哭] ...) get its polarity as a weak label; the emoticons are stripped and a multinomial naive Bayes
is fitted on character 1-2-grams of what is left. The installation's collected titles are simulated with the
unlabelled Guba titles in ../shared/data (every title of the dev file is removed from them first, so nothing
evaluated is trained on), drawn at a few sizes; nothing of it is kept or shipped. Each size is drawn with
SEEDS seeds and the mean is printed. The model is used only where the lexicon finds cues but no stance (one weak cue,
or cues that cancel: a title without any cue stays neutral), and only when it is confident (|log-odds| >= the
margin); the figures are the tune half's and the held-out half's accuracy.

--self-training labels the unlabelled titles with the lexicon itself (its decided positive and negative titles,
emoticons stripped from the features) instead of the emoticons, on all of them; the rest is the same.
"""

from __future__ import annotations

import csv
import math
import random
import re
import sys
from collections import Counter

from benchmarks.eval_sentiment import DATA, DEV, metrics, read_rows, split

CORPORA = (("guba_titles_600519_2022-11.csv", "title"), ("guba_600519_list_posts_2024-05.csv", "post_title"),
           ("guba_titles_labelled_dev.csv", "title"))
SIZES = (500, 1000, 2000, None)  # None: every title left after removing the dev titles
SEEDS = 5
MARGINS = (2.0, 4.0, 6.0)
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")


def corpus(exclude: set[str]) -> list[str]:
    """Unique unlabelled titles of ../shared/data minus the excluded (dev) ones, in file order."""
    seen: dict[str, None] = {}
    for name, column in CORPORA:
        path = DATA / name
        if path.exists():
            with path.open(encoding="utf-8-sig", newline="") as fh:
                seen.update((row[column], None) for row in csv.DictReader(fh) if row[column] not in exclude)
    return list(seen)


def weak_label(title: str, emoticons: dict[str, float]) -> str | None:
    """positive/negative from the strong emoticons (|weight| >= 2) a title carries; None when absent or mixed."""
    signs = {emoticons[e] > 0 for e in _EMOTICON.findall(title) if abs(emoticons.get(e, 0)) >= 2}
    return ("positive" if signs.pop() else "negative") if len(signs) == 1 else None


def grams(text: str) -> list[str]:
    """Character 1- and 2-grams of a title with its emoticons stripped (the labels must not be in the features)."""
    chars = [c for c in _EMOTICON.sub("", text) if c.isalnum()]
    return chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]


class NaiveBayes:
    """Multinomial naive Bayes, two classes, add-one smoothing; log_odds > 0 leans positive."""

    def __init__(self, examples: list[tuple[list[str], str]]) -> None:
        counts: dict[str, Counter[str]] = {"positive": Counter(), "negative": Counter()}
        docs = Counter(label for _, label in examples)
        for features, label in examples:
            counts[label].update(features)
        vocab = len(set(counts["positive"]) | set(counts["negative"])) or 1
        totals = {label: sum(c.values()) + vocab for label, c in counts.items()}
        self.prior = math.log((docs["positive"] + 1) / (docs["negative"] + 1))
        self.weights = {g: math.log((counts["positive"][g] + 1) / totals["positive"])
                        - math.log((counts["negative"][g] + 1) / totals["negative"])
                        for g in set(counts["positive"]) | set(counts["negative"])}

    def log_odds(self, features: list[str]) -> float:
        return self.prior + sum(self.weights.get(g, 0.0) for g in features)


def self_training(rows: list[tuple[str, str]], titles: list[str], undecided: list[bool], lexicon: list[str],
                  halves: dict[str, list[int]]) -> list[dict]:
    """Accuracy per half when a naive Bayes fitted on the lexicon's own labels decides the undecided titles."""
    from sentibot.text.tokenizer import sentiment

    examples = [(grams(t), s.label) for t in titles if (s := sentiment(t)).label != "neutral"]
    nb = NaiveBayes(examples)
    figures = []
    for margin in MARGINS:
        got = {name: metrics([(rows[i][1], lexicon[i] if not undecided[i]
                               or abs(lo := nb.log_odds(grams(rows[i][0]))) < margin
                               else "positive" if lo > 0 else "negative") for i in idx])["accuracy"]
               for name, idx in halves.items()}
        print(f"  self-training on {len(examples)} lexicon labels, margin {margin}: "
              + ", ".join(f"{name} {acc:.1%}" for name, acc in got.items()))
        figures.append({"figure": f"lexicon + self-trained NB (margin {margin}), held-out",
                        "value": round(got["held-out half"], 4), "unit": "fraction", "anchor": "-",
                        "anchor_value": "-", "ratio": "-", "goal": "-"})
    return figures


def main(argv: list[str] | None = None) -> list[dict]:
    args = argv or []
    if not DEV.exists():
        print(f"skipped: {DEV} is absent (the labelled titles live in ../shared/data and are not shipped)")
        return []
    from sentibot.text.tokenizer import model, sentiment

    rows = read_rows(DEV)
    titles = corpus({title for title, _ in rows})
    emoticons = model().lexicon.emoticons
    found = [sentiment(title) for title, _ in rows]
    # the model is asked only where the lexicon found cues but no stance (one weak cue, or cues that cancel)
    lexicon = [s.label for s in found]
    undecided = [s.label == "neutral" and bool(s.words) for s in found]
    halves = dict(zip(("tune half", "held-out half"), split(rows), strict=True))
    base = {name: metrics([(rows[i][1], lexicon[i]) for i in idx])["accuracy"] for name, idx in halves.items()}
    print(f"{len(titles)} unlabelled titles after removing the {len(rows)} dev titles; "
          f"{sum(weak_label(t, emoticons) is not None for t in titles)} carry a strong emoticon (weak label)")
    print(f"lexicon alone: tune {base['tune half']:.1%}, held-out {base['held-out half']:.1%}")
    if "--self-training" in args:
        return self_training(rows, titles, undecided, lexicon, halves)
    figures = []
    for size in SIZES:
        for margin in MARGINS:
            gains = {name: 0.0 for name in halves}
            labelled = 0
            for seed in range(SEEDS):
                drawn = titles if size is None else random.Random(seed).sample(titles, min(size, len(titles)))
                examples = [(grams(t), lab) for t in drawn if (lab := weak_label(t, emoticons))]
                labelled += len(examples)
                nb = NaiveBayes(examples)
                for name, idx in halves.items():
                    got = [lexicon[i] if not undecided[i] or abs(lo := nb.log_odds(grams(rows[i][0]))) < margin
                           else "positive" if lo > 0 else "negative" for i in idx]
                    gains[name] += metrics([(rows[i][1], g) for i, g in zip(idx, got, strict=True)])["accuracy"] / SEEDS
                if size is None:
                    break
            runs = 1 if size is None else SEEDS
            print(f"  corpus {size or len(titles):>5} titles ({labelled / runs:>5.0f} weak labels), margin {margin}: "
                  + ", ".join(f"{name} {gains[name] * (SEEDS if size is None else 1):.1%}" for name in halves))
            acc = gains["held-out half"] * (SEEDS if size is None else 1)
            figures.append({"figure": f"lexicon + distant NB ({size or len(titles)} titles, margin {margin}), held-out",
                            "value": round(acc, 4), "unit": "fraction", "anchor": "lexicon alone (held-out)",
                            "anchor_value": round(base["held-out half"], 4),
                            "ratio": round(acc / base["held-out half"], 3), "goal": "-"})
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
