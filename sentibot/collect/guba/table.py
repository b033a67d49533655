"""The slow path: Guba's visible post table with BeautifulSoup, for pages without the article_list JSON."""

from __future__ import annotations

import re
from datetime import datetime

from bs4 import BeautifulSoup, Tag

from sentibot.models import Post
from sentibot.collect.guba.fields import CAIFUHAO_LINK, NEWS_LINK, infer_datetime, parse_count

USER_LINK = re.compile(r"i\.eastmoney\.com/(\w+)")
TAG_KINDS = (("置顶", "pinned"), ("问董秘", "qa"), ("董秘", "qa"), ("资讯", "news"), ("财富号", "news"),
             ("公告", "news"))


def parse_table(text: str, bar: str, fetched_at: datetime, base_url: str) -> tuple[list[Post], str]:
    """Rows of the 2023+ layout (tr.listitem) or the old one (div.articleh, span.l1..l5) -> posts, layout name."""
    soup = BeautifulSoup(text, "html.parser")
    rows = soup.select("tr.listitem")
    if rows:
        return _posts(rows, _cells_listitem, bar, fetched_at, base_url), "table"
    rows = soup.select("div.articleh")
    return _posts(rows, _cells_articleh, bar, fetched_at, base_url), "articleh"


def _cells_listitem(row: Tag) -> list[Tag] | None:
    cells = row.find_all("td", recursive=False)
    return cells if len(cells) >= 5 else None


def _cells_articleh(row: Tag) -> list[Tag] | None:
    cells = [row.find("span", class_=f"l{i}") for i in range(1, 6)]
    return [c for c in cells if isinstance(c, Tag)] if all(cells) else None


def _posts(rows: list[Tag], cells_of, bar: str, fetched_at: datetime, base_url: str) -> list[Post]:
    posts = []
    for row in rows:
        cells = cells_of(row)
        if cells is None:
            continue  # header or advert rows
        post = _post(row, cells, bar, fetched_at, base_url)
        if post:
            posts.append(post)
    return posts


def _post(row: Tag, cells: list[Tag], bar: str, fetched_at: datetime, base_url: str) -> Post | None:
    reads, comments, title_cell, author_cell, time_cell = cells[:5]
    link = title_cell.find("a", href=True)
    if link is None:
        return None
    href = str(link["href"])
    published = infer_datetime(time_cell.get_text(" ", strip=True), fetched_at)
    news = NEWS_LINK.search(href)
    caifuhao = CAIFUHAO_LINK.search(href)
    if published is None or not (news or caifuhao):
        return None
    code, post_id = (news.group(1), news.group(2)) if news else (bar, caifuhao.group(1) if caifuhao else "")
    author = author_cell.find("a")
    author_href = str(author.get("href", "")) if author else ""
    user = USER_LINK.search(author_href)
    author_id = (str(author.get("data-popper") or "") if author else None) or (user.group(1) if user else None)
    return Post(
        source="guba", post_id=post_id, bar=code, title=str(link.get("title") or link.get_text(strip=True)).strip(),
        published_at=published.isoformat(), reads=parse_count(reads.get_text(strip=True)),
        comments=parse_count(comments.get_text(strip=True)), author_id=author_id,
        author_name=author_cell.get_text(strip=True) or None, kind=_kind(row, title_cell, caifuhao is not None),
        url=f"{base_url}/news,{code},{post_id}.html" if news else href,
    )


def _kind(row: Tag, title_cell: Tag, caifuhao: bool) -> str:
    classes = " ".join(c for c in row.get_attribute_list("class") if c)
    if "settop" in classes or "zhiding" in classes:
        return "pinned"
    for tag in title_cell.find_all(["em", "span", "i"]):
        label = tag.get_text(strip=True)
        for word, kind in TAG_KINDS:
            if word in label:
                return kind
    return "news" if caifuhao else "normal"
