"""Guba parsers on constructed list pages (FORMAT.md key list) and the real post-page sample."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import datetime

import pytest

from sentibot.models import Outcome
from sentibot.collect.guba.fields import infer_datetime, parse_count
from sentibot.collect.guba.parse import parse_list_page, parse_post_page
from sentibot.timeutil import SHANGHAI

from tests.support.paths import FIXTURES

NOW = datetime(2023, 11, 27, 11, 0, tzinfo=SHANGHAI)
NEW_YEAR = datetime(2024, 1, 1, 0, 30, tzinfo=SHANGHAI)


def load_builder():
    spec = importlib.util.spec_from_file_location("guba_build", FIXTURES / "guba" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page(name: str) -> str:
    return (FIXTURES / "guba" / name).read_text(encoding="utf-8")


def test_json_fast_path_reads_every_post_and_flags_kinds():
    listing = parse_list_page(page("constructed_list_json_p1.html"), "zs899050", NOW)
    assert listing.verdict.outcome is Outcome.OK and listing.layout == "json"
    assert len(listing.posts) == 80 and listing.total == 123456
    kinds = {p.post_id: p.kind for p in listing.posts}
    assert kinds["1367000080"] == "pinned" and kinds["1367000075"] == "qa" and kinds["1367000071"] == "news"
    assert sum(k == "normal" for k in kinds.values()) == 77
    first = listing.posts[1]
    assert first.published_at == "2023-11-27T10:51:00+08:00" and first.bar == "zs899050"
    assert first.url == "https://guba.eastmoney.com/news,zs899050,1367000079.html"
    assert listing.posts[9].reads == 12345 + 9000 and listing.posts[9].author_name


@pytest.mark.parametrize("name,layout", [("constructed_list_table_newyear.html", "table"),
                                         ("constructed_list_articleh_newyear.html", "articleh")])
def test_table_fallbacks_match_the_json(name, layout):
    """Both visible layouts give the same posts as the JSON of the same items (minute precision, 万 rounding)."""
    listing = parse_list_page(page(name), "832522", NEW_YEAR)
    assert listing.verdict.outcome is Outcome.OK and listing.layout == layout
    build = load_builder()
    items = build.posts("832522", 1370000040, datetime(2024, 1, 1, 0, 25), n=40, step_min=30, kinds={3: build.QA})
    expected = parse_list_page(build.list_page("832522", items, chrome=False), "832522", NEW_YEAR).posts
    assert len(listing.posts) == len(expected) == 40
    for got, want in zip(listing.posts, expected):
        assert (got.post_id, got.title, got.kind, got.author_id, got.comments) == (
            want.post_id, want.title, want.kind, want.author_id, want.comments)
        assert got.published_at == want.published_at
        assert got.reads == (round(want.reads / 1000) * 1000 if want.reads >= 10000 else want.reads)
    assert listing.posts[0].published_at == "2024-01-01T00:25:00+08:00"
    assert listing.posts[1].published_at == "2023-12-31T23:55:00+08:00"  # the year rolls back across New Year
    assert listing.posts[0].reads == 12000  # "1.2万"


@pytest.mark.parametrize("name,detail", [
    ("constructed_captcha.html", "captcha page (em_captcha_modal)"),
    ("constructed_empty_shell.html", "empty shell page (2857 bytes)"),
    ("constructed_list_busy.html", "系统繁忙"),
])
def test_block_pages_are_never_no_posts(name, detail):
    listing = parse_list_page(page(name), "zs899050", NOW)
    assert listing.verdict.outcome is Outcome.BLOCKED and detail in listing.verdict.detail
    assert listing.posts == ()


def test_captcha_overlay_on_a_page_with_posts_is_a_block():
    text = page("constructed_list_json_p1.html").replace("</body>", '<div id="em_captcha_modal"></div></body>')
    assert parse_list_page(text, "zs899050", NOW).verdict.outcome is Outcome.BLOCKED


def test_broken_and_unknown_pages_fail():
    text = page("constructed_list_json_p1.html")
    cut = text.index("var article_list=") + 5000
    truncated = parse_list_page(text[:cut], "zs899050", NOW)
    assert truncated.verdict.outcome is Outcome.FAILED and "truncated" in truncated.verdict.detail
    layout_changed = parse_list_page("<html>" + "x" * 10000 + "</html>", "zs899050", NOW)
    assert layout_changed.verdict.outcome is Outcome.FAILED and "layout changed" in layout_changed.verdict.detail
    bad_time = text.replace('"post_publish_time":"2023-11-27 10:51:00"', '"post_publish_time":"yesterday"')
    one_bad = parse_list_page(bad_time, "zs899050", NOW)  # one item of 80: skipped and counted, the rest kept
    assert one_bad.verdict.outcome is Outcome.OK and one_bad.skipped == 1 and len(one_bad.posts) == 79
    assert "1 items skipped (first: ValueError: post_publish_time 'yesterday'" in one_bad.verdict.detail
    most_bad = re.sub(r'"post_publish_time":"[^"]+"', '"post_publish_time":"yesterday"', text, count=41)
    failed = parse_list_page(most_bad, "zs899050", NOW)  # most items not understood: the layout changed
    assert failed.verdict.outcome is Outcome.FAILED and "41 of 80 article_list items not understood" in failed.verdict.detail


def test_topic_rows_ads_and_nested_users():
    build = load_builder()
    items = build.posts("920819", 1400000000, datetime(2026, 11, 30, 10, 0), n=6)
    nested = dict(items[1])
    nested["post_user"] = {"user_id": nested.pop("user_id"), "user_nickname": nested.pop("user_nickname")}
    rows = [items[0], {"topic_id": 7, "topic_name": "北证50怎么看", "post_type": 51}, nested,
            {"ad_id": "x", "post_id": 5}, *items[2:]]
    blob = json.dumps({"re": rows, "count": 8, "rc": 1, "me": "操作成功"}, ensure_ascii=False)
    listing = parse_list_page(f"<html><script>var article_list={blob};</script></html>", "920819", NOW)
    assert listing.verdict.outcome is Outcome.OK and listing.skipped == 2 and len(listing.posts) == 6
    assert listing.posts[1].author_id == nested["post_user"]["user_id"]
    assert listing.posts[1].author_name == nested["post_user"]["user_nickname"]
    assert listing.posts[0].author_id == items[0]["user_id"]  # flat


def test_last_page_is_legitimately_empty():
    build = load_builder()
    listing = parse_list_page(build.list_page("zs899050", []), "zs899050", NOW)
    assert listing.verdict.outcome is Outcome.EMPTY and listing.posts == ()


@pytest.mark.parametrize("raw,value", [("1.2万", 12000), ("12.5万", 125000), ("3亿", 300000000), ("57", 57),
                                       ("1,234", 1234), ("-", None), ("", None), (None, None), (88, 88),
                                       ("n/a", None)])
def test_counts(raw, value):
    assert parse_count(raw) == value


@pytest.mark.parametrize("short,fetched,expected", [
    ("12-31 23:59", datetime(2024, 1, 1, 0, 5, tzinfo=SHANGHAI), "2023-12-31T23:59:00+08:00"),
    ("01-01 00:01", datetime(2024, 1, 1, 0, 5, tzinfo=SHANGHAI), "2024-01-01T00:01:00+08:00"),
    ("11-27 10:58", NOW, "2023-11-27T10:58:00+08:00"),
    ("11-27 11:05", NOW, "2023-11-27T11:05:00+08:00"),  # a few minutes ahead: clock skew, same year
    ("11-28 09:00", NOW, "2022-11-28T09:00:00+08:00"),  # later in the year than now: last year
    ("02-29 10:00", datetime(2025, 3, 1, tzinfo=SHANGHAI), "2024-02-29T10:00:00+08:00"),
])
def test_year_inference(short, fetched, expected):
    assert infer_datetime(short, fetched).isoformat() == expected


def test_year_inference_rejects_garbage():
    assert infer_datetime("昨天 10:00", NOW) is None and infer_datetime("13-45 10:00", NOW) is None


def test_real_post_page_sample():
    post = parse_post_page(page("real_post_article_2019.js.txt"))
    assert post.post_id == "802527008" and post.bar == "gssz" and post.kind == "news"  # post_type 20: 财富号 news
    assert post.reads == 6608 and post.published_at == "2019-01-24T07:47:30+08:00"
    assert post.author_name == "券商中国"
    with pytest.raises(ValueError):
        parse_post_page(page("constructed_empty_shell.html"))
