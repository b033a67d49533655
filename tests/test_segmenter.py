"""The optional jieba-next fast path gives exactly jieba's tokens (same dictionary, same user words)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sentibot import text

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TITLES = DATA / "guba_titles_600519_2022-11.csv"


def test_fast_segmenter_tokens_are_identical_on_real_titles():
    pytest.importorskip("jieba_next", reason="jieba-next (the optional fast segmenter) is not installed")
    if not TITLES.exists():
        pytest.skip(f"{TITLES} is absent: the real Guba titles live in ../shared/data and are not shipped")
    with TITLES.open(encoding="utf-8-sig", newline="") as fh:
        titles = [text.normalize(row["title"]) for row in csv.DictReader(fh)]
    default = text.model()
    plain = default if default.segmenter == "jieba" else text._build(text.DICT_DIR, "jieba")
    fast = default if default.segmenter == "jieba_next" else text._build(text.DICT_DIR, "jieba_next")
    assert len(titles) == 3360
    differing = [t for t in titles if text._tokens(t, plain) != text._tokens(t, fast)]
    assert differing == []


def test_default_segmenter_is_the_fast_one_when_installed():
    assert text.model().segmenter == text.available_segmenter()
