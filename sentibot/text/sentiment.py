"""Lexicon sentiment for forum titles: phrases as tokens, negation, Guba emoticons; explainable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sentibot.errors import ConfigError
from sentibot.text.cues import (
    ACTIONS, ALWAYS_ASKING, ASK, ASKED, ASKING, BUYS, CHANCES, CLAUSE_END, CLOSE, COMPLAINT, CONTRAST, CONTRASTS,
    CONTRAST_DAMPEN, DEGREE_PREFIX, DEGREE_WORDS, DENIAL, DENIALS, DOWN_OCCASIONS, EMOTICON_RE, EMOTICON_TOKENS, END,
    ENDER, ENDERS, FOOLS, INTENSIFIER, INTENSIFIERS, INTENSIFY, IRONIC, IRONY, MA, NEGATION_WINDOW, NEGATOR,
    NEUTRAL_MARGIN, OPEN, OTHERS, PARTICLE_SUFFIX, PRAISE, PROFITS, RHETORICAL, SELLS, SHORTS, SQUASH, STALLS,
    STALL_TAILS, TAG_QUESTION, TARGET, TARGET_FILLERS, TARGET_VERBS, UP_OCCASIONS, WEAK_DOWN, WEAK_UP,
)


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
    controls: dict[str, int] = field(init=False, repr=False, compare=False)  # token -> role, built below
    glued: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # every token that is not a plain word, with its role: one dict lookup per token in score_tokens
        controls = {t: END for t in CLAUSE_END} | {"吗": MA, "[": OPEN, "]": CLOSE}
        controls |= {t: CONTRAST for t in CONTRASTS} | {t: INTENSIFIER for t in INTENSIFIERS}
        controls |= {t: NEGATOR for t in self.negators} | {t: ENDER for t in ENDERS if t not in self.weights}
        controls |= {t: ASK for t in ASKING if t not in self.weights and t not in controls}
        controls |= {t: IRONIC for t in IRONY if t not in self.weights}
        controls |= {t: DENIAL for t in DENIALS if t not in self.weights}
        object.__setattr__(self, "controls", controls)
        # first characters that may be glued to a word (不涨, 太弱): a cheap test before _lookup
        object.__setattr__(self, "glued", frozenset(DEGREE_PREFIX) | {n for n in self.negators if len(n) == 1})

    def phrases(self) -> list[str]:
        """Multi-character words that should be single tokens."""
        rules = self.negators | DENIALS | SELLS | BUYS | SHORTS  # the rules' words must be tokens (换股)
        return [w for w in self.weights if len(w) > 1] + sorted(w for w in rules - self.weights.keys() if len(w) > 1)


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


def _lookup(token: str, weights: dict[str, float], negators: frozenset[str]) -> tuple[float, str] | None:
    """(weight, shown) of an unknown token of 2+ characters: a word with a glued negator, degree, particle, or 涨/跌."""
    head, rest = token[0], token[1:]
    if head in negators and rest in weights:  # jieba may glue a one-character negator to the word (不涨, 没跌)
        return -weights[rest], token
    if head in DEGREE_PREFIX and rest in weights:
        return weights[rest] * INTENSIFY, token
    if token[-1] in PARTICLE_SUFFIX and token[:-1] in weights:
        return weights[token[:-1]], token
    up, down = "涨" in token, "跌" in token
    if up != down:  # both (涨跌) says nothing
        return (WEAK_UP if up else WEAK_DOWN), token
    return None


def score_tokens(tokens: list[str], clean: str, lexicon: Lexicon, margin: float = NEUTRAL_MARGIN) -> Sentiment:
    """Sum lexicon weights clause by clause, with negation, intensifiers, questions, contrast and emoticons.

    One pass over the tokens. A clause ends at punctuation; its sum is then adjusted as a whole: a bullish clause
    ending in 吗 is a doubt (还能涨吗) and counts as bearish, a clause ending in "!" is intensified, and after a
    contrast word (但, 可惜 ...) the evidence before it counts half. A total below `margin` in size is neutral.
    docs/text.md lists every rule with an example.
    """
    weights, negators = lexicon.weights, lexicon.negators
    total = 0.0  # closed clauses
    clause = 0.0  # the open clause
    words: list[str] = []
    clause_start = 0  # index in words where the open clause's words begin
    last_negator = last_intensifier = -10
    negator = denied = rhetoric = ""
    complaint = False
    asking = ironic = ""
    occasion: tuple[str, float] | None = None  # the last move word that may be the occasion for an action
    acted: tuple[str, float] | None = None  # the open clause's last sell or buy action, and its weight
    sold: tuple[str, float] | None = None  # the title's first sell: a buy after it is the other side of a switch
    shorted = ""  # the title's short (卖空): a profit after it is made on the fall
    negated: tuple[str, float] | None = None  # the clause's negated action (不跑), and the weight it counted
    urged = ""  # the action after the clause's negator: 不跑的就是傻子 urges it
    praise = 0.0  # weight counted for praise words: turned when the rest of the title is bearish
    fell = 1 << 30  # index of the open clause's first fall word (a target after it is where the fall ends)
    asked = ""
    opened = -10  # index of the last "[": tokens of an emoticon name ([看多]) are counted below, not here
    controls = lexicon.controls
    glued = lexicon.glued
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        role = controls.get(token)
        if role is None:
            if i - opened <= EMOTICON_TOKENS:  # inside an emoticon; a stray "[" (cut-off title) hides a few tokens
                continue
            after = tokens[i + 1] if i < last else ""
            if token in DEGREE_WORDS and ((i and tokens[i - 1] == "得") or after in weights):
                last_intensifier = i  # 套得好紧, 好难受, 严重低估: a degree adverb, not a word of its own
                continue
            weight = weights.get(token)
            if weight is not None:
                shown = token
            elif len(token) > 1 and (token[0] in glued or token[-1] in PARTICLE_SUFFIX or "涨" in token
                                     or "跌" in token) and (found := _lookup(token, weights, negators)):
                weight, shown = found
            elif i and token.isdigit() and (tokens[i - 1] in TARGET_VERBS or (
                    i > 1 and tokens[i - 1] in TARGET_FILLERS and tokens[i - 2] in TARGET_VERBS)):
                # 上2000, 目标价在1800: a price target; after a fall named in the clause it is where the fall ends
                at = i - 1 if tokens[i - 1] in TARGET_VERBS else i - 2
                weight, shown = (-TARGET if fell < at else TARGET), tokens[at] + token
            else:
                if token in SELLS:  # an action outside the lexicon (换股) still says what a chance is for
                    acted = (token, 0.0)
                    if occasion and occasion[1] > 0 and i - last_negator > NEGATION_WINDOW:  # 冲高就走
                        clause -= occasion[1] + 1.0
                        words[words.index(occasion[0])] = occasion[0] + "…" + token
                        occasion = None
                continue
            plain = shown == token
            if urged and plain and token in FOOLS:  # 不跑的就是傻子: whoever does not act is the fool, so act
                sign = -1.0 if urged in SELLS else 1.0
                back = negated[1] if negated else 0.0  # what the negated action counted
                clause += sign * max(1.0, abs(back)) - back
                if negated:
                    words.remove(negated[0])
                if occasion and (occasion[1] > 0) != (sign > 0):  # 趁反弹不走就是傻: the rebound says when
                    clause -= occasion[1]
                    words.remove(occasion[0])
                words.append(negator + urged + "…" + token)
                negated, urged, occasion = None, "", None
                continue
            if denied and plain:  # 不信你还能涨
                weight, shown = -weight, denied + token
            elif i - last_negator <= NEGATION_WINDOW and plain:
                if rhetoric and token in ACTIONS:  # 还不跑, 怎么不买: urges the action, keep the sign
                    shown = rhetoric + negator + token
                elif complaint:  # 怎么还不跌: impatience with the price, bearish whichever way it was hoped to go
                    weight, shown = -abs(weight), asked + negator + token
                else:
                    weight, shown = -weight, negator + token
                    negated = (shown, weight) if token in ACTIONS else negated
            if plain and (after in STALLS or (after == "不" and i + 1 < last and tokens[i + 2] in STALL_TAILS)):
                weight, shown = -weight, "".join(tokens[i:i + 2 + (after == "不")])  # 香不动了: run out
            if plain and token in BUYS and (after in OTHERS or (i + 1 < last and tokens[i + 2] in OTHERS)):
                weight, shown = -max(1.5, abs(weight)), token + (after if after in OTHERS else tokens[i + 2])
            if shorted and plain and token in PROFITS and weight > 0:
                weight, shown = -weight, shorted + token  # 卖空又大赚了: the profit came from the fall
            if i - last_intensifier <= NEGATION_WINDOW:
                weight *= INTENSIFY
            if token in CHANCES and acted and acted[0] in SELLS and shown == token:
                # 反弹是卖出的机会: the chance is to sell; the clause's bullish words only said when
                clause = -(abs(acted[1]) + abs(weight))
                total = min(total, 0.0)  # 到处利好,正是卖空的机会: the good news before is the occasion too
                del words[clause_start:]
                words.append(acted[0] + token)
                occasion = None
                continue
            if sold and shown == token and token in BUYS and weight > 0:
                # 卖茅台,买入别家: the buy is of the other stock; the sell is the stance, at least a plain one
                clause += min(0.0, -1.0 - sold[1])
                sold = (sold[0], -1.0)
                continue
            if weight < 0 and fell > i and (token in DOWN_OCCASIONS or "跌" in token):
                fell = i
            if shown not in words:  # a repeated word is emphasis, not new evidence (分红...分红...分红)
                clause += weight
                if token in PRAISE and weight > 0:
                    praise += weight
            if shown == token and (token in SELLS or token in BUYS):
                acted = (token, weight)
                if token in SELLS and sold is None:
                    sold = (token, weight)
                shorted = shorted or (token if token in SHORTS else "")
            if occasion and (token in SELLS if occasion[1] > 0 else token in BUYS) and shown == token:
                clause -= occasion[1]  # 反弹就卖空: the rebound is when to sell, not a bullish cue
                words.remove(occasion[0])
                occasion = None
            elif token in UP_OCCASIONS or token in DOWN_OCCASIONS:
                occasion = (shown, weight) if shown == token and shown not in words else None
            words.append(shown)
        elif role == OPEN:
            opened = i
        elif role == CLOSE:
            opened = -10
        elif i - opened <= EMOTICON_TOKENS:
            continue
        elif role == END or role == MA:
            if role != MA and tokens[i - 1] in TAG_QUESTION:  # 坐稳了没,准备发射: asks, doubts nothing
                clause *= ASKED
            else:
                clause = _close(clause, token, role == MA, asking, words)
            total += clause
            clause = 0.0
            clause_start = len(words)
            asking = denied = ""
            acted = negated = None
            urged = ""
            fell = 1 << 30
            last_negator = last_intensifier = -10  # negation and intensity do not reach past the clause
        elif role == CONTRAST:
            total = (total + clause) * CONTRAST_DAMPEN
            clause = 0.0
            clause_start = len(words)
        elif role == ENDER or role == DENIAL:
            if clause:  # 反弹结束: the move named before it is over; 上2000根本不可能: the claim is denied
                clause = -clause
                words.append(token)
            elif role == DENIAL:  # 不可能跌, 不信你还能涨: a denial before the claim negates it
                denied = token
        elif role == ASK:
            asking = token
        elif role == IRONIC:
            ironic = token
        elif role == NEGATOR:
            rhetoric = tokens[i - 1] if i > 0 and tokens[i - 1] in RHETORICAL else ""
            complaint = bool(rhetoric) and (rhetoric != "还" or (i > 1 and tokens[i - 2] in COMPLAINT))
            asked = (tokens[i - 2] if rhetoric == "还" else "") + rhetoric if complaint else ""
            last_negator, negator = i, token
            urged = tokens[i + 1] if i < last and tokens[i + 1] in ACTIONS else urged
        else:  # INTENSIFIER
            last_intensifier = i
    if asking in ALWAYS_ASKING:  # the last clause, left open (能否见底)
        clause *= ASKED
    elif tokens and tokens[-1] in TAG_QUESTION:  # 有机会解套不
        clause *= ASKED
    total += clause
    if "[" in clean:
        for emoticon in EMOTICON_RE.findall(clean):
            weight = lexicon.emoticons.get(emoticon)
            if weight is not None:
                weight = weight if emoticon not in words else weight * 0.25
                total += weight
                praise += weight if emoticon in PRAISE and weight > 0 else 0.0
                words.append(emoticon)
    if praise and total - praise <= -margin:  # 牛逼,8连阴: the praise mocks a bearish fact
        total -= 2 * praise
    if ironic and total > 0:  # the bullish words are what is being mocked
        total = -total
        words.append(ironic)
    if abs(total) < margin:  # one weak cue, or cues that cancel: no stance a reader would name
        return Sentiment(0.0, "neutral", tuple(words))
    score = round(total / (abs(total) + SQUASH), 3)
    label = "positive" if total > 0 else "negative"
    return Sentiment(score, label, tuple(words))


def _close(clause: float, token: str, yes_no: bool, asking: str, words: list[str]) -> float:
    """The weight a clause keeps when it ends at token: questions count half, a bullish 吗 doubts, "!" raises."""
    if asking and (asking in ALWAYS_ASKING or yes_no or token == "?"):  # 该不该卖?: asks, takes no side
        return clause * ASKED
    if yes_no and clause > 0:  # 还能涨吗: a bullish claim put as a question is a doubt
        words.append("吗")
        return -clause * ASKED
    if yes_no:  # 会跌吗: a fear asked about, not stated
        return clause * ASKED
    return clause * INTENSIFY if token == "!" else clause
