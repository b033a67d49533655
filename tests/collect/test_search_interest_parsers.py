"""Pure search-interest parsers: Baidu Index decrypt and series, WeChat Index variants, window splitting."""

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from sentibot.errors import InputError
from sentibot.collect.search.parse import (
    NeedsCredentials,
    StatusBlocked,
    UnindexedWords,
    check_baidu_status,
    decrypt,
    decrypt_series,
    parse_index_response,
    parse_key_response,
    parse_wechat_response,
    series_points,
    split_windows,
    wechat_body,
)
from tests.support.paths import FIXTURES

FIX = FIXTURES


def load(folder: str, name: str) -> dict:
    return json.loads((FIX / folder / name).read_text(encoding="utf-8"))


def test_format_md_constructed_example():
    assert decrypt("ABCDEFGHIJK0123456789,", "BCKDEKAJ") == "12,34,09"


@pytest.mark.slow
@given(st.permutations("0123456789,.-+%"), st.lists(st.sampled_from("0123456789,.-+%"), max_size=200))
def test_decrypt_round_trip(plain_half, message):
    cipher_half = "abcdefghijklmno"
    key = cipher_half + "".join(plain_half)
    encode = dict(zip(key[15:], cipher_half))
    plain = "".join(message)
    assert decrypt(key, "".join(encode[c] for c in plain)) == plain


def test_key_shorter_than_cipher_needs():
    with pytest.raises(InputError, match=r"key too short \(4 chars\) for a cipher using 3 distinct"):
        decrypt("AB01", "ABC", "baidu 北交所/all")


def test_cipher_character_missing_from_key():
    with pytest.raises(InputError, match=r"cipher character 'Z' at position 2 is missing from the key"):
        decrypt("ABCDEFGHIJK0123456789,", "BCZ")


def test_odd_key():
    with pytest.raises(InputError, match="odd length"):
        decrypt("ABC01", "A")


@pytest.mark.parametrize("start, end, expected", [
    (date(2023, 1, 1), date(2023, 1, 1), [(date(2023, 1, 1), date(2023, 1, 1))]),
    (date(2023, 1, 1), date(2023, 3, 31), [(date(2023, 1, 1), date(2023, 3, 31))]),  # exactly 90 days
    (date(2023, 1, 1), date(2023, 4, 1), [(date(2023, 1, 1), date(2023, 3, 31)), (date(2023, 4, 1), date(2023, 4, 1))]),
])
def test_split_windows_edges(start, end, expected):
    assert split_windows(start, end) == expected


@pytest.mark.slow
@given(st.dates(date(2011, 1, 1), date(2030, 1, 1)), st.integers(0, 2000))
def test_split_windows_cover_without_gaps(start, length):
    end = start + timedelta(days=length)
    windows = split_windows(start, end)
    assert windows[0][0] == start and windows[-1][1] == end
    assert all((b - a).days + 1 <= 90 for a, b in windows)
    assert all(windows[i][1] + timedelta(days=1) == windows[i + 1][0] for i in range(len(windows) - 1))


def test_daily_series_keeps_missing_day_missing():
    uniqid, series = parse_index_response(load("baidu_index", "constructed_index_day.json"), "index")
    key = parse_key_response(load("baidu_index", "constructed_ptbk.json"), "ptbk")
    assert uniqid == "c0ffee01d" and {s.metric for s in series} == {"all", "pc", "wise"}
    obs = decrypt_series(series, key, "baidu")
    alls = {o.ts: o.value for o in obs if o.metric == "all"}
    assert len(alls) == 29 and "2023-11-11" not in alls
    assert alls["2023-11-01"] == 1200 and alls["2023-11-24"] == 21000 and alls["2023-11-30"] == 7000
    assert {o.subject for o in obs} == {"北交所"} and {o.source for o in obs} == {"baidu_index"}
    assert {o.metric for o in obs} == {"all", "pc", "wise"}


def test_weekly_series():
    _, series = parse_index_response(load("baidu_index", "constructed_index_week.json"), "index")
    obs = decrypt_series(series, "qW3eR7tYu9P0123456789,", "baidu")
    weekly = sorted((o.ts, o.value) for o in obs if o.metric == "all_week")
    assert len(weekly) == 52 and weekly[0] == ("2023-01-02", 900) and weekly[-1][0] == "2023-12-25"
    assert dict(weekly)["2023-11-13"] == 15000 and dict(weekly)["2023-11-20"] == 12000
    assert {o.metric for o in obs} == {"all_week", "pc_week", "wise_week"}


def test_value_count_mismatch_is_an_error():
    _, series = parse_index_response(load("baidu_index", "constructed_index_day.json"), "index")
    # more values than days, or more missing than Baidu's lag explains, is an error
    short = [s.__class__(s.word, s.metric, s.kind, s.start, s.end + timedelta(days=4), s.cipher) for s in series]
    with pytest.raises(InputError, match="30 values for 2023-11-01..2023-12-04"):
        decrypt_series(short, "qW3eR7tYu9P0123456789,", "baidu")


@pytest.mark.parametrize("name, status, words", [
    ("constructed_status_10000.json", 10000, "not logged in"),
    ("constructed_status_10001.json", 10001, "request limited"),
])
def test_status_codes_block(name, status, words):
    with pytest.raises(StatusBlocked, match=words) as exc:
        parse_index_response(load("baidu_index", name), "index")
    assert exc.value.status == status


def test_data_null_is_not_no_data():
    with pytest.raises(InputError, match="no data.uniqid"):
        parse_index_response(load("baidu_index", "constructed_data_null.json"), "index")


def test_status_10018_blocks_and_10002_names_unindexed_words():
    with pytest.raises(StatusBlocked, match="10018") as exc:
        check_baidu_status({"status": 10018, "message": "疑似存在异常访问行为"}, "index")
    assert exc.value.status == 10018
    with pytest.raises(UnindexedWords, match="10002"):
        check_baidu_status({"status": 10002}, "index")


def test_baidu_lag_accepts_up_to_three_missing_trailing_days_only():
    points = series_points("1,2,3", date(2023, 11, 1), date(2023, 11, 5), 1, "s")
    assert [d.day for d, _ in points] == [1, 2, 3]
    with pytest.raises(InputError, match="expected 5"):
        series_points("1", date(2023, 11, 1), date(2023, 11, 5), 1, "s")


def test_wechat_request_body():
    body = wechat_body(("北交所",), "oid", "skey", date(2023, 10, 3), date(2023, 12, 31))
    assert body == {"openid": "oid", "search_key": "skey", "cgi_name": "GetDefaultIndex", "query": ["北交所"],
                    "compound_word": [], "start_ymd": "20231003", "end_ymd": "20231231"}


def test_wechat_real_series_in_the_getdefaultindex_shape():
    obs, missing = parse_wechat_response(load("wechat_index", "constructed_getdefaultindex.json"), "wx")
    assert missing == ["北证50"] and len(obs) == 89  # 90 values, the last is -1 (not yet available)
    assert (obs[0].ts, obs[0].value) == ("2023-10-03", 235257) and (obs[-1].ts, obs[-1].value) == ("2023-12-30", 195464)
    assert {(o.source, o.subject, o.metric) for o in obs} == {("wechat_index", "北交所", "index")}


@pytest.mark.parametrize("code", [-10000, -1])
def test_wechat_credential_codes_need_credentials(code):
    with pytest.raises(NeedsCredentials, match=f"code {code}.*SENTIBOT_WECHAT_SEARCH_KEY"):
        parse_wechat_response({"code": code, "msg": "x"}, "wx")


def test_wechat_other_code_and_bad_shape_are_errors():
    with pytest.raises(InputError, match="code 5"):
        parse_wechat_response({"code": 5}, "wx")
    with pytest.raises(InputError, match="no content.resp_list"):
        parse_wechat_response({"code": 0, "data": []}, "wx")


def test_wechat_non_numeric_item():
    with pytest.raises(InputError, match="wx 北交所 time_indexes\\[2\\]: item 2 is not a number: 'abc'"):
        parse_wechat_response(load("wechat_index", "constructed_getdefaultindex_non_numeric.json"), "wx")


def test_wechat_auth_failed_fixture():
    with pytest.raises(NeedsCredentials, match="auth failed"):
        parse_wechat_response(load("wechat_index", "constructed_code_auth_failed.json"), "wx")
