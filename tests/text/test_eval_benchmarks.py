"""The pieces of the sentiment evaluation benchmarks: weak labels, features, naive Bayes, kinds of title."""

from benchmarks.eval_distant import NaiveBayes, grams, weak_label
from benchmarks.eval_sentiment import kind

EMOTICONS = {"[看多]": 3.0, "[看空]": -3.0, "[大笑]": 0.5}


def test_a_weak_label_comes_from_one_strong_emoticon_sign_only():
    assert weak_label("明天见[看多][看多]", EMOTICONS) == "positive"
    assert weak_label("[看空]", EMOTICONS) == "negative"
    assert weak_label("[看多]又[看空]", EMOTICONS) is None  # mixed
    assert weak_label("哈哈[大笑]", EMOTICONS) is None  # too weak to be a label


def test_features_never_contain_the_emoticon_that_labelled_the_title():
    assert grams("涨停[看多]") == ["涨", "停", "涨停"]
    assert not any("看" in g for g in grams("[看多][看多]"))


def test_naive_bayes_learns_the_direction_of_its_weak_labels():
    nb = NaiveBayes([(grams("起飞了"), "positive"), (grams("起飞"), "positive"), (grams("完蛋了"), "negative")])
    assert nb.log_odds(grams("起飞")) > 0 > nb.log_odds(grams("完蛋"))


def test_kinds_are_told_from_the_surface_of_the_title():
    assert kind("转发") == "repost or bare tag" and kind("$贵州茅台(SH600519)$") == "repost or bare tag"
    assert kind("[看多][看多]") == "emoticon-only"
    assert kind("北向资金净买入21亿") == "flow or margin data"
    assert kind("卖了茅台,买入五粮液") == "switch post"
    assert kind("【读财报】分红透视") == "news line"
    assert kind("明天会涨吗") == "question" and kind("明天大涨") == "statement"
