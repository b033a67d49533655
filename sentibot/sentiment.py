"""Lexicon sentiment for forum titles: phrases as tokens, negation, Guba emoticons; explainable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sentibot.errors import ConfigError

_EMOTICON_RE = re.compile(r"\[[^\[\]\s]{1,8}\]")
_EMOTICON_TOKENS = 3  # an emoticon name is at most this many tokens
_NEGATION_WINDOW = 2  # a negator up to two tokens before a word flips it (不会 大涨, 没 什么 利好)
_QUESTION = -1.0  # a forum question casts doubt ("牛市回归?", "能否见底?"): mildly bearish on its own
_SQUASH = 2.0  # score = total / (|total| + _SQUASH): one strong word gives ~0.5, several approach 1


@dataclass(frozen=True)
class Sentiment:
    """Score in [-1, 1], its label, and the words that decided it (negated ones prefixed by their negator)."""

    score: float
    label: str  # positive | negative | neutral
    words: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Weighted words and emoticons, and the negators that flip them."""

    weights: dict[str, float]
    emoticons: dict[str, float]
    negators: frozenset[str]

    def phrases(self) -> list[str]:
        """Multi-character words that should be single tokens."""
        return [w for w in self.weights if len(w) > 1] + [w for w in self.negators if len(w) > 1]


def _entries(path: Path) -> list[tuple[int, str]]:
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read this sentibot lexicon file ({exc.__class__.__name__})") from None
    return [(n, line.strip()) for n, line in enumerate(raw, 1) if line.strip() and not line.strip().startswith("#")]


def load_lexicon(path: Path, negators_path: Path) -> Lexicon:
    """Read word<TAB>weight lines; [bracketed] entries are Guba emoticons."""
    weights: dict[str, float] = {}
    emoticons: dict[str, float] = {}
    for number, line in _entries(path):
        word, _, raw = line.partition("\t")
        try:
            weight = float(raw)
        except ValueError:
            raise ConfigError(f"{path}:{number}: expected word<TAB>weight, got {line!r}") from None
        (emoticons if word.startswith("[") else weights)[word] = weight
    negators = frozenset(line for _, line in _entries(negators_path))
    return Lexicon(weights, emoticons, negators)


def score_tokens(tokens: list[str], clean: str, lexicon: Lexicon) -> Sentiment:
    """Sum the weights of lexicon tokens (flipped after a negator) and of emoticons in the text."""
    weights, negators = lexicon.weights, lexicon.negators
    total = 0.0
    words: list[str] = []
    last_negator = -10
    negator = ""
    opened = -10  # index of the last "[": tokens of an emoticon name ([看多]) are counted below, not here
    for i, token in enumerate(tokens):
        if token == "[":
            opened = i
            continue
        if token == "]":
            opened = -10
            continue
        if i - opened <= _EMOTICON_TOKENS:  # a stray "[" (a cut-off title) stops hiding words after a few tokens
            continue
        if token in negators:
            last_negator, negator = i, token
            continue
        weight = weights.get(token)
        if weight is None:
            # jieba may glue a one-character negator to the word (不涨, 没跌)
            if len(token) > 1 and token[0] in negators and token[1:] in weights:
                weight, shown = -weights[token[1:]], token
            else:
                continue
        elif i - last_negator <= _NEGATION_WINDOW:
            weight, shown = -weight, negator + token
        else:
            shown = token
        total += weight
        words.append(shown)
    if "[" in clean:
        for emoticon in _EMOTICON_RE.findall(clean):
            weight = lexicon.emoticons.get(emoticon)
            if weight is not None:
                total += weight
                words.append(emoticon)
    if "?" in clean:  # text is NFKC-normalised, so ？ arrives as ?
        total += _QUESTION
        words.append("?")
    score = round(total / (abs(total) + _SQUASH), 3)
    label = "positive" if total > 0 else "negative" if total < 0 else "neutral"
    return Sentiment(score, label, tuple(words))
