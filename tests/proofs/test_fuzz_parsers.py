"""Hostile input to every parser (hypothesis): no crash, no hang, only one-line errors, nothing usable from garbage.

Inputs are structure-aware: a valid recorded/constructed response with one subtree replaced by arbitrary JSON, cut
at an arbitrary point, wrapped wrongly, or replaced by arbitrary text. Each parser gets PARSER_EXAMPLES inputs
(1,000 by default, the issue's number; SENTIBOT_PROOF_SCALE multiplies it). Each input runs under a 2 s alarm, so
an endless loop fails the test instead of hanging it; hypothesis' deadline flags any input slower than 1 s.
"""

from __future__ import annotations

import json
import math
import os
import signal
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings, strategies as st

from sentibot.errors import InputError
from sentibot.models import Bar, Notice, Observation, Post
from sentibot.score.replay import read_attention, read_market, read_notices
from sentibot.collect.guba.parse import parse_list_page
from sentibot.collect.market import parse_kline
from sentibot.collect.notices.parse import parse_bse_disclosures, parse_bse_news
from sentibot.collect.search.parse import decrypt_series, parse_index_response, parse_key_response
from sentibot.timeutil import SHANGHAI

from tests.support.paths import FIXTURES

from tests.fixtures.guba import build  # the constructed Guba page builder shared with the collector tests
from tests.support.paths import ROOT


def scaled(full: int, ci: int) -> int:
    """The issue's count times SENTIBOT_PROOF_SCALE when set, else the CI count."""
    raw = os.environ.get("SENTIBOT_PROOF_SCALE")
    return max(1, round(full * float(raw))) if raw else ci


PARSER_EXAMPLES = scaled(1000, 1000)
NOW = datetime(2023, 11, 27, 11, 0, tzinfo=SHANGHAI)
FUZZ = settings(max_examples=PARSER_EXAMPLES, deadline=timedelta(seconds=1), database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


class Hang(Exception):
    pass


@contextmanager
def alarm(seconds: float = 2.0):
    """Fail (not hang) when one input takes longer than seconds."""

    def ring(signum, frame):
        raise Hang(f"one input took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def one_line(exc: Exception) -> None:
    message = str(exc)
    assert message and "\n" not in message and "Traceback" not in message, repr(message)


# --- generic hostile JSON and mutation of a valid document ------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30) | st.sampled_from(["", "-", "1.2万", "null", "2023-13-45", "9999-12-31 23:59:59",
                                                    "<b>x</b>", "&amp;", "\x00", "验证码", "系统繁忙"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=12)


def paths(doc, prefix=()):
    """Every path to a node of a JSON document."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, prefix + (i,))


def replace(doc, path, value):
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (replace(v, rest, value) if k == head else v) for k, v in doc.items()}
    return [replace(v, rest, value) if i == head else v for i, v in enumerate(doc)]


@st.composite
def mutated(draw, doc):
    """doc with 1-3 nodes replaced by hostile JSON (or deleted from their object)."""
    for _ in range(draw(st.integers(1, 3))):
        all_paths = list(paths(doc))
        path = draw(st.sampled_from(all_paths))
        if path and draw(st.booleans()) and isinstance(_get(doc, path[:-1]), dict):
            parent = _get(doc, path[:-1])
            doc = replace(doc, path[:-1], {k: v for k, v in parent.items() if k != path[-1]})
        else:
            doc = replace(doc, path, draw(JSON))
    return doc


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


@st.composite
def hostile_text(draw, valid: str):
    """A valid body cut short, with a slice replaced, or plain arbitrary text."""
    how = draw(st.sampled_from(["cut", "splice", "random", "bytes"]))
    if how == "cut":
        return valid[:draw(st.integers(0, len(valid)))]
    if how == "splice":
        a = draw(st.integers(0, len(valid)))
        b = draw(st.integers(a, min(len(valid), a + 200)))
        return valid[:a] + draw(st.text(max_size=50)) + valid[b:]
    if how == "bytes":
        return draw(st.binary(max_size=300)).decode("utf-8", "replace")
    return draw(st.text(max_size=300))


# --- Guba list page -------------------------------------------------------------------------------------------

GUBA_ITEMS = build.posts("zs899050", 1367000080, datetime(2023, 11, 27, 10, 58), n=6, kinds={0: "pinned", 3: "qa"})
GUBA_DOC = {"re": GUBA_ITEMS, "count": 160, "bar_name": "北证50吧", "bar_code": "zs899050", "rc": 1, "me": "操作成功"}
GUBA_VALID = build.list_page("zs899050", GUBA_ITEMS, chrome=False)


def guba_page(doc) -> str:
    blob = json.dumps(doc, ensure_ascii=False, allow_nan=True)
    return f"<html><body><script>var article_list={blob};</script>{build.table_rows(GUBA_ITEMS[:2])}</body></html>"


GUBA_INPUTS = (mutated(GUBA_DOC).map(guba_page) | hostile_text(GUBA_VALID)
               | hostile_text(build.list_page("zs899050", GUBA_ITEMS, layout="articleh", chrome=False))
               | hostile_text(build.list_page("zs899050", GUBA_ITEMS, layout="table", chrome=False)))


def test_guba_list_page_never_crashes_and_garbage_yields_no_posts():
    seen = []

    @FUZZ
    @given(GUBA_INPUTS)
    def run(text):
        seen.append(1)
        with alarm():
            page = parse_list_page(text, "zs899050", NOW, "https://guba.example")
        if not page.verdict.usable:
            assert page.posts == (), page.verdict
        for post in page.posts:
            assert isinstance(post, Post) and post.post_id and post.published_at.endswith("+08:00")

    run()
    assert len(seen) >= PARSER_EXAMPLES


# --- Eastmoney kline JSON ---------------------------------------------------------------------------------------

KLINE_DOC = json.loads((FIXTURES / "eastmoney" / "real_kline_daily_601872.json").read_text(encoding="utf-8"))
KLINE_VALID = json.dumps(KLINE_DOC, ensure_ascii=False)
KLINE_INPUTS = (mutated(KLINE_DOC).map(lambda d: json.dumps(d, ensure_ascii=False))
                | mutated(KLINE_DOC).map(lambda d: f"jQuery3510_1({json.dumps(d, ensure_ascii=False)});")
                | hostile_text(KLINE_VALID))


def test_kline_json_never_crashes_and_garbage_yields_no_bars():
    seen = []

    @FUZZ
    @given(KLINE_INPUTS)
    def run(text):
        seen.append(1)
        with alarm():
            verdict, bars = parse_kline(text, "899050")
        if not verdict.usable:
            assert bars == [], verdict
        for bar in bars:
            assert isinstance(bar, Bar)
            date.fromisoformat(bar.date)
            assert math.isfinite(bar.close) and math.isfinite(bar.amount), bar

    run()
    assert len(seen) >= PARSER_EXAMPLES


# --- bse.cn notice lists ----------------------------------------------------------------------------------------

def _null_doc(name: str):
    body = (FIXTURES / "bse" / name).read_text(encoding="utf-8").strip()
    return json.loads(body[len("null("):-1])


BSE_NEWS_DOC = _null_doc("constructed_listse_1289.jsonp")
BSE_DISC_DOC = _null_doc("disclosure_list_2021-07-19.jsonp")


def wrap(doc) -> str:
    return f"null({json.dumps(doc, ensure_ascii=False)})"


BSE_INPUTS = st.one_of(
    st.tuples(st.just("news"), mutated(BSE_NEWS_DOC).map(wrap) | hostile_text(wrap(BSE_NEWS_DOC))),
    st.tuples(st.just("disclosures"), mutated(BSE_DISC_DOC).map(wrap) | hostile_text(wrap(BSE_DISC_DOC))))


def test_bse_list_never_crashes_only_one_line_input_errors():
    seen = []

    @FUZZ
    @given(BSE_INPUTS)
    def run(case):
        kind, body = case
        seen.append(1)
        with alarm():
            try:
                if kind == "news":
                    notices = parse_bse_news(body, "https://www.bse.cn", "1289", "bse.cn listse.do")
                else:
                    notices, _ = parse_bse_disclosures(body, "https://www.bse.cn", "bse.cn companyAnnouncement.do")
            except InputError as exc:
                one_line(exc)
                return
        for notice in notices:
            assert isinstance(notice, Notice) and notice.url and notice.title
            datetime.fromisoformat(notice.published_at)  # a stored time must be a real time

    run()
    assert len(seen) >= PARSER_EXAMPLES


# --- Baidu Index ------------------------------------------------------------------------------------------------

BAIDU_INDEX = json.loads((FIXTURES / "baidu_index" / "constructed_index_day.json").read_text(encoding="utf-8"))
BAIDU_KEY = json.loads((FIXTURES / "baidu_index" / "constructed_ptbk.json").read_text(encoding="utf-8"))


def test_baidu_response_never_crashes_only_one_line_input_errors():
    seen = []

    @FUZZ
    @given(mutated(BAIDU_INDEX), mutated(BAIDU_KEY) | st.just(BAIDU_KEY))
    def run(index, key):
        seen.append(1)
        with alarm():
            try:
                if not isinstance(index, dict) or not isinstance(key, dict):
                    return  # the collector only passes JSON objects (classify_json refuses the rest)
                _, series = parse_index_response(index, "baidu index")
                observations = decrypt_series(series, parse_key_response(key, "baidu ptbk"), "baidu index")
            except InputError as exc:
                one_line(exc)
                return
        for obs in observations:
            assert isinstance(obs, Observation) and math.isfinite(obs.value), obs

    run()
    assert len(seen) >= PARSER_EXAMPLES


# --- CSV import (replay / backfill files) -----------------------------------------------------------------------

DEMO = ROOT / "sentibot" / "data" / "demo"
MARKET_CSV = "".join((DEMO / "market.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:6])
ATTENTION_CSV = "".join((DEMO / "attention.csv").read_text(encoding="utf-8").splitlines(keepends=True)[:6])
NOTICES_JSONL = "".join((DEMO / "notices.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)[:3])
CELLS = st.sampled_from(["", "-1", "nan", "inf", "1e309", "2023-02-30", "20231127", "1,000", "\"", "a,b", "０", "\x00",
                         "北交所", "2023-11-27T25:00", "=cmd|' /C calc'!A0"]) | st.text(max_size=12)


@st.composite
def csv_cell_edit(draw, valid: str):
    lines = valid.splitlines()
    row = draw(st.integers(0, len(lines) - 1))
    cells = lines[row].split(",")
    col = draw(st.integers(0, len(cells) - 1))
    cells[col] = draw(CELLS)
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


CSV_INPUTS = st.one_of(
    st.tuples(st.just("market.csv"), csv_cell_edit(MARKET_CSV) | hostile_text(MARKET_CSV)),
    st.tuples(st.just("attention.csv"), csv_cell_edit(ATTENTION_CSV) | hostile_text(ATTENTION_CSV)),
    st.tuples(st.just("notices.jsonl"), hostile_text(NOTICES_JSONL)
              | mutated([json.loads(x) for x in NOTICES_JSONL.splitlines()]).map(
                  lambda rows: "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) if isinstance(rows, list)
                  else json.dumps(rows, ensure_ascii=False))),
    st.tuples(st.just("notices.csv"), st.just("published_at,source,title,text,url\n") .flatmap(
        lambda head: st.lists(st.lists(CELLS, min_size=5, max_size=5).map(lambda c: ",".join(c)), max_size=3)
        .map(lambda rows: head + "\n".join(rows)))),
)
READERS = {"market.csv": read_market, "attention.csv": read_attention, "notices.jsonl": read_notices,
           "notices.csv": read_notices}


def test_csv_import_never_crashes_only_one_line_input_errors(tmp_path):
    seen = []

    @FUZZ
    @given(CSV_INPUTS, st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    def run(case, encoding):
        name, text = case
        seen.append(1)
        path = tmp_path / name
        path.write_bytes(text.encode(encoding, "replace"))  # GB18030 files must be refused, not misread
        with alarm():
            try:
                records = READERS[name](path)
            except InputError as exc:
                one_line(exc)
                assert str(path) in str(exc)  # the message names the file
                return
        for record in records:
            if isinstance(record, Notice):
                datetime.fromisoformat(record.published_at)
            elif isinstance(record, Bar):
                assert math.isfinite(record.close) and record.close > 0
            else:
                assert math.isfinite(record.value)

    run()
    assert len(seen) >= PARSER_EXAMPLES
