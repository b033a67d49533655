"""The Guba collector over real HTTP to a local server: paging, cursor stop, idempotence, blocks, observations."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

import pytest

from sentibot.config import load_settings
from sentibot.models import Outcome
from sentibot.collect.cycle import collect_cycle
from sentibot.collect import health
from sentibot.store.db import open_store
from sentibot.timeutil import SHANGHAI

from tests.support.paths import FIXTURES

NOW = datetime(2023, 11, 27, 11, 0, tzinfo=SHANGHAI)
BAR = "zs899050"
HTML = "text/html; charset=utf-8"


def page(name: str) -> str:
    return (FIXTURES / "guba" / name).read_text(encoding="utf-8")


def last_page() -> str:
    data = {"re": [], "count": 160, "bar_name": "北证50吧", "bar_code": BAR, "rc": 1, "me": "操作成功"}
    return f"<html><script>var article_list={json.dumps(data, ensure_ascii=False)};</script></html>"


@pytest.fixture
def db(tmp_path):
    return open_store(tmp_path / "g.db")


def settings(httpserver, **kw):
    options = dict(guba_url=httpserver.url_for("/").rstrip("/"), guba_scope="bars", guba_bars=(BAR,),
                   min_interval_s=0.0, http_retries=0, guba_max_pages=5)
    options.update(kw)
    return load_settings(environ={}, env_file=None, **options)


def serve(httpserver, pages: dict[int, str]):
    for number, text in pages.items():
        httpserver.expect_request(f"/list,{BAR},f_{number}.html").respond_with_data(text, content_type=HTML)


def collect(db, s, now=NOW, since=None):
    (result,) = asyncio.run(collect_cycle(["guba"], s, db, now, since))
    return result


def requested(httpserver) -> list[str]:
    return [request.path for request, _ in httpserver.log]


def test_pages_until_the_last_page_then_stops_at_known_posts(httpserver, db):
    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: page("constructed_list_json_p2.html"),
                       3: last_page()})
    s = settings(httpserver)
    result = collect(db, s)
    assert result.outcome is Outcome.OK and result.items == 160
    assert requested(httpserver) == [f"/list,{BAR},f_{n}.html" for n in (1, 2, 3)]
    assert db["posts"].count == 160
    assert db["cursors"].get(("guba", f"latest:{BAR}"))["value"] == "2023-11-27T10:51:00+08:00"
    httpserver.clear_log()
    again = collect(db, s)
    assert again.outcome is Outcome.OK
    assert requested(httpserver) == [f"/list,{BAR},f_1.html"]  # page 1 reaches known posts: no more paging


def test_page_limit(httpserver, db):
    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: page("constructed_list_json_p2.html")})
    collect(db, settings(httpserver, guba_max_pages=1))
    assert requested(httpserver) == [f"/list,{BAR},f_1.html"]


def test_recollection_is_idempotent_and_refreshes_counts(httpserver, db):
    first = page("constructed_list_json_p1.html")
    serve(httpserver, {1: first, 2: last_page()})
    collect(db, settings(httpserver))
    before = db["posts"].get(("guba", "1367000079"))
    httpserver.clear()
    serve(httpserver, {1: first.replace('"post_click_count":50,', '"post_click_count":999,'), 2: last_page()})
    collect(db, settings(httpserver), now=datetime(2023, 11, 27, 11, 30, tzinfo=SHANGHAI))
    after = db["posts"].get(("guba", "1367000079"))
    assert db["posts"].count == 80
    assert (before["reads"], after["reads"]) == (50, 999)
    assert after["first_seen"] == before["first_seen"] and after["updated_at"] != before["updated_at"]


def test_observations_count_retail_posts_only(httpserver, db):
    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: last_page()})
    collect(db, settings(httpserver))
    obs = {(o["subject"], o["metric"], o["ts"]): o["value"] for o in db["observations"].rows}
    retail = list(db.query("select * from posts where kind = 'normal' and published_at like '2023-11-27%'"))
    assert obs[("北交所", "posts", "2023-11-27")] == len(retail)
    assert obs[(BAR, "posts", "2023-11-27")] == len(retail)
    assert obs[("北交所", "reads", "2023-11-27")] == sum(p["reads"] for p in retail)
    assert obs[(BAR, "authors", "2023-11-27")] == len({p["author_id"] for p in retail})
    hour = [p for p in retail if p["published_at"].startswith("2023-11-27T10")]
    assert obs[(BAR, "posts_1h", "2023-11-27T10:00:00+08:00")] == len(hour)
    assert obs[(BAR, "comments_1h", "2023-11-27T10:00:00+08:00")] == sum(p["comments"] for p in hour)
    pinned_day = "2023-10-18"  # the pinned post's day has no retail posts
    assert not any(ts == pinned_day for (_, _, ts) in obs)
    everything = settings(httpserver, guba_retail_only=False)
    collect(db, everything)
    assert db["observations"].get(("guba", "北交所", "posts", pinned_day))["value"] == 1


@pytest.mark.parametrize("fixture", ["constructed_captcha.html", "constructed_empty_shell.html",
                                     "constructed_list_busy.html"])
def test_a_block_on_page_two_keeps_page_one_and_writes_nothing_of_page_two(httpserver, db, fixture):
    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: page(fixture)})
    result = collect(db, settings(httpserver))
    assert result.outcome is Outcome.BLOCKED and result.items == 80
    assert db["posts"].count == 80
    assert health.source_status(db)[0]["status"] == "blocked"


@pytest.mark.parametrize("body,status,outcome", [
    (page("constructed_empty_shell.html"), 200, Outcome.BLOCKED),
    ("<html>" + "y" * 9000 + "</html>", 200, Outcome.FAILED),
    ("forbidden", 403, Outcome.BLOCKED),
    ("server error", 500, Outcome.FAILED),
])
def test_first_page_failures_store_nothing(httpserver, db, body, status, outcome):
    httpserver.expect_request(f"/list,{BAR},f_1.html").respond_with_data(body, status=status, content_type=HTML)
    result = collect(db, settings(httpserver))
    assert result.outcome is outcome and result.items == 0
    assert db["posts"].count == 0 and db["observations"].count == 0


def test_three_blocked_cycles_pause_the_source(httpserver, db):
    serve(httpserver, {1: page("constructed_captcha.html")})
    s = settings(httpserver)
    for minute in range(3):
        collect(db, s, now=NOW.replace(minute=minute))
    assert len(httpserver.log) == 3
    paused = collect(db, s, now=NOW.replace(minute=5))
    assert paused.outcome is Outcome.PAUSED and len(httpserver.log) == 3  # not even asked


def test_backfill_since_resumes_by_bar(httpserver, db):
    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: page("constructed_list_json_p2.html"),
                       3: last_page()})
    s = settings(httpserver, guba_bars=(BAR, "830799"))
    httpserver.expect_request("/list,830799,f_1.html").respond_with_data(page("constructed_captcha.html"),
                                                                         content_type=HTML)
    first = collect(db, s, since=date(2023, 11, 1))
    assert first.outcome is Outcome.BLOCKED and db["posts"].count == 160
    httpserver.clear()
    httpserver.expect_request("/list,830799,f_1.html").respond_with_data(last_page(), content_type=HTML)
    second = collect(db, s, since=date(2023, 11, 1))
    assert second.outcome is Outcome.EMPTY
    assert requested(httpserver) == ["/list,830799,f_1.html"]  # the finished bar is not fetched again


def test_bullish_share_from_the_text_module(httpserver, db):
    from sentibot.text.tokenizer import sentiment

    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: last_page()})
    collect(db, settings(httpserver))
    labels = [sentiment(p["title"]).label for p in
              db.query("select title from posts where kind = 'normal' and published_at like '2023-11-27%'")]
    positive, negative = labels.count("positive"), labels.count("negative")
    assert positive and negative  # the constructed titles carry both moods
    share = db["observations"].get(("guba", "北交所", "bullish_share", "2023-11-27"))["value"]
    assert share == pytest.approx(positive / (positive + negative))
    assert db["observations"].get(("guba", BAR, "bullish_share", "2023-11-27"))["value"] == share


def test_each_title_is_scored_once_and_the_label_is_stored(httpserver, db, monkeypatch):
    import sentibot.text.tokenizer

    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: last_page()})
    calls = []
    real = sentibot.text.tokenizer.sentiment
    monkeypatch.setattr(sentibot.text.tokenizer, "sentiment", lambda title: calls.append(title) or real(title))
    collect(db, settings(httpserver))
    first = len(calls)
    counted = next(db.query("select count(*) as n from posts where kind = 'normal' "
                            "and published_at like '2023-11-27%'"))["n"]
    assert first == counted  # the day's retail posts, once each
    stored = {r["post_id"]: r["sentiment"] for r in db.query("select post_id, sentiment from posts "
                                                             "where sentiment is not null")}
    assert len(stored) == counted and set(stored.values()) <= {"positive", "negative", "neutral"}
    assert all(real(r["title"]).label == r["sentiment"]
               for r in db.query("select title, sentiment from posts where sentiment is not null"))
    share = db["observations"].get(("guba", "北交所", "bullish_share", "2023-11-27"))["value"]

    db.execute("delete from cursors where source = 'guba'")  # the next cycle re-reads every page
    collect(db, settings(httpserver))
    assert len(calls) == first  # nothing scored again
    assert db["observations"].get(("guba", "北交所", "bullish_share", "2023-11-27"))["value"] == share


def test_an_edited_title_or_a_changed_dictionary_is_scored_again(httpserver, db, monkeypatch):
    from sentibot.models import Post
    from sentibot.collect.guba.collector import forget_stale_sentiment
    from sentibot.store.db import upsert_posts

    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: last_page()})
    collect(db, settings(httpserver))
    row = next(db.query("select * from posts where sentiment is not null limit 1"))
    post = Post(row["source"], row["post_id"], row["bar"], row["title"], row["published_at"], kind=row["kind"])
    upsert_posts(db, [post], "t1")  # same title: the label is kept
    assert db["posts"].get((row["source"], row["post_id"]))["sentiment"] == row["sentiment"]
    post.title = "北交所利空出尽，明天大涨"
    upsert_posts(db, [post], "t2")  # edited: scored again at the next derivation
    assert db["posts"].get((row["source"], row["post_id"]))["sentiment"] is None

    assert forget_stale_sentiment(db, "t3") == 0  # the fingerprint was stored by the collection
    monkeypatch.setattr("sentibot.text.tokenizer.fingerprint", lambda: "another-dictionary")
    assert forget_stale_sentiment(db, "t4") > 0
    assert next(db.query("select count(*) as n from posts where sentiment is not null"))["n"] == 0


def test_every_caller_of_derive_observations_reads_current_labels(httpserver, db, monkeypatch):
    from sentibot.collect.guba.collector import derive_observations

    serve(httpserver, {1: page("constructed_list_json_p1.html"), 2: last_page()})
    collect(db, settings(httpserver))
    db.execute("update posts set sentiment = 'neutral'")  # labels from an older dictionary, say
    days = {r["d"] for r in db.query("select distinct substr(published_at, 1, 10) as d from posts")}
    assert not [o for o in derive_observations(db, days) if o.metric == "bullish_share"]  # same model: kept
    monkeypatch.setattr("sentibot.text.tokenizer.fingerprint", lambda: "another-dictionary")
    shares = [o for o in derive_observations(db, days, stamp="t5") if o.metric == "bullish_share"]
    assert shares  # the model changed: every title was scored again before counting
    assert db["cursors"].get(("text", "sentiment_fingerprint"))["value"] == "another-dictionary"
