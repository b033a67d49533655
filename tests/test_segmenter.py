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


def test_fast_segmenter_bundles_jiebas_own_dictionary():
    # the fast path loads jieba-next's bundled dict.txt (so jieba itself need not be imported); the tokens are
    # only the same while that file is byte-identical to jieba's
    jieba_next = pytest.importorskip("jieba_next", reason="jieba-next (the optional fast segmenter) is not installed")
    import jieba

    bundled = Path(jieba_next.__file__).with_name("dict.txt").read_bytes()
    assert bundled == Path(jieba.__file__).with_name("dict.txt").read_bytes()
