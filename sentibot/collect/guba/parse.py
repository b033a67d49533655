"""Guba list and post pages -> Post records (pure: text in, records out; FORMAT.md in shared/samples/guba)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sentibot.models import Outcome, Post
from sentibot.collect.http import SHELL_MAX_BYTES, Verdict, captcha_marker
from sentibot.collect.guba.fields import parse_count

LIST_MARKER = "var article_list="
POST_MARKER = "var post_article"
POST_TYPE_KIND = {11: "qa", 20: "news"}  # 问董秘 Q&A, 财富号/资讯 news
RETAIL_KINDS = ("normal",)  # the kinds counted as retail attention by default
FULL_TIME = re.compile(r"\d{4}-[01]\d-[0-3]\d [0-2]\d:[0-5]\d:[0-5]\d")
_decoder = json.JSONDecoder()


@dataclass(frozen=True)
class ListPage:
    """The posts of one list page and how the page was read."""

    verdict: Verdict
    posts: tuple[Post, ...] = ()
    total: int | None = None  # the bar's post count, when the page says
    layout: str = ""  # json, table, articleh
    skipped: int = 0  # items of article_list that are not posts (topic rows, ads) or did not parse


def full_datetime(raw: str) -> str:
    """'YYYY-MM-DD HH:MM:SS' (Shanghai time) -> ISO-8601 with +08:00."""
    raw = raw.strip()
    if not FULL_TIME.fullmatch(raw):  # slicing is 10x faster than strptime; the shape check keeps it safe
        raise ValueError(f"post_publish_time {raw!r} is not YYYY-MM-DD HH:MM:SS")
    return f"{raw[:10]}T{raw[11:]}+08:00"


def post_kind(post_type, top_status) -> str:
    if top_status not in (None, 0, "0", "", False):
        return "pinned"
    try:
        return POST_TYPE_KIND.get(int(post_type), "normal")
    except (TypeError, ValueError):
        return "normal"


def post_from_json(item: dict, bar: str, base_url: str) -> Post:
    """One post object of article_list.re (the list page and the JSON API share it); user flat or in post_user."""
    user = item.get("post_user") if isinstance(item.get("post_user"), dict) else {}
    if item.get("user_id") in (None, "") and user:
        item = dict(item, user_id=user.get("user_id"), user_nickname=user.get("user_nickname"))
    code = item.get("stockbar_code") or bar
    post_id = str(item["post_id"])
    return Post(
        source="guba", post_id=post_id, bar=code, title=str(item.get("post_title") or "").strip(),
        published_at=full_datetime(item["post_publish_time"]),
        reads=parse_count(item.get("post_click_count")), comments=parse_count(item.get("post_comment_count")),
        author_id=str(item["user_id"]) if item.get("user_id") not in (None, "") else None,
        author_name=item.get("user_nickname") or None,
        kind=post_kind(item.get("post_type"), item.get("post_top_status")),
        url=f"{base_url}/news,{code},{post_id}.html",
    )


def embedded_json(text: str, marker: str) -> dict | None:
    """The object after `marker` (e.g. 'var article_list='), decoded without parsing the rest of the page."""
    start = text.find(marker)
    if start < 0:
        return None
    start = text.find("{", start + len(marker))
    try:
        value, _ = _decoder.raw_decode(text, start)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_list_page(text: str, bar: str, fetched_at: datetime, base_url: str = "https://guba.eastmoney.com") -> ListPage:
    """A bar's list page: the embedded JSON fast path, else the visible table; blocks are never 'no posts'."""
    data = embedded_json(text, LIST_MARKER)
    # Scanning a 285 KB page for every captcha marker costs about as much as the whole JSON path, so a page
    # carrying the post JSON is checked for the Eastmoney overlay only; other pages for every marker.
    found = "em_captcha_modal" if "em_captcha_modal" in text else (None if data is not None else captcha_marker(text))
    if found:
        return ListPage(Verdict(Outcome.BLOCKED, f"captcha page ({found})"))
    if data is not None:
        return _from_article_list(data, bar, base_url)
    if LIST_MARKER in text:
        return ListPage(Verdict(Outcome.FAILED, "article_list JSON is truncated or malformed"))
    if "listitem" in text or "articleh" in text:
        from sentibot.collect.guba.table import parse_table  # BeautifulSoup only on the slow path

        posts, layout = parse_table(text, bar, fetched_at, base_url)
        if posts:
            return ListPage(Verdict(Outcome.OK, f"{len(posts)} posts ({layout} layout)"), tuple(posts), None, layout)
    size = len(text.encode("utf-8", "replace"))
    if size <= SHELL_MAX_BYTES:
        return ListPage(Verdict(Outcome.BLOCKED, f"empty shell page ({size} bytes)"))
    return ListPage(Verdict(Outcome.FAILED, f"no posts found in a {size}-byte page: layout changed?"))


def _from_article_list(data: dict, bar: str, base_url: str) -> ListPage:
    rows = data.get("re")
    message = str(data.get("me") or "")
    if rows is None or (data.get("rc") == 0 and not rows):
        return ListPage(Verdict(Outcome.BLOCKED, f"article_list without posts (rc={data.get('rc')}, me={message!r})"))
    if not isinstance(rows, list):
        return ListPage(Verdict(Outcome.FAILED, f"article_list.re is a {type(rows).__name__}, expected a list"))
    posts, first_error = [], ""
    for item in rows:  # topic rows, ads and items without post_publish_time sit among the posts: skip them
        try:
            posts.append(post_from_json(item, bar, base_url))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            first_error = first_error or f"{type(exc).__name__}: {exc}"
    skipped = len(rows) - len(posts)
    if skipped * 2 > len(rows):  # most items not understood: the layout changed, not a few odd rows
        return ListPage(Verdict(Outcome.FAILED, f"{skipped} of {len(rows)} article_list items not understood "
                                                f"(first: {first_error})"), skipped=skipped)
    note = f", {skipped} items skipped (first: {first_error})" if skipped else ""
    outcome = Outcome.OK if posts else Outcome.EMPTY
    return ListPage(Verdict(outcome, f"{len(posts)} posts{note}"), tuple(posts), data.get("count"), "json", skipped)


def parse_post_page(text: str, base_url: str = "https://guba.eastmoney.com") -> Post:
    """A post page's `var post_article = {...}` block -> Post (ValueError when absent or blocked)."""
    data = embedded_json(text, POST_MARKER)
    if not data or data.get("rc") != 1 or not isinstance(data.get("post"), dict):
        raise ValueError(f"post page without a usable post_article block (me={data and data.get('me')!r})")
    post = data["post"]
    user, guba = post.get("post_user") or {}, post.get("post_guba") or {}
    flat = dict(post, user_id=user.get("user_id"), user_nickname=user.get("user_nickname"),
                stockbar_code=guba.get("stockbar_code"))
    return post_from_json(flat, flat["stockbar_code"] or "", base_url)
