"""Replay import: strict validation (file, line, column), nothing stored from a failed import, idempotent replays."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sentibot.score import replay
from sentibot.cli import cli
from sentibot.errors import InputError
from sentibot.store.db import open_store

GOOD_MARKET = "date,close,amount\n2023-01-04,101,2000\n2023-01-03,100,1000\n"
GOOD_ATTENTION = "date,source,metric,value\n2023-01-03,wechat_index,北交所,5\n2023-01-04,wechat_index,北交所,6\n"
NOTICE = {"published_at": "2023-11-27T19:00:00+08:00", "source": "bse.cn", "title": "北交所加强交易监管",
          "text": "对异常交易行为采取口头警示、监管关注、出具警示函等自律监管措施93人次。", "url": "https://example.org/n1"}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def counts(db) -> dict:
    return {t: db[t].count for t in ("bars", "observations", "notices", "scores", "alerts")}


@pytest.mark.parametrize("name, text, expected", [
    ("m.csv", "date,close\n2023-01-03,100\n", "m.csv: line 1: missing column 'amount' (header has: date, close)"),
    ("m.csv", "date,close,amount\n2023-01-03,100,1\n2023-13-01,100,1\n",
     "m.csv: line 3, column date: cannot parse date '2023-13-01'"),
    ("m.csv", "date,close,amount\n2023-01-03,100,-5\n", "m.csv: line 2, column amount: negative value '-5'"),
    ("m.csv", "date,close,amount\n2023-01-03,100,abc\n", "m.csv: line 2, column amount: not a number: 'abc'"),
    ("m.csv", "date,close,amount\n2023-01-03,100,1\n2023-01-04,100,1\n2023-01-03,101,1\n",
     "m.csv: line 4, column date: 2023-01-03 repeats line 2 with different values"),
    ("m.csv", "", "m.csv: empty file"),
    ("m.csv", "date,close,amount\n", "m.csv: empty file (a header but no data rows)"),
])
def test_bad_market_file_one_line_error(tmp_path, name, text, expected):
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as info:
        replay.read_market(path)
    message = str(info.value)
    assert expected in message and "\n" not in message and str(path) in message


def test_bad_attention_and_notice_files(tmp_path):
    att = write(tmp_path, "a.csv", "date,source,metric,value\n2023-01-03,guba,posts,x\n")
    with pytest.raises(InputError, match=r"a.csv: line 2, column value: not a number: 'x'"):
        replay.read_attention(att)
    notices = write(tmp_path, "n.jsonl", json.dumps(NOTICE) + "\n{broken\n")
    with pytest.raises(InputError, match=r"n.jsonl: line 2, column 2: not valid JSON"):
        replay.read_notices(notices)


def test_market_without_the_index_is_refused(tmp_path):
    path = write(tmp_path, "m.csv", "date,code,close,amount\n2023-01-03,830799,10,1000\n")
    with pytest.raises(InputError, match=r"m.csv: no BSE 50 index rows"):
        replay.replay(open_store(tmp_path / "h.db"), path)


def test_gbk_file_is_rejected_as_not_utf8(tmp_path):
    path = write(tmp_path, "gbk.csv", "date,source,metric,value\n2023-01-03,baidu_index,北证50,5\n", "gbk")
    with pytest.raises(InputError, match=r"gbk.csv: not UTF-8 .*GBK"):
        replay.read_attention(path)


def test_bom_and_out_of_order_rows_accepted(tmp_path):
    path = write(tmp_path, "m.csv", "\ufeff" + GOOD_MARKET + "2023-01-04,101,2000\n")  # exact repeat is fine
    bars = replay.read_market(path)
    assert [b.date for b in bars] == ["2023-01-03", "2023-01-04"]
    assert all(b.code == "899050" and b.origin == "imported" for b in bars)


def test_nothing_imported_when_any_file_fails(tmp_path):
    db = open_store(tmp_path / "h.db")
    market = write(tmp_path, "m.csv", GOOD_MARKET)
    bad = write(tmp_path, "a.csv", "date,source,metric,value\n2023-01-03,guba,posts,-1\n")
    with pytest.raises(InputError):
        replay.replay(db, market, bad)
    assert counts(db) == {"bars": 0, "observations": 0, "notices": 0, "scores": 0, "alerts": 0}


def surge_files(tmp_path: Path, n: int = 160) -> tuple[Path, Path, Path]:
    """A calm history with a late surge in attention and turnover, rows shuffled, plus one warning notice."""
    rng = np.random.default_rng(7)
    days = pd.bdate_range("2023-03-01", periods=n)
    # a 10-day surge: over 20 days the trailing means would catch up with a slower ramp (turnover ~2.8x at its end)
    boost = np.concatenate([np.zeros(n - 10), np.linspace(0, 3, 10)])
    close = 800 * np.exp(np.cumsum(rng.normal(0, 0.005, n)) + boost / 10)
    amount = 1e9 * np.exp(rng.normal(0, 0.05, n) + boost * 0.8)
    market = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": close.round(2), "amount": amount.round()})
    rows = []
    for source, metric, base in (("wechat_index", "北交所", 1e6), ("guba", "posts", 300)):
        values = base * np.exp(rng.normal(0, 0.05, n) + boost)
        rows += [{"date": d, "source": source, "metric": metric, "value": round(v, 1)}
                 for d, v in zip(days.strftime("%Y-%m-%d"), values)]
    m = tmp_path / "market.csv"
    market.sample(frac=1, random_state=1).to_csv(m, index=False)
    a = tmp_path / "attention.csv"
    pd.DataFrame(rows).sample(frac=1, random_state=2).to_csv(a, index=False)
    notice = dict(NOTICE, published_at=f"{days[-3].date()}T19:00:00+08:00")
    n_path = write(tmp_path, "notices.jsonl", json.dumps(notice, ensure_ascii=False) + "\n")
    return m, a, n_path


@pytest.mark.slow
def test_replay_scores_alerts_and_is_idempotent(tmp_path):
    m, a, n = surge_files(tmp_path)
    db = open_store(tmp_path / "h.db")
    first = replay.replay(db, m, a, n)
    kinds = [(x.kind.value, x.level) for x in first.alerts]
    assert ("frenzy", "frenzy") in kinds and ("regulator_warning", kinds[-1][1]) in kinds
    before = counts(db)
    assert before["bars"] == 160 and before["observations"] == 320 and before["alerts"] == len(first.alerts)
    assert first.scored == before["scores"] and 50 < first.scored < 160
    assert {r["origin"] for r in db.query("select origin from bars union select origin from observations")} == {
        "imported"}
    second = replay.replay(db, m, a, n)
    assert [x.to_json() for x in second.alerts] == [x.to_json() for x in first.alerts]
    assert counts(db) == before


def test_replayed_alerts_are_history_not_deliveries(tmp_path):
    db = open_store(tmp_path / "h.db")
    db["subscribers"].insert({"chat_id": 1, "user_id": 1, "chat_type": "private", "min_level": "calm", "active": 1})
    result = replay.replay(db, *surge_files(tmp_path))
    assert result.alerts and db["alerts"].count == len(result.alerts) and db["deliveries"].count == 0


def test_replay_json_cli(tmp_path):
    m, a, n = surge_files(tmp_path)
    args = ["replay", "--market", str(m), "--attention", str(a), "--notices", str(n), "--db", str(tmp_path / "h.db"),
            "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines and all({"kind", "ts", "level", "score", "title", "reasons"} <= set(x) for x in lines)
    assert {x["kind"] for x in lines} >= {"frenzy", "regulator_warning"}
    assert CliRunner().invoke(cli, args).output == result.output


@pytest.mark.slow
def test_replay_cli_error_is_one_line_and_exit_1(tmp_path):
    bad = write(tmp_path, "m.csv", "date,close,amount\n2023-01-03,100,-1\n")
    proc = subprocess.run([sys.executable, "-m", "sentibot", "replay", "--market", str(bad), "--db",
                           str(tmp_path / "h.db")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"sentibot: error: {bad}: line 2, column amount: negative value '-1'"]


def test_notices_csv_with_naive_times_taken_as_shanghai(tmp_path):
    path = write(tmp_path, "n.csv", "\ufeffpublished_at,source,title,text,url\n"
                 "2023-11-27 19:00,bse.cn,北交所加强交易监管,口头警示、监管关注,https://example.org/n1\n")
    (notice,) = replay.read_notices(path)
    assert notice.published_at == "2023-11-27T19:00:00+08:00" and notice.origin == "imported"
    bad = write(tmp_path, "m.csv", "published_at,source,title,text,url\nyesterday,bse.cn,t,x,https://e.org/1\n")
    with pytest.raises(InputError, match=r"m.csv: line 2, column published_at: cannot parse timestamp 'yesterday'"):
        replay.read_notices(bad)
