"""Chinese forum text: tokens, sentiment, stock/topic mentions and notice class (the `sentibot analyze` core)."""

from __future__ import annotations

import html
import logging
import re
import threading
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

from sentibot.notice_class import NoticeClass, classify_notice
from sentibot.sentiment import Lexicon, Sentiment, load_lexicon, score_tokens

DICT_DIR = Path(__file__).resolve().parents[1] / "data" / "dict"

__all__ = [
    "DICT_DIR", "Mentions", "NoticeClass", "Sentiment", "analyze", "classify_notice", "mentions", "normalize",
    "sentiment", "tokenize",
]

# Old BSE codes (83/87/88xxxx, 43xxxx) and the new 920xxx codes; not when glued to other digits or a unit (a price).
_CODE_RE = re.compile(r"(?<![0-9])(8[378][0-9]{4}|43[0-9]{4}|920[0-9]{3})(?![0-9]|元|万|亿|点|%|手|股)")
_TAG_RE = re.compile(r"<[^<>]{0,300}>")
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
    tokenizer: object  # jieba.Tokenizer with the domain dictionary
    lexicon: Lexicon
    names: dict[str, str]  # short name -> code
    stoplist: frozenset[str]  # names counted only together with their code


_model: _Model | None = None
_lock = threading.Lock()


def _lines(path: Path):
    """Non-comment, non-blank lines of a dictionary file."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def load_companies(path: Path) -> dict[str, str]:
    """Read a code<TAB>name company list into {name: code}."""
    names = {}
    for line in _lines(path):
        code, _, name = line.partition("\t")
        names[name.strip()] = code.strip()
    return names


def _build(dict_dir: Path) -> _Model:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary loading at DEBUG to stderr
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    names = load_companies(dict_dir / "bse_companies.txt")
    lexicon = load_lexicon(dict_dir / "sentiment.txt", dict_dir / "negators.txt")
    for line in _lines(dict_dir / "userdict.txt"):
        word, *rest = line.split()
        tokenizer.add_word(word, int(rest[0]) if rest else None, rest[1] if len(rest) > 1 else None)
    # Names and lexicon phrases become single tokens, so a phrase wins over its parts (利空出尽 over 利空).
    for name in names:
        tokenizer.add_word(name, 100000, "nz")
    for word in lexicon.phrases():
        tokenizer.add_word(word, 100000)
    stoplist = frozenset(_lines(dict_dir / "mention_stoplist.txt"))
    return _Model(tokenizer, lexicon, names, stoplist)


def model() -> _Model:
    """The process-wide tokenizer and dictionaries, loaded once on first use (thread-safe)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _build(DICT_DIR)
    return _model


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), HTML tags and entities removed."""
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    return unicodedata.normalize("NFKC", text)


def _tokens(clean: str) -> list[str]:
    # HMM off: the domain dictionary makes it unnecessary for titles, and it is ~1.6x faster (DESIGN.md).
    return [t for t in model().tokenizer.lcut(clean, HMM=False) if not t.isspace()]


def tokenize(text: str) -> list[str]:
    """Words of a text, segmented by jieba with the domain dictionary; whitespace dropped."""
    return _tokens(normalize(text))


def sentiment(text: str) -> Sentiment:
    """Forum-title sentiment from the shipped lexicon, with the words that decided it."""
    clean = normalize(text)
    return score_tokens(_tokens(clean), clean, model().lexicon)


def _mentions(tokens: list[str], clean: str) -> Mentions:
    m = model()
    codes = _CODE_RE.findall(clean) if any(c.isdigit() for c in clean) else []
    found = dict.fromkeys(codes)
    for token in tokens:
        code = m.names.get(token)
        if code and (token not in m.stoplist or code in found):
            found[code] = None
    stocks = tuple(dict.fromkeys(code for code in found))
    topics = tuple(topic for topic, words in _TOPICS if any(w in clean for w in words))
    return Mentions(stocks, topics)


def mentions(text: str) -> Mentions:
    """BSE stocks (by name or code) and topics (北交所, 北证50, 打新, 开户) a text mentions."""
    clean = normalize(text)
    return _mentions(_tokens(clean), clean)


def analyze(text: str) -> dict:
    """Everything about one text, as one `sentibot analyze --json` row."""
    clean = normalize(text)
    tokens = _tokens(clean)
    senti = score_tokens(tokens, clean, model().lexicon)
    return {
        "text": text,
        "tokens": tokens,
        "sentiment": senti.score,
        "label": senti.label,
        "mentions": asdict(_mentions(tokens, clean)),
        "notice_class": asdict(classify_notice(clean)),
    }
