"""Lexicon sentiment for forum titles: phrases as tokens, negation, Guba emoticons; explainable."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sentibot.errors import ConfigError

_EMOTICON_RE = re.compile(r"\[[^\[\]\s]{1,8}\]")
_EMOTICON_TOKENS = 3  # an emoticon name is at most this many tokens
_NEGATION_WINDOW = 3  # a negator up to three tokens before a word flips it (不会 大涨, 没有 什么 明确 利好)
_NEUTRAL_MARGIN = 1.0  # |total| below this is no stance: one weak cue (连涨, 买) or cues that nearly cancel
_SQUASH = 2.0  # score = total / (|total| + _SQUASH): one strong word gives ~0.5, several approach 1
_CLAUSE_END = frozenset(",.;!?:。,;、~…|")  # tokens that close a clause (text is NFKC-normalised: ，→, ！→! ？→?)
_CONTRASTS = frozenset({"但", "但是", "可惜", "不过", "然而", "可是", "只是"})  # the clause after these decides
_CONTRAST_DAMPEN = 0.5  # evidence before a contrast word counts half
_INTENSIFIERS = frozenset({"必", "必将", "必然", "一定", "肯定", "绝对", "非常", "超级", "特别", "真的", "极",
                           "很", "太", "更", "最", "超", "真", "果断", "大举", "疯狂", "暴力", "坚决"})
_INTENSIFY = 1.5  # an intensifier up to two tokens before a word, or a clause ending in "!", scales its weight
_DEGREE_PREFIX = "太很真超最巨狂猛"  # 太弱, 很强: a degree character glued to a lexicon word
_DEGREE_WORDS = frozenset({"好", "严重"})  # before a lexicon word (or after 得) these only say how much
_PARTICLE_SUFFIX = "了啦吧呀啊哦"  # 跌了, 涨啦: a particle glued to a lexicon word
_WEAK_UP, _WEAK_DOWN = 0.5, -0.5  # an unknown token with 涨 (连涨四天) or 跌 (四连跌) in it: weak price evidence
# 还不跑?, 怎么不买: urging the action, not negating it (before a price word 怎么不涨 is a complaint, below)
_RHETORICAL = frozenset({"还", "怎么还", "咋还", "怎么", "为什么", "为何", "咋"})
_COMPLAINT = frozenset({"怎么", "为什么", "为何", "咋"})  # 怎么还不涨 / 怎么还不跌: a complaint, bearish either way
# a move that ends reverses the clause before it: 反弹结束 is bearish, 回调已经结束 and 悲观预期释放 bullish
_ENDERS = frozenset({"结束", "结束了", "到头", "到头了", "释放", "出尽", "告一段落"})
_TARGET_VERBS = frozenset({"上", "站上", "冲", "冲上", "看", "破", "突破", "目标", "目标价", "必上", "剑指"})
_TARGET = 1.0  # 上2000, 看3000, 目标价2200: a price target above is a bullish call
# these ask even without a question mark (能否见底,还要看三天; 什么时候可以加仓)
_ALWAYS_ASKING = frozenset({"能否", "是否", "该不该", "要不要", "能不能", "可不可以", "何时", "什么时候"})
# interrogatives: a question clause with one of them asks for information (该不该卖?), it does not take a side
_ASKING = frozenset({"什么", "如何", "怎样", "怎么样", "会不会", "还是", "哪", "哪个", "哪些", "哪里", "多少", "几",
                     "几个", "谁", "啥"}) | _ALWAYS_ASKING
_ASKED = 0.5  # what a question clause keeps of its evidence: a yes/no question (会跌吗) leans, it does not state
# irony markers: with one of them a bullish title is mocking the bulls (讲个笑话,茅台见底了; 想多了)
_IRONY = frozenset({"笑话", "讲个笑话", "想多了", "做梦", "醒醒", "白日做梦", "痴人说梦"})
# occasions: "sell on the rebound" (反弹就卖) and "buy the dip" (跌到1500就买) name the move as the moment for the
# opposite action; the action is the stance, so the occasion's own weight is taken back
_UP_OCCASIONS = frozenset({"反弹", "冲高", "拉高", "反抽", "拉升", "高开"})
_DOWN_OCCASIONS = frozenset({"回调", "下跌", "跌", "回落", "调整", "跌破", "跌到", "跌倒", "跌至", "低开", "大跌",
                             "暴跌"})
# leaving the stock: switching out of it (换股) is a sell of the stock the title is posted under
_SELLS = frozenset({"卖", "卖出", "卖空", "跑", "快跑", "赶紧跑", "跑路", "走人", "出局", "离场", "出货", "减仓",
                    "清仓", "逃", "出逃", "抛", "抛售", "换股", "换仓", "调仓", "割肉", "止损", "下车", "套现",
                    "获利了结", "了结", "落袋为安"})
_BUYS = frozenset({"买", "买入", "买进", "抄底", "加仓", "上车", "接", "梭哈", "进场", "入场", "建仓", "低吸", "进",
                   "介入"})
_ACTIONS = _SELLS | _BUYS | {"走", "出", "补仓"}  # 还不跑 / 还不上车 urge these
# an opportunity takes the sign of the action it is for: 反弹是卖出的机会 is bearish, 下跌是买入的机会 bullish
_CHANCES = frozenset({"机会", "良机", "好机会", "时机", "机遇", "绝佳机会"})
# a claim denied after it is made turns (上2000根本不可能); before a word the denial negates it (不可能跌)
# 不信你还能涨: before the claim the denial reaches to the end of its clause
_DENIALS = frozenset({"不可能", "不现实", "没可能", "别指望", "没门", "不信", "才怪"})
_STALLS = frozenset({"不动", "不动了", "不起来"})  # 香不动了, 涨不起来: the move or mood has run out
_STALL_TAILS = frozenset({"动", "动了", "起来"})  # the same after a separate 不 (香 不 动)
_TAG_QUESTION = frozenset({"不", "没", "否"})  # 有机会解套不: a clause ending in 不 asks, like 吗
_OTHERS = frozenset({"别的", "其他", "其它", "别人", "别家"})  # 买别的: buying something else is leaving this one
_SHORTS = frozenset({"卖空", "做空", "空单", "开空"})  # a profit after a short is made on the fall (卖空又大赚了)
_PROFITS = frozenset({"赚", "大赚", "小赚", "赚钱", "赚翻", "赚麻", "赚麻了", "盈利", "赚大了"})
_TARGET_FILLERS = frozenset({"在", "到", "至", "于", "是"})  # 目标价在1800: the number may follow one of these
# praise beside bearish evidence is mockery (牛逼,8连阴; 又跌停了[鼓掌]): it counts against
_PRAISE = frozenset({"牛逼", "牛批", "厉害", "666", "NB", "nb", "漂亮", "给力", "优秀", "佩服", "好样的", "真行",
                     "了不起", "太棒了", "完美", "[鼓掌]", "[赞]", "[666]", "[牛]", "[强]"})
# roles of control tokens
_END, _MA, _OPEN, _CLOSE, _CONTRAST, _INTENSIFIER, _NEGATOR, _ENDER, _ASK, _IRONIC, _DENIAL = range(11)


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
        controls = {t: _END for t in _CLAUSE_END} | {"吗": _MA, "[": _OPEN, "]": _CLOSE}
        controls |= {t: _CONTRAST for t in _CONTRASTS} | {t: _INTENSIFIER for t in _INTENSIFIERS}
        controls |= {t: _NEGATOR for t in self.negators} | {t: _ENDER for t in _ENDERS if t not in self.weights}
        controls |= {t: _ASK for t in _ASKING if t not in self.weights and t not in controls}
        controls |= {t: _IRONIC for t in _IRONY if t not in self.weights}
        controls |= {t: _DENIAL for t in _DENIALS if t not in self.weights}
        object.__setattr__(self, "controls", controls)
        # first characters that may be glued to a word (不涨, 太弱): a cheap test before _lookup
        object.__setattr__(self, "glued", frozenset(_DEGREE_PREFIX) | {n for n in self.negators if len(n) == 1})

    def phrases(self) -> list[str]:
        """Multi-character words that should be single tokens."""
        rules = self.negators | _DENIALS | _SELLS | _BUYS | _SHORTS  # the rules' words must be tokens (换股)
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
    if head in _DEGREE_PREFIX and rest in weights:
        return weights[rest] * _INTENSIFY, token
    if token[-1] in _PARTICLE_SUFFIX and token[:-1] in weights:
        return weights[token[:-1]], token
    up, down = "涨" in token, "跌" in token
    if up != down:  # both (涨跌) says nothing
        return (_WEAK_UP if up else _WEAK_DOWN), token
    return None


def score_tokens(tokens: list[str], clean: str, lexicon: Lexicon, margin: float = _NEUTRAL_MARGIN) -> Sentiment:
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
            if i - opened <= _EMOTICON_TOKENS:  # inside an emoticon; a stray "[" (cut-off title) hides a few tokens
                continue
            after = tokens[i + 1] if i < last else ""
            if token in _DEGREE_WORDS and ((i and tokens[i - 1] == "得") or after in weights):
                last_intensifier = i  # 套得好紧, 好难受, 严重低估: a degree adverb, not a word of its own
                continue
            weight = weights.get(token)
            if weight is not None:
                shown = token
            elif len(token) > 1 and (token[0] in glued or token[-1] in _PARTICLE_SUFFIX or "涨" in token
                                     or "跌" in token) and (found := _lookup(token, weights, negators)):
                weight, shown = found
            elif i and token.isdigit() and (tokens[i - 1] in _TARGET_VERBS or (
                    i > 1 and tokens[i - 1] in _TARGET_FILLERS and tokens[i - 2] in _TARGET_VERBS)):
                # 上2000, 目标价在1800: a price target; after a fall named in the clause it is where the fall ends
                at = i - 1 if tokens[i - 1] in _TARGET_VERBS else i - 2
                weight, shown = (-_TARGET if fell < at else _TARGET), tokens[at] + token
            else:
                if token in _SELLS:  # an action outside the lexicon (换股) still says what a chance is for
                    acted = (token, 0.0)
                continue
            plain = shown == token
            if denied and plain:  # 不信你还能涨
                weight, shown = -weight, denied + token
            elif i - last_negator <= _NEGATION_WINDOW and plain:
                if rhetoric and token in _ACTIONS:  # 还不跑, 怎么不买: urges the action, keep the sign
                    shown = rhetoric + negator + token
                elif complaint:  # 怎么还不跌: impatience with the price, bearish whichever way it was hoped to go
                    weight, shown = -abs(weight), asked + negator + token
                else:
                    weight, shown = -weight, negator + token
            if plain and (after in _STALLS or (after == "不" and i + 1 < last and tokens[i + 2] in _STALL_TAILS)):
                weight, shown = -weight, "".join(tokens[i:i + 2 + (after == "不")])  # 香不动了: run out
            if plain and token in _BUYS and (after in _OTHERS or (i + 1 < last and tokens[i + 2] in _OTHERS)):
                weight, shown = -max(1.5, abs(weight)), token + (after if after in _OTHERS else tokens[i + 2])
            if shorted and plain and token in _PROFITS and weight > 0:
                weight, shown = -weight, shorted + token  # 卖空又大赚了: the profit came from the fall
            if i - last_intensifier <= _NEGATION_WINDOW:
                weight *= _INTENSIFY
            if token in _CHANCES and acted and acted[0] in _SELLS and shown == token:
                # 反弹是卖出的机会: the chance is to sell; the clause's bullish words only said when
                clause = -(abs(acted[1]) + abs(weight))
                total = min(total, 0.0)  # 到处利好,正是卖空的机会: the good news before is the occasion too
                del words[clause_start:]
                words.append(acted[0] + token)
                occasion = None
                continue
            if sold and shown == token and token in _BUYS and weight > 0:
                # 卖茅台,买入别家: the buy is of the other stock; the sell is the stance, at least a plain one
                clause += min(0.0, -1.0 - sold[1])
                sold = (sold[0], -1.0)
                continue
            if weight < 0 and fell > i and (token in _DOWN_OCCASIONS or "跌" in token):
                fell = i
            if shown not in words:  # a repeated word is emphasis, not new evidence (分红...分红...分红)
                clause += weight
                if token in _PRAISE and weight > 0:
                    praise += weight
            if shown == token and (token in _SELLS or token in _BUYS):
                acted = (token, weight)
                if token in _SELLS and sold is None:
                    sold = (token, weight)
                shorted = shorted or (token if token in _SHORTS else "")
            if occasion and (token in _SELLS if occasion[1] > 0 else token in _BUYS) and shown == token:
                clause -= occasion[1]  # 反弹就卖空: the rebound is when to sell, not a bullish cue
                words.remove(occasion[0])
                occasion = None
            elif token in _UP_OCCASIONS or token in _DOWN_OCCASIONS:
                occasion = (shown, weight) if shown == token and shown not in words else None
            words.append(shown)
        elif role == _OPEN:
            opened = i
        elif role == _CLOSE:
            opened = -10
        elif i - opened <= _EMOTICON_TOKENS:
            continue
        elif role == _END or role == _MA:
            clause = _close(clause, token, role == _MA or tokens[i - 1] in _TAG_QUESTION, asking, words)
            total += clause
            clause = 0.0
            clause_start = len(words)
            asking = denied = ""
            acted = None
            fell = 1 << 30
            last_negator = last_intensifier = -10  # negation and intensity do not reach past the clause
        elif role == _CONTRAST:
            total = (total + clause) * _CONTRAST_DAMPEN
            clause = 0.0
            clause_start = len(words)
        elif role == _ENDER or role == _DENIAL:
            if clause:  # 反弹结束: the move named before it is over; 上2000根本不可能: the claim is denied
                clause = -clause
                words.append(token)
            elif role == _DENIAL:  # 不可能跌, 不信你还能涨: a denial before the claim negates it
                denied = token
        elif role == _ASK:
            asking = token
        elif role == _IRONIC:
            ironic = token
        elif role == _NEGATOR:
            rhetoric = tokens[i - 1] if i > 0 and tokens[i - 1] in _RHETORICAL else ""
            complaint = bool(rhetoric) and (rhetoric != "还" or (i > 1 and tokens[i - 2] in _COMPLAINT))
            asked = (tokens[i - 2] if rhetoric == "还" else "") + rhetoric if complaint else ""
            last_negator, negator = i, token
        else:  # _INTENSIFIER
            last_intensifier = i
    if asking in _ALWAYS_ASKING:  # the last clause, left open (能否见底)
        clause *= _ASKED
    elif tokens and tokens[-1] in _TAG_QUESTION and clause:  # 有机会解套不
        clause = _close(clause, "", True, asking, words)
    total += clause
    if "[" in clean:
        for emoticon in _EMOTICON_RE.findall(clean):
            weight = lexicon.emoticons.get(emoticon)
            if weight is not None:
                weight = weight if emoticon not in words else weight * 0.25
                total += weight
                praise += weight if emoticon in _PRAISE and weight > 0 else 0.0
                words.append(emoticon)
    if praise and total - praise <= -margin:  # 牛逼,8连阴: the praise mocks a bearish fact
        total -= 2 * praise
    if ironic and total > 0:  # the bullish words are what is being mocked
        total = -total
        words.append(ironic)
    if abs(total) < margin:  # one weak cue, or cues that cancel: no stance a reader would name
        return Sentiment(0.0, "neutral", tuple(words))
    score = round(total / (abs(total) + _SQUASH), 3)
    label = "positive" if total > 0 else "negative"
    return Sentiment(score, label, tuple(words))


def _close(clause: float, token: str, yes_no: bool, asking: str, words: list[str]) -> float:
    """The weight a clause keeps when it ends at token: questions count half, a bullish 吗 doubts, "!" raises."""
    if asking and (asking in _ALWAYS_ASKING or yes_no or token == "?"):  # 该不该卖?: asks, takes no side
        return clause * _ASKED
    if yes_no and clause > 0:  # 还能涨吗: a bullish claim put as a question is a doubt
        words.append("吗")
        return -clause * _ASKED
    if yes_no:  # 会跌吗: a fear asked about, not stated
        return clause * _ASKED
    return clause * _INTENSIFY if token == "!" else clause
