"""Sentiment rules added for forum titles: vocabulary both ways, questions, contrast, intensity, rhetoric."""

import pytest

from sentibot.text.tokenizer import sentiment


@pytest.mark.parametrize("title", [
    "今天又大涨", "暴涨起飞", "尾盘拉升", "涨停了", "创新高", "连涨三天", "加仓", "满仓上车", "抄底", "拿住别卖",
    "看好后市", "稳了", "低估的机会", "要翻倍", "干就完了", "恭喜发财", "太棒了", "终结三连跌", "停止下跌",
    "明天有好机会[看多]", "[赚大了]", "[鼓掌][胜利]", "黄金坑", "逆势上涨",
])
def test_bullish_forum_titles(title):
    assert sentiment(title).label == "positive", sentiment(title)


@pytest.mark.parametrize("title", [
    "又跌了", "大跌", "暴跌跳水", "尾盘闪崩", "跌停", "创新低", "破位了", "清仓", "割肉离场", "止损", "快跑",
    "主力出货", "大股东减持", "套牢了", "山顶站岗", "垃圾", "骗子公司", "坑人", "完了", "凉凉", "韭菜被割",
    "亏惨了", "太惨了", "要退市了", "ST股", "[亏大了]", "[看空][哭]", "[怒]", "涨不动了", "关灯吃面",
])
def test_bearish_forum_titles(title):
    assert sentiment(title).label == "negative", sentiment(title)


@pytest.mark.parametrize("title", ["今天放假", "转发", "年报什么时候出", "", "[心]"])
def test_no_evidence_stays_neutral(title):
    # no bearish (or bullish) default: a title without evidence must not move the heat score
    assert sentiment(title).label == "neutral" and sentiment(title).words == ()


def test_a_bullish_claim_asked_with_ma_is_a_doubt():
    assert sentiment("明天大涨").label == "positive"
    s = sentiment("还能涨吗")
    assert s.label == "negative" and "吗" in s.words
    assert sentiment("会大涨吗,我看悬").label == "negative"


def test_a_bare_question_is_weak_evidence_only():
    assert sentiment("什么时候出年报?").label == "negative"
    assert sentiment("什么时候出年报?").score > -0.4  # weak
    assert sentiment("涨停了,明天还有吗?").score < sentiment("涨停了").score


def test_contrast_gives_the_clause_after_it_the_say():
    assert sentiment("利好不断,但是明天要跌停").label == "negative"
    assert sentiment("今天大跌,不过主力在抢筹").label == "positive"
    assert sentiment("业绩不错,可惜股价跳水").label == "negative"


def test_intensifiers_and_exclamation_raise_the_weight():
    assert sentiment("必涨").score > sentiment("涨").score
    assert sentiment("一定大涨").score > sentiment("大涨").score
    assert sentiment("涨停!").score > sentiment("涨停").score
    assert sentiment("太弱了").label == "negative" and sentiment("太弱了").score < sentiment("弱").score


def test_rhetorical_still_not_urges_the_action():
    # 还不跑 means "why haven't you run yet": bearish, not a negated 跑
    assert sentiment("还不跑等什么").label == "negative"
    assert sentiment("还不跑等什么").words == ("还不跑",)
    assert sentiment("还不上车").label == "positive"
    # a price word stays negated: 还不涨 is still "not rising"
    assert sentiment("怎么还不涨").label == "negative"


def test_glued_degree_particle_and_weak_price_characters():
    assert sentiment("太弱").words == ("太弱",)
    assert sentiment("跌了").label == "negative"
    # an unknown token with 涨 or 跌 in it is weak evidence; one with both says nothing
    assert 0 < sentiment("涨回").score < sentiment("涨停").score
    assert sentiment("涨跌").label == "neutral"


def test_negation_scope_is_two_tokens():
    assert sentiment("不会大跌").label == "positive"
    assert sentiment("没有任何利好").label == "negative"  # 没有 [任何] 利好
    assert sentiment("不是说好了今天会大涨").label == "positive"  # too far away to flip


def test_why_still_not_is_a_complaint_either_way():
    assert sentiment("怎么还不涨").words == ("怎么还不涨",)
    assert sentiment("怎么还不跌").label == "negative"
    assert sentiment("为什么还不涨").words == ("为什么还不涨",)
    assert sentiment("就是不跌").label == "positive"  # plain negation is unchanged


def test_negation_stops_at_the_clause_end():
    assert sentiment("不,涨").label == "positive"
    assert sentiment("不涨").label == "negative"


def test_kept_whole_is_jiebas_own_route():
    from sentibot.text import tokenizer as text

    tokenizer = text._new_tokenizer("jieba")
    words = [w for w in text.model().lexicon.weights if tokenizer.FREQ.get(w)] + ["北交所", "人工智能", "股票市场"]
    assert len(words) > 100
    for word in words:
        assert text._kept_whole(word, tokenizer.FREQ, tokenizer.total) == (tokenizer.lcut(word, HMM=False) == [word])
    # a lexicon word jieba knows too rarely to keep whole is bumped, so it is one token in the shipped model
    assert text.tokenize("拿住") == ["拿住"] and text.tokenize("回本") == ["回本"]
