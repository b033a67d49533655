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
    s = sentiment("还能大涨吗")
    assert s.label == "negative" and "吗" in s.words
    assert sentiment("还能涨吗").label == "neutral"  # a yes/no question keeps half its weight: one weak doubt
    assert sentiment("会大涨吗,我看悬").label == "negative"


def test_a_question_alone_takes_no_side_and_an_asking_question_weakens_its_words():
    # LABELLING.md: a genuine question with no lean is neutral (the old -1 for any "?" made them all bearish)
    assert sentiment("什么时候出年报?").label == "neutral" and sentiment("什么时候出年报?").words == ()
    assert sentiment("可以加仓").label == "positive"
    assert sentiment("什么时候可以加仓?").label == "neutral"  # asks when, does not call the buy
    assert sentiment("该不该卖?").label == "neutral"
    assert sentiment("明天会暴跌吗?").label == "negative"  # a yes/no question keeps a strong word's lean


def test_one_weak_cue_or_cues_that_cancel_are_no_stance():
    assert sentiment("这股我30元买的").label == "neutral"  # 买 alone is a report, not a call
    assert sentiment("涨回").label == "neutral" and sentiment("涨回").words == ("涨回",)  # the cue stays visible
    assert sentiment("周五红,下周绿").score == 0.0 and sentiment("周五红,下周绿").label == "neutral"
    assert sentiment("大涨").label == "positive"


def test_a_move_that_ends_turns_its_sign():
    assert sentiment("反弹结束了").label == "negative" and sentiment("反弹结束了").words == ("反弹", "结束")
    assert sentiment("回调已经结束").label == "positive"
    assert sentiment("悲观预期释放").label == "positive"


def test_a_price_target_above_is_bullish():
    assert sentiment("年底上2000吧").words == ("上2000",)
    assert sentiment("看3000").label == "positive"
    assert sentiment("1700买的").label == "neutral"  # a number alone is no target


def test_irony_turns_bullish_words_against_the_bulls():
    assert sentiment("讲个笑话,茅台见底了").label == "negative"
    assert sentiment("想多了,还会大涨").words[-1] == "想多了"
    assert sentiment("想多了,还会大跌").label == "negative"  # bearish words are not flipped


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
    # an unknown token with 涨 or 跌 in it is weak evidence (alone, below the neutral margin); both says nothing
    assert sentiment("涨停").score < sentiment("涨回,涨停").score
    assert sentiment("涨跌").label == "neutral"


def test_negation_scope_is_three_tokens():
    assert sentiment("不会大跌").label == "positive"
    assert sentiment("没有任何利好").label == "negative"  # 没有 [任何] 利好
    assert sentiment("没有什么明确利好").label == "negative"  # 没有 [什么 明确] 利好
    assert sentiment("不要买,做空为主").label == "negative"
    assert sentiment("不是说好了今天会大涨").label == "positive"  # too far away to flip


def test_why_still_not_is_a_complaint_either_way():
    assert sentiment("怎么还不涨").words == ("怎么还不涨",)
    assert sentiment("怎么还不跌").label == "negative"
    assert sentiment("为什么还不涨").words == ("为什么还不涨",)
    assert sentiment("就是不跌").label == "positive"  # plain negation is unchanged


def test_negation_stops_at_the_clause_end():
    assert sentiment("不,涨").label == "positive"
    assert sentiment("不涨").label == "negative"


@pytest.mark.slow
def test_kept_whole_is_jiebas_own_route():
    from sentibot.text import tokenizer as text

    tokenizer = text._new_tokenizer("jieba")
    words = [w for w in text.model().lexicon.weights if tokenizer.FREQ.get(w)] + ["北交所", "人工智能", "股票市场"]
    assert len(words) > 100
    for word in words:
        assert text._kept_whole(word, tokenizer.FREQ, tokenizer.total) == (tokenizer.lcut(word, HMM=False) == [word])
    # a lexicon word jieba knows too rarely to keep whole is bumped, so it is one token in the shipped model
    assert text.tokenize("拿住") == ["拿住"] and text.tokenize("回本") == ["回本"]


def test_a_move_named_as_the_occasion_for_the_opposite_action_does_not_count():
    # switch and conditional posts: the action is the stance, the move only says when
    assert sentiment("只要反弹就卖空").words == ("卖空",) and sentiment("只要反弹就卖空").label == "negative"
    assert sentiment("趁反弹赶紧跑").label == "negative"
    assert sentiment("跌破1700元,坚决梭哈").label == "positive"
    assert sentiment("反弹了").label == "positive"  # without the action the move is the stance
    assert sentiment("反弹不卖").words == ("反弹", "不卖")  # a negated action is no switch


def test_repeated_words_count_once():
    assert sentiment("分红").label == "neutral" and sentiment("分红,分红,分红").label == "neutral"
    assert sentiment("涨停").score == sentiment("涨停涨停").score


def test_a_chance_takes_the_sign_of_the_action_it_is_for():
    # LABELLING.md: recommending selling is bearish, even when the title names good news as the moment for it
    assert sentiment("每次拉升都是卖出的好机会").label == "negative"
    assert sentiment("每次拉升都是卖出的好机会").words == ("卖出好机会",)
    assert sentiment("逢利好就是减仓的时机").label == "negative"
    assert sentiment("遍地利好,正是清仓的机会").label == "negative"  # the good news before is the occasion too
    assert sentiment("每次冲高都是换股的良机").label == "negative"  # switching out of the stock is leaving it
    assert sentiment("下跌就是买入的机会").label == "positive"  # a chance to buy stays bullish
    assert sentiment("机会来了").label == "positive"


def test_praise_beside_a_bearish_fact_is_mockery():
    assert sentiment("厉害,又跌停了").label == "negative"
    assert sentiment("连跌五天[鼓掌]").label == "negative"
    assert sentiment("厉害,又涨停了").label == "positive"  # praise beside a bullish fact is praise
    assert sentiment("厉害").label == "positive"


def test_a_claim_denied_after_it_is_made_turns():
    assert sentiment("年底上3000根本不可能").label == "negative"
    assert sentiment("年底上3000根本不可能").words == ("上3000", "不可能")
    assert sentiment("不可能跌").label == "positive"  # before a word the denial negates it


def test_a_move_or_mood_that_has_run_out_turns():
    assert sentiment("还是那么香").label == "positive" and sentiment("香不动了").label == "negative"
    assert sentiment("香不动了").words == ("香不动",)
    assert sentiment("反弹不起来").label == "negative"
    assert sentiment("反弹起来了").label == "positive"  # 起来 without 不 is the move itself


def test_a_target_after_a_fall_is_where_the_fall_ends():
    assert sentiment("这轮下跌目标看800").label == "negative"
    assert sentiment("下跌目标价在800").words == ("下跌", "目标价800")
    assert sentiment("目标价在2500").label == "positive"  # a filler between the verb and the number
    assert sentiment("低估,年底上2500").label == "positive"  # a bearish word that is no fall leaves it bullish


def test_degree_words_before_a_word_only_say_how_much():
    assert sentiment("套得好紧").label == "negative"  # 好 after 得 is a degree, not praise
    assert sentiment("好难受").score < sentiment("难受").score
    assert sentiment("严重低估").label == "positive"  # 严重 before a word is a degree, not bad news
    assert sentiment("问题严重").label == "negative"


def test_rhetorical_urging_covers_every_sell_and_buy_action():
    assert sentiment("还不快跑").label == "negative" and sentiment("还不快跑").words == ("还不快跑",)
    assert sentiment("还不抄底").label == "positive"


def test_round_two_vocabulary_reads_both_ways():
    for title in ("超跌了", "逼空行情", "价值回归", "还是那么香", "中线没问题"):
        assert sentiment(title).label == "positive", title
    for title in ("超买了", "强弩之末", "摇摇欲坠", "预期落空", "纯炒作", "被市场抛弃", "不值钱", "获利了结",
                  "不再香了"):
        assert sentiment(title).label == "negative", title


def test_a_switch_post_takes_the_side_of_the_stock_it_leaves():
    # sell X, buy Y: the title is posted under X, so the sell is the stance and the buy is of another stock
    assert sentiment("卖了这只,买入另一只").label == "negative"
    assert sentiment("减仓了,买进隔壁那只").words == ("减仓",)
    assert sentiment("还不如买别的").label == "negative" and sentiment("还不如买别的").words == ("买别的",)
    assert sentiment("加仓买入").label == "positive"  # buys alone are no switch


def test_a_profit_after_a_short_is_made_on_the_fall():
    assert sentiment("我卖空又大赚了").label == "negative"
    assert sentiment("我卖空又大赚了").words == ("卖空", "卖空大赚")
    assert sentiment("又大赚了").label == "positive"


def test_whoever_does_not_act_is_the_fool():
    assert sentiment("不跑的就是傻子").label == "negative" and sentiment("不跑的就是傻子").words == ("不跑…傻子",)
    assert sentiment("不上车的是傻瓜").label == "positive"
    assert sentiment("趁反弹不走就是傻").label == "negative"  # the rebound only says when
    assert sentiment("太傻了").label == "negative"  # without a negated action it is an insult


def test_urging_and_complaining_with_why_not():
    assert sentiment("这么便宜怎么不买").label == "positive"  # 怎么不买: why not buy, an urge
    assert sentiment("怎么不涨").label == "negative"  # a price word after 怎么不 is a complaint


def test_a_clause_ending_in_a_tag_question_asks():
    assert sentiment("明天大涨不").score < sentiment("明天大涨").score
    assert sentiment("坐稳了没,准备起飞").label == "positive"  # asks, doubts nothing


def test_a_rise_named_before_a_plain_leave_is_only_the_moment():
    assert sentiment("冲高就走").label == "negative" and sentiment("冲高就走").words == ("冲高…走",)
    assert sentiment("反弹就出").label == "negative"
    assert sentiment("高开高走").label == "positive"  # 高走 is a word, not a leave
