"""Issue 17's acceptance checks on a market-only replay of the demo episode.

The BSE 50 series is the demo's reconstruction through the reported closes and turnover figures; the 232 stocks'
bars behind the limit board are reconstructed too, anchored to the reported limit-up counts (sentibot/data/demo/
STOCKS.md). No per-stock bar of the real Nov 2023 is on this machine: these checks run on reconstructed bars.
"""

import json

import pytest

from sentibot.resources import DEMO_DIR
from sentibot.score import replay
from sentibot.store.db import open_store


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    db = open_store(tmp_path_factory.mktemp("mo") / "h.db")
    result = replay.replay(db, [DEMO_DIR / "market.csv", DEMO_DIR / "stocks.csv"])
    rows = {r["date"]: (r["score"], r["level"], json.loads(r["components"]))
            for r in db.query("select * from scores order by date")}
    return result, rows


@pytest.mark.slow
def test_market_only_replay_scores_without_attention(scores):
    result, rows = scores
    assert result.observations == 0 and result.scored > 300
    assert {c["basis"] for _, _, c in rows.values()} == {"market_only"}


@pytest.mark.slow
def test_it_reaches_hot_before_27_nov_and_stays_below_hot_before_the_23_oct_low(scores):
    _, rows = scores
    before_peak = [lv for day, (_, lv, _) in rows.items() if "2023-11-01" <= day < "2023-11-27"]
    assert "hot" in before_peak
    assert all(lv in ("calm", "warming") for day, (_, lv, _) in rows.items() if day < "2023-10-23")
    assert all(lv != "frenzy" for _, lv, _ in rows.values())  # market-only stops at hot


def test_the_27_nov_limit_board_and_score(scores):
    _, rows = scores
    board = rows["2023-11-27"][2]["breadth"]
    assert abs(board["limit_up"] - 30) <= 2 and board["stocks"] == 232
    assert [rows[d][2]["breadth"]["limit_up"] for d in ("2023-11-20", "2023-11-21", "2023-11-22", "2023-11-23")] \
        == [3, 7, 16, 22]
    assert rows["2023-11-27"][0] > rows["2023-11-08"][0] + 30  # clearly above: 6x turnover vs 2x
    assert any("30 stocks closed at the +30% limit" in r for r in rows["2023-11-27"][2]["reasons"])
