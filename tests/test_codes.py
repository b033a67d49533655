"""The old -> 920xxx code map that ships with the package."""

import csv

import pytest

from sentibot import codes
from tests.support.paths import SHARED_DATA


def test_known_pairs_resolve_both_ways_including_irregular_ones():
    assert codes.to_new("430017") == "920017"
    assert codes.to_new("839946") == "920146"  # 华阳变速: not 920 + the last three digits
    assert codes.to_new("831167") == "920267"  # 鑫汇科
    assert codes.old_code("920146") == "839946"
    assert codes.code_map().names["920146"] == "华阳变速"


def test_new_codes_are_themselves_and_unknown_old_codes_are_not_guessed():
    assert codes.to_new("920999") == "920999"
    assert codes.to_new("870000") is None  # an old-shaped code the table does not know
    assert codes.canonical("870000") == "870000"
    assert codes.to_new("600519") is None and not codes.is_bse_code("600519")
    assert codes.is_bse_code("430047") and codes.is_bse_code("920047")


@pytest.mark.skipif(not (SHARED_DATA / "bse_code_map_old_to_920.csv").is_file(), reason="../shared not beside the checkout")
def test_the_shipped_table_is_the_shared_one():
    with (SHARED_DATA / "bse_code_map_old_to_920.csv").open(encoding="utf-8") as fh:
        shared = {r["old_code"]: r["new_code"] for r in csv.DictReader(fh)}
    assert codes.code_map().old_to_new == shared and len(shared) == 243
