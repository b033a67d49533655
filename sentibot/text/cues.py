"""The word classes and weights the sentiment rules read (sentibot.text.sentiment); docs/text.md explains each."""

from __future__ import annotations

import re

EMOTICON_RE = re.compile(r"\[[^\[\]\s]{1,8}\]")
EMOTICON_TOKENS = 3  # an emoticon name is at most this many tokens
NEGATION_WINDOW = 3  # a negator up to three tokens before a word flips it (不会 大涨, 没有 什么 明确 利好)
NEUTRAL_MARGIN = 1.0  # |total| below this is no stance: one weak cue (连涨, 买) or cues that nearly cancel
SQUASH = 2.0  # score = total / (|total| + SQUASH): one strong word gives ~0.5, several approach 1
CLAUSE_END = frozenset(",.;!?:。,;、~…|")  # tokens that close a clause (text is NFKC-normalised: ，→, ！→! ？→?)
CONTRASTS = frozenset({"但", "但是", "可惜", "不过", "然而", "可是", "只是"})  # the clause after these decides
CONTRAST_DAMPEN = 0.5  # evidence before a contrast word counts half
INTENSIFIERS = frozenset({"必", "必将", "必然", "一定", "肯定", "绝对", "非常", "超级", "特别", "真的", "极",
                          "很", "太", "更", "最", "超", "真", "果断", "大举", "疯狂", "暴力", "坚决"})
INTENSIFY = 1.5  # an intensifier up to two tokens before a word, or a clause ending in "!", scales its weight
DEGREE_PREFIX = "太很真超最巨狂猛"  # 太弱, 很强: a degree character glued to a lexicon word
DEGREE_WORDS = frozenset({"好", "严重"})  # before a lexicon word (or after 得) these only say how much
PARTICLE_SUFFIX = "了啦吧呀啊哦"  # 跌了, 涨啦: a particle glued to a lexicon word
WEAK_UP, WEAK_DOWN = 0.5, -0.5  # an unknown token with 涨 (连涨四天) or 跌 (四连跌) in it: weak price evidence
# 还不跑?, 怎么不买: urging the action, not negating it (before a price word 怎么不涨 is a complaint, below)
RHETORICAL = frozenset({"还", "怎么还", "咋还", "怎么", "为什么", "为何", "咋"})
COMPLAINT = frozenset({"怎么", "为什么", "为何", "咋"})  # 怎么还不涨 / 怎么还不跌: a complaint, bearish either way
# a move that ends reverses the clause before it: 反弹结束 is bearish, 回调已经结束 and 悲观预期释放 bullish
ENDERS = frozenset({"结束", "结束了", "到头", "到头了", "释放", "出尽", "告一段落"})
TARGET_VERBS = frozenset({"上", "站上", "冲", "冲上", "看", "破", "突破", "目标", "目标价", "必上", "剑指"})
TARGET = 1.0  # 上2000, 看3000, 目标价2200: a price target above is a bullish call
# these ask even without a question mark (能否见底,还要看三天; 什么时候可以加仓)
ALWAYS_ASKING = frozenset({"能否", "是否", "该不该", "要不要", "能不能", "可不可以", "何时", "什么时候"})
# interrogatives: a question clause with one of them asks for information (该不该卖?), it does not take a side
ASKING = frozenset({"什么", "如何", "怎样", "怎么样", "会不会", "还是", "哪", "哪个", "哪些", "哪里", "多少", "几",
                    "几个", "谁", "啥"}) | ALWAYS_ASKING
ASKED = 0.5  # what a question clause keeps of its evidence: a yes/no question (会跌吗) leans, it does not state
# irony markers: with one of them a bullish title is mocking the bulls (讲个笑话,茅台见底了; 想多了)
IRONY = frozenset({"笑话", "讲个笑话", "想多了", "做梦", "醒醒", "白日做梦", "痴人说梦"})
# occasions: "sell on the rebound" (反弹就卖) and "buy the dip" (跌到1500就买) name the move as the moment for the
# opposite action; the action is the stance, so the occasion's own weight is taken back
UP_OCCASIONS = frozenset({"反弹", "冲高", "拉高", "反抽", "拉升", "高开"})
DOWN_OCCASIONS = frozenset({"回调", "下跌", "跌", "回落", "调整", "跌破", "跌到", "跌倒", "跌至", "低开", "大跌",
                            "暴跌"})
# sell and buy actions; leaving the stock (换股, 走, 出) is a sell of the stock the title is posted under
SELLS = frozenset({"走", "出", "卖", "卖出", "卖空", "跑", "快跑", "赶紧跑", "跑路", "走人", "出局", "离场", "出货",
                   "减仓", "清仓", "逃", "逃命", "出逃", "抛", "抛售", "换股", "换仓", "调仓", "割肉", "止损", "下车",
                   "套现", "获利了结", "了结", "落袋为安"})
BUYS = frozenset({"买", "买入", "买进", "抄底", "加仓", "上车", "接", "梭哈", "进场", "入场", "建仓", "低吸", "进",
                  "介入"})
ACTIONS = SELLS | BUYS | {"补仓"}  # 还不跑 / 还不上车 urge these
# an opportunity takes the sign of the action it is for: 反弹是卖出的机会 is bearish, 下跌是买入的机会 bullish
CHANCES = frozenset({"机会", "良机", "好机会", "时机", "机遇", "绝佳机会"})
# a claim denied after it is made turns (上2000根本不可能); before the claim the denial negates the rest of its
# clause (不可能跌, 不信你还能涨)
DENIALS = frozenset({"不可能", "不现实", "没可能", "别指望", "没门", "不信", "才怪"})
STALLS = frozenset({"不动", "不动了", "不起来"})  # 香不动了, 涨不起来: the move or mood has run out
STALL_TAILS = frozenset({"动", "动了", "起来"})  # the same after a separate 不 (香 不 动)
TAG_QUESTION = frozenset({"不", "没", "否"})  # 有机会解套不: a clause ending in 不 asks, like 吗
OTHERS = frozenset({"别的", "其他", "其它", "别人", "别家"})  # 买别的: buying something else is leaving this one
# 不买的是傻子, 不跑的就是傻: whoever does not act is the fool, so the negated action is urged
FOOLS = frozenset({"傻", "傻子", "傻儿", "傻瓜", "笨蛋", "傻帽", "白痴"})
SHORTS = frozenset({"卖空", "做空", "空单", "开空"})  # a profit after a short is made on the fall (卖空又大赚了)
PROFITS = frozenset({"赚", "大赚", "小赚", "赚钱", "赚翻", "赚麻", "赚麻了", "盈利", "赚大了"})
TARGET_FILLERS = frozenset({"在", "到", "至", "于", "是"})  # 目标价在1800: the number may follow one of these
# praise beside bearish evidence is mockery (牛逼,8连阴; 又跌停了[鼓掌]): it counts against
PRAISE = frozenset({"牛逼", "牛批", "厉害", "666", "NB", "nb", "漂亮", "给力", "优秀", "佩服", "好样的", "真行",
                    "了不起", "太棒了", "完美", "[鼓掌]", "[赞]", "[666]", "[牛]", "[强]"})
# roles of control tokens
END, MA, OPEN, CLOSE, CONTRAST, INTENSIFIER, NEGATOR, ENDER, ASK, IRONIC, DENIAL = range(11)
