"""The optional jieba-next fast path gives exactly jieba's tokens (same dictionary, same user words)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sentibot.text import tokenizer as text
from tests.support.paths import SHARED_DATA

DATA = SHARED_DATA
TITLES = DATA / "guba_titles_600519_2022-11.csv"


@pytest.mark.slow
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


@pytest.mark.slow
def test_fast_segmenter_bundles_jiebas_own_dictionary():
    # the fast path loads jieba-next's bundled dict.txt (so jieba itself need not be imported); the tokens are
    # only the same while that file is byte-identical to jieba's
    jieba_next = pytest.importorskip("jieba_next", reason="jieba-next (the optional fast segmenter) is not installed")
    import jieba

    bundled = Path(jieba_next.__file__).with_name("dict.txt").read_bytes()
    assert bundled == Path(jieba.__file__).with_name("dict.txt").read_bytes()


def _copy_dicts(dest: Path) -> Path:
    dest.mkdir()
    for path in text.DICT_DIR.glob("*.txt"):
        (dest / path.name).write_bytes(path.read_bytes())
    return dest


def _real_or_sample_titles() -> list[str]:
    if TITLES.exists():
        with TITLES.open(encoding="utf-8-sig", newline="") as fh:
            return [text.normalize(row["title"]) for row in csv.DictReader(fh)]
    return [text.normalize(t) for t in ("北交所北证50利空出尽", "拿住别卖，明天涨停", "835185 今天炸板了", "割韭菜的来了")]


@pytest.mark.slow
def test_cached_tokenizer_gives_the_same_tokens_and_skips_the_build(tmp_path, monkeypatch):
    segmenter = text.available_segmenter()
    fresh = text._build(text.DICT_DIR, segmenter)
    first = text._build(text.DICT_DIR, segmenter, tmp_path)  # builds and writes the cache
    assert (tmp_path / f"tokenizer-{segmenter}.marshal").is_file()

    def no_build(*args):
        raise AssertionError("the tokenizer was built although a valid cache exists")

    monkeypatch.setattr(text, "_domain_tokenizer", no_build)
    cached = text._build(text.DICT_DIR, segmenter, tmp_path)
    assert cached.tokenizer.FREQ == fresh.tokenizer.FREQ and cached.tokenizer.total == fresh.tokenizer.total
    titles = _real_or_sample_titles()
    assert [text._tokens(t, cached) for t in titles] == [text._tokens(t, fresh) for t in titles]
    assert [text._tokens(t, first) for t in titles] == [text._tokens(t, fresh) for t in titles]


@pytest.mark.slow
@pytest.mark.parametrize("damage", [b"", b"not marshal data", "truncated", "other key", "wrong shape"])
def test_a_damaged_or_stale_cache_is_rebuilt(tmp_path, damage):
    import marshal

    segmenter = text.available_segmenter()
    text._build(text.DICT_DIR, segmenter, tmp_path)
    cache = tmp_path / f"tokenizer-{segmenter}.marshal"
    good = cache.read_bytes()
    if damage == "truncated":
        cache.write_bytes(good[: len(good) // 2])
    elif damage == "other key":
        _, freq, total, tags = marshal.loads(good)
        cache.write_bytes(marshal.dumps(("0" * 64, {"北交所": 1}, 1, tags)))
    elif damage == "wrong shape":
        cache.write_bytes(marshal.dumps((marshal.loads(good)[0], ["a list"], "1", {})))
    else:
        cache.write_bytes(damage)
    model = text._build(text.DICT_DIR, segmenter, tmp_path)
    assert text._tokens("北交所北证50利空出尽", model) == ["北交所", "北证50", "利空出尽"]
    assert cache.read_bytes() == good  # rewritten whole


@pytest.mark.slow
def test_a_changed_dictionary_does_not_reuse_the_cache(tmp_path):
    segmenter = text.available_segmenter()
    dicts, cache = _copy_dicts(tmp_path / "dict"), tmp_path / "cache"
    assert text._tokens("韭菜盒子王", text._build(dicts, segmenter, cache)) != ["韭菜盒子王"]
    with (dicts / "userdict.txt").open("a", encoding="utf-8") as fh:
        fh.write("\n韭菜盒子王 100000\n")
    assert text._tokens("韭菜盒子王", text._build(dicts, segmenter, cache)) == ["韭菜盒子王"]


@pytest.mark.slow
def test_an_unwritable_cache_directory_only_costs_the_build(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would be")
    model = text._build(text.DICT_DIR, text.available_segmenter(), blocker / "sentibot")
    assert text._tokens("北交所", model) == ["北交所"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_cache_directory_follows_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert text.tokenizer_cache_dir() == tmp_path / "sentibot"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert text.tokenizer_cache_dir() == Path.home() / ".cache" / "sentibot"


@pytest.mark.slow
def test_no_home_directory_means_no_cache_not_a_crash(monkeypatch, tmp_path):
    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert text.tokenizer_cache_dir() is None
    # jieba-next honours a relative XDG_CACHE_HOME for its own cache: run where that writes under tmp_path,
    # never into the checkout (a 9 MB cache was once committed from here)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # ignored, as the XDG spec says
    assert text.tokenizer_cache_dir() is None
    assert text._tokens("北交所", text._build(text.DICT_DIR, text.available_segmenter(), None)) == ["北交所"]
