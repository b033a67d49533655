"""Chinese forum text: tokens, sentiment, stock/topic mentions and notice class (the `sentibot analyze` core)."""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import marshal
import math
import os
import re
import sys
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentibot.errors import ConfigError
from sentibot.resources import DICT_DIR
from sentibot.text.notice_class import NoticeClass, classify_notice
from sentibot.text.sentiment import Lexicon, Sentiment, load_lexicon, score_tokens


__all__ = [
    "DICT_DIR", "Mentions", "NoticeClass", "Sentiment", "analyze", "classify_notice", "explain", "mentions",
    "normalize", "sentiment", "tokenize",
]

# Old BSE codes (83/87/88xxxx, 43xxxx) and the new 920xxx codes; not when glued to other digits or followed by a unit
# (a price or a share count: 835000元, 430000股), but 835185股吧 / 股价 / 股票 is the stock.
_CODE_RE = re.compile(r"(?<![0-9])(8[378][0-9]{4}|43[0-9]{4}|920[0-9]{3})(?![0-9]|元|万|亿|点|%|手|股(?![吧价票]))")
_TAG_RE = re.compile(r"<[^<>]{0,300}>")
# Traditional -> simplified for the characters of trading talk (no full converter: jieba's dictionary is simplified,
# and forum posts mix scripts; 北證50漲停 must read as 北证50涨停).
_TRAD = str.maketrans(
    (
        "證漲開戶買賣監風險場個數當們為這還會來時後說對發現點錢價貨資產業際東車長進過從見氣線間實機關頭號與讓"
        "麼嗎無損賺虧億萬幣銀紅綠熱盤創極強彈續穩維報導應讀態勢區緊處覺邊將專層權幾暫帳賬訊傳優務動週題離撐壓"
        "斷衝飆紀罰誡擊謝體樣參經濟總結構質隊補倉單額異臺灣門問貝術網絡電腦寶藥醫療鋰鈉輪軸標準則財費夠紙織紡"
        "設計談論認識該誰變換頂顯歲龍齊鳳書華陽陰雙難雲靈順須預領頻願類顧飛馬驗黃懸獲歷盡戰擬據禮"
    ),
    (
        "证涨开户买卖监风险场个数当们为这还会来时后说对发现点钱价货资产业际东车长进过从见气线间实机关头号与让"
        "么吗无损赚亏亿万币银红绿热盘创极强弹续稳维报导应读态势区紧处觉边将专层权几暂账账讯传优务动周题离撑压"
        "断冲飙纪罚诫击谢体样参经济总结构质队补仓单额异台湾门问贝术网络电脑宝药医疗锂钠轮轴标准则财费够纸织纺"
        "设计谈论认识该谁变换顶显岁龙齐凤书华阳阴双难云灵顺须预领频愿类顾飞马验黄悬获历尽战拟据礼"
    ),
)
_TOPICS = (
    ("北交所", ("北交所", "北京证券交易所")),
    ("北证50", ("北证50", "899050")),
    ("打新", ("打新", "新股申购")),
    ("开户", ("开户",)),
)


@dataclass(frozen=True)
class Mentions:
    """Stocks (by code) and topics a text mentions."""

    stocks: tuple[str, ...]
    topics: tuple[str, ...]


@dataclass(frozen=True)
class _Model:
    segmenter: str  # jieba or jieba_next
    tokenizer: Any  # jieba.Tokenizer with the domain dictionary
    lexicon: Lexicon
    names: dict[str, str]  # short name -> code
    stoplist: frozenset[str]  # names counted only together with their code
    renamed: dict[str, str]  # old code -> current code (the 920xxx switch), where the company list knows it


_model: _Model | None = None
_lock = threading.Lock()


def _lines(path: Path) -> list[str]:
    """Non-comment, non-blank lines of a dictionary file."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read this sentibot dictionary file ({exc.__class__.__name__})") from None
    return [line.strip() for line in raw if line.strip() and not line.lstrip().startswith("#")]


def _company_rows(path: Path) -> list[tuple[str, str, str]]:
    """(code, name, old code or "") of each code<TAB>name[<TAB>old code] line."""
    rows = []
    for line in _lines(path):
        parts = [part.strip() for part in line.split("\t")]
        code, name, old = (parts + [""])[:3]
        if len(parts) not in (2, 3) or not (code.isascii() and code.isdigit() and name) or (old and not (old.isascii() and old.isdigit())):
            raise ConfigError(f"{path}: expected code<TAB>name[<TAB>old code], got {line!r}")
        rows.append((code, name, old))
    return rows


def load_companies(path: Path) -> dict[str, str]:
    """Read a code<TAB>name[<TAB>old code] company list into {name: code}."""
    return {name: code for code, name, _ in _company_rows(path)}


def available_segmenter() -> str:
    """"jieba_next" when that optional package is installed (same results, ~3x faster), else "jieba"."""
    try:
        import jieba_next  # noqa: F401
    except ImportError:
        return "jieba"
    return "jieba_next"


def _segmenter_module(segmenter: str):
    if segmenter == "jieba":
        import jieba

        jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading at DEBUG to stderr
        return jieba
    # jieba-next (Rust DAG) with its bundled dict.txt, byte-identical to jieba's: tokens identical to jieba's
    # (tests/test_segmenter.py checks both). jieba itself is not imported: its import alone costs ~0.2 s.
    import jieba_next

    jieba_next.set_log_level(logging.WARNING)
    return jieba_next


def _new_tokenizer(segmenter: str):
    tokenizer = _segmenter_module(segmenter).Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _kept_whole(word: str, freq: dict[str, int], total: int) -> bool:
    """Whether jieba's cut (HMM off) keeps word as one token: its max-probability route over the word's DAG.

    The same calculation as jieba's, done here so no cut is needed while words are still being added (with
    jieba-next every add_word makes the next cut rebuild its tables).
    """
    n, log_total = len(word), math.log(total)
    route = [(0.0, 0)] * (n + 1)
    for k in range(n - 1, -1, -1):
        ends = [j for j in range(k, n) if freq.get(word[k:j + 1])] or [k]
        route[k] = max((math.log(freq.get(word[k:j + 1]) or 1) - log_total + route[j + 1][0], j) for j in ends)
    return route[0][1] == n - 1


def _build(dict_dir: Path, segmenter: str, cache_dir: Path | None = None) -> _Model:
    """The model from the dictionaries in dict_dir; with cache_dir, the tokenizer comes from (or goes to) its cache."""
    companies = _company_rows(dict_dir / "bse_companies.txt")  # read every file first: a bad one fails fast
    names = {name: code for code, name, _ in companies}
    renamed = {old: code for code, _, old in companies if old}
    lexicon = load_lexicon(dict_dir / "sentiment.txt", dict_dir / "negators.txt")
    stoplist = frozenset(_lines(dict_dir / "mention_stoplist.txt"))
    userdict = _lines(dict_dir / "userdict.txt")
    cache = cache_dir / f"tokenizer-{segmenter}.marshal" if cache_dir else None
    key = _cache_key(dict_dir, segmenter) if cache else ""
    tokenizer = _load_tokenizer(cache, key, segmenter) if cache else None
    if tokenizer is None:
        tokenizer = _domain_tokenizer(segmenter, userdict, names, lexicon)
        if cache:
            _save_tokenizer(cache, key, tokenizer)
    tokenizer.lcut("北交所", HMM=False)  # builds lazy internals (jieba-next's prefix table) here, under the lock
    return _Model(segmenter, tokenizer, lexicon, names, stoplist, renamed)


def _domain_tokenizer(segmenter: str, userdict: list[str], names: dict[str, str], lexicon: Lexicon):
    """jieba's tokenizer with the user dictionary, the company names and the lexicon phrases added."""
    tokenizer = _new_tokenizer(segmenter)
    for line in userdict:
        word, *rest = line.split()
        tokenizer.add_word(word, int(rest[0]) if rest else None, rest[1] if len(rest) > 1 else None)
    # Names and lexicon phrases become single tokens, so a phrase wins over its parts (利空出尽 over 利空).
    # Words jieba knows keep its frequency (fewer side effects on neighbours) unless it is too low to keep them
    # whole (拿住). That is checked before any add_word: each add_word makes the next cut rebuild jieba's tables.
    phrases = lexicon.phrases()
    split = {w for w in phrases if tokenizer.FREQ.get(w) and not _kept_whole(w, tokenizer.FREQ, tokenizer.total)}
    for name in names:
        tokenizer.add_word(name, 100000, "nz")
    for word in phrases:
        if not tokenizer.FREQ.get(word) or word in split:
            tokenizer.add_word(word, 100000)
    return tokenizer


# The tokenizer's state (jieba's prefix dictionary with our words added) is cached in one file per segmenter.
# jieba's own cache is read with marshal.load on a file object, which costs ~3x marshal.loads on the same bytes
# (benchmarks/bench_text.py times both); the cached state also spares the add_word calls and a second build of
# jieba-next's prefix table. The key covers everything the state derives from, so a stale file is rebuilt.
_CACHE_FORMAT = 1


def tokenizer_cache_dir() -> Path | None:
    """Where the tokenizer cache lives: $XDG_CACHE_HOME/sentibot, else ~/.cache/sentibot; None without a home."""
    base = Path(os.environ.get("XDG_CACHE_HOME", ""))
    if not base.is_absolute():  # the XDG spec: a relative path is ignored
        try:
            base = Path.home() / ".cache"
        except (RuntimeError, KeyError):  # no HOME and no passwd entry (a container's arbitrary uid)
            return None
    return Path(base) / "sentibot"


def _cache_key(dict_dir: Path, segmenter: str) -> str:
    module = _segmenter_module(segmenter)
    head = f"{_CACHE_FORMAT} {segmenter} {module.__version__} {sys.version} "
    return hashlib.sha256(head.encode() + _inputs_digest(dict_dir).encode()).hexdigest()


def _load_tokenizer(path: Path, key: str, segmenter: str):
    """The cached tokenizer, or None when the file is missing, unreadable, damaged or for other inputs."""
    try:
        state = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(state, tuple) and len(state) == 4 and state[0] == key):
        return None
    _, freq, total, tags = state
    if not (isinstance(freq, dict) and isinstance(total, int) and total > 0 and isinstance(tags, dict)):
        return None
    tokenizer = _segmenter_module(segmenter).Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.user_word_tag_tab = freq, total, tags
    tokenizer.initialized = True  # jieba's initialize() would load its own dictionary over this state
    return tokenizer


def _save_tokenizer(path: Path, key: str, tokenizer) -> None:
    """Write the cache atomically (a reader never sees half a file); a cache that cannot be written is skipped."""
    data = marshal.dumps((key, tokenizer.FREQ, tokenizer.total, tokenizer.user_word_tag_tab))
    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        logging.getLogger(__name__).debug("tokenizer cache not written to %s: %s", path, exc)
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def model() -> _Model:
    """The process-wide tokenizer and dictionaries, loaded once on first use (thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _build(DICT_DIR, available_segmenter(), tokenizer_cache_dir())
    return _model


def _inputs_digest(dict_dir: Path) -> str:
    """sha256 of the dictionaries in dict_dir and the code of the rules (tokenizer.py, sentiment.py, cues.py)."""
    digest = hashlib.sha256()
    code = [Path(__file__).with_name(name) for name in ("tokenizer.py", "sentiment.py", "cues.py")]
    for path in [*sorted(dict_dir.glob("*.txt")), *code]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def fingerprint() -> str:
    """A digest of what decides a sentiment label: the dictionaries and the code of the rules.

    Stored labels (posts.sentiment) computed under another fingerprint are stale and are scored again.
    """
    return _inputs_digest(DICT_DIR)[:16]


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), common traditional characters simplified, HTML removed."""
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return unicodedata.normalize("NFKC", text).translate(_TRAD)


def _tokens(clean: str, m: _Model) -> list[str]:
    # HMM off: the domain dictionary makes it unnecessary for titles, and it is ~1.5x faster (DESIGN.md).
    return [t for t in m.tokenizer.lcut(clean, HMM=False) if not t.isspace()]


def tokenize(text: str) -> list[str]:
    """Words of a text, segmented by jieba with the domain dictionary; whitespace dropped."""
    return _tokens(normalize(text), model())


def sentiment(text: str) -> Sentiment:
    """Forum-title sentiment from the shipped lexicon, with the words that decided it."""
    clean, m = normalize(text), model()
    return score_tokens(_tokens(clean, m), clean, m.lexicon)


def _mentions(tokens: list[str], clean: str, m: _Model) -> Mentions:
    codes = _CODE_RE.findall(clean) if any(c.isdigit() for c in clean) else []
    found = dict.fromkeys(m.renamed.get(code, code) for code in codes)  # an old code counts as the current one
    for token in tokens:
        code = m.names.get(token)
        if code and (token not in m.stoplist or code in found):
            found[code] = None
    stocks = tuple(found)  # dict keys: first-seen order, no duplicates
    topics = tuple(topic for topic, words in _TOPICS if any(w in clean for w in words))
    return Mentions(stocks, topics)


def mentions(text: str) -> Mentions:
    """BSE stocks (by name or code) and topics (北交所, 北证50, 打新, 开户) a text mentions."""
    clean, m = normalize(text), model()
    return _mentions(_tokens(clean, m), clean, m)


def explain(text: str) -> tuple[dict, Sentiment]:
    """The `analyze` row and the full Sentiment (with its deciding words), from one pass."""
    clean, m = normalize(text), model()
    tokens = _tokens(clean, m)
    senti = score_tokens(tokens, clean, m.lexicon)
    found = _mentions(tokens, clean, m)
    notice = classify_notice(clean)
    row = {
        "text": text,
        "tokens": tokens,
        "sentiment": senti.score,
        "label": senti.label,
        "mentions": {"stocks": list(found.stocks), "topics": list(found.topics)},
        "notice_class": {"label": notice.label, "severity": notice.severity, "triggers": list(notice.triggers)},
    }
    return row, senti


def analyze(text: str) -> dict:
    """Everything about one text, as one `sentibot analyze --json` row."""
    return explain(text)[0]
