"""Names and codes: 920xxx, old 43/83/87xxxx, full names and unique prefixes, *ST, and one-line answers with
suggestions for ambiguous, unknown or malformed input."""

from __future__ import annotations

import pytest

from sentibot.errors import InputError
from sentibot.store.db import open_store
from sentibot.store.stock_names import bare, resolve


@pytest.fixture
def db(tmp_path):
    db = open_store(tmp_path / "h.db")
    # the stored universe has current names: *ST prefixes, and a code the shipped map does not know
    db["universe"].insert_all([
        {"code": "920680", "name": "*ST广道", "old_code": "839680", "market_cap": 1e9, "listed": 1},
        {"code": "920305", "name": "*ST云创", "old_code": "835305", "market_cap": 2e9, "listed": 1},
        {"code": "920999", "name": "测试新股", "old_code": "873999", "market_cap": 3e8, "listed": 1}], pk="code")
    return db


@pytest.mark.parametrize("raw, code", [
    ("920526", "920526"), ("831526", "920526"), ("凯华材料", "920526"), ("凯华", "920526"), ("  凯华材料 ", "920526"),
    ("BJ920526", "920526"), ("920526.BJ", "920526"), ("９２０５２６", "920526"),  # full-width digits
    ("839946", "920146"),  # the new code is not always 920 + the last three digits
    ("*ST广道", "920680"), ("ST广道", "920680"), ("广道", "920680"), ("＊ＳＴ广道", "920680"), ("*st云创", "920305"),
    ("873999", "920999"),  # an old code only the stored universe knows
])
def test_resolves(db, raw, code):
    assert resolve(db, raw).code == code


def test_universe_names_win_and_old_codes_are_kept(db):
    stock = resolve(db, "云创")
    assert stock.name == "*ST云创" and stock.old_code == "835305"
    assert resolve(None, "云创数据").code == "920305"  # without a history: the shipped map and dictionary


@pytest.mark.parametrize("raw, words", [
    ("华", ["matches", "stocks", "give more of the name or the code"]),
    ("92052", ["5 digits", "a BSE code has 6"]),
    ("9205261", ["7 digits"]),
    ("600519", ["not a Beijing Stock Exchange code"]),
    ("920998", ["no BSE stock with code 920998"]),
    ("凯化材料", ["no BSE stock named", "did you mean 凯华材料 (920526)"]),
    ("", ["give a stock"]),
    ("'; drop table watches; --", ["no BSE stock named"]),
    ("<b>x</b>" * 2000, ["no BSE stock named", "…"]),
])
def test_bad_input_is_one_line_with_why(db, raw, words):
    with pytest.raises(InputError) as err:
        resolve(db, raw)
    message = str(err.value)
    assert "\n" not in message and len(message) < 400
    for word in words:
        assert word in message
    assert db["watches"].exists()


def test_bare_strips_special_treatment_marks():
    assert bare("*ST广道") == bare("ST广道") == bare("广道") == "广道"
    assert bare("N凯华") == "凯华" and bare("STAR") == "STAR"  # only before a Chinese name
