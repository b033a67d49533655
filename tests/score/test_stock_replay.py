"""Stock heat through the store: a replay of per-stock bars and attention puts the surging stocks at the top of
`sentibot top` and raises stock alerts naming them; `sentibot stock` resolves names; the live rescore saves, dedupes
and cools down per stock; read-only commands never create a database."""

from __future__ import annotations

import pytest
import json
from datetime import date, datetime

from click.testing import CliRunner

from sentibot.cli import cli
from sentibot.models import Alert, AlertKind
from sentibot.score import replay, stock_rescore
from sentibot.store.db import add_alert, open_store
from sentibot.timeutil import SHANGHAI
from tests.support.stock_world import write_stock_files

TOP_KEYS = ["code", "name", "rank", "rank_change", "score", "level", "attention_ratio", "turnover_ratio",
            "limit_streak"]


def replayed(tmp_path):
    files = write_stock_files(tmp_path)
    db = open_store(tmp_path / "h.db")
    return db, replay.replay(db, *files), files


@pytest.mark.slow
def test_replay_surging_stocks_lead_top_and_raise_alerts_naming_them(tmp_path):
    db, result, files = replayed(tmp_path)
    stock_alerts = [a for a in result.alerts if a.stocks and a.kind is AlertKind.FRENZY]
    named = {a.stocks[0] for a in stock_alerts}
    assert named == {"920526", "920171"}  # 831526 was given under its old code: stored under 920526
    assert all(a.level in ("hot", "frenzy") and a.title.startswith(("凯华材料", "志晟信息")) for a in stock_alerts)
    assert all(a.to_json()["stocks"] == list(a.stocks) for a in stock_alerts)
    assert db["deliveries"].count == 0  # replayed alerts are history
    out = CliRunner().invoke(cli, ["top", "--db", str(tmp_path / "h.db"), "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [list(r) for r in rows] == [TOP_KEYS] * 4
    assert {r["code"] for r in rows[:2]} == {"920526", "920171"} and rows[0]["level"] == "frenzy"
    assert rows[0]["limit_streak"] == 3 and rows[0]["attention_ratio"] > 5 and rows[-1]["level"] == "calm"
    assert [r["rank"] for r in rows] == [1, 2, 3, 4] and all(isinstance(r["rank_change"], int) for r in rows)
    again = replay.replay(db, *files)
    assert [a.to_json() for a in again.alerts] == [a.to_json() for a in result.alerts]


@pytest.mark.slow
def test_stock_command_resolves_the_name_and_scores_the_stock(tmp_path):
    replayed(tmp_path)
    path = str(tmp_path / "h.db")
    text = CliRunner().invoke(cli, ["stock", "凯华材料", "--db", path])
    assert text.exit_code == 0 and "凯华材料 920526, formerly 831526" in text.output and "FRENZY" in text.output
    assert "3 limit-up closes in a row" in text.output and "heat warming → frenzy" in text.output
    data = json.loads(CliRunner().invoke(cli, ["stock", "831526", "--db", path, "--json"]).output)
    assert data["code"] == "920526" and data["level"] == "frenzy" and data["rank"] in (1, 2) and data["ranked"] == 4
    kinds = {(a["kind"], tuple(a["stocks"])) for a in data["recent_alerts"]}
    assert ("frenzy", ("920526",)) in kinds and data["notices"]  # its own alert, and the notice naming it
    assert any(k == "regulator_warning" and "920526" in st for k, st in kinds)  # the regulator alert naming it
    calm = json.loads(CliRunner().invoke(cli, ["stock", "华阳变速", "--db", path, "--json"]).output)
    assert calm["code"] == "920146" and calm["level"] == "calm"
    assert [a["kind"] for a in calm["recent_alerts"]] == ["regulator_warning"]  # named by the notice, never hot


def test_bad_stock_argument_is_one_line_and_exit_1(tmp_path, capsys):
    import pytest

    from sentibot.cli import main

    replayed(tmp_path)
    for raw, words in (("华", "matches"), ("12345", "5 digits"), ("600519", "not a Beijing")):
        with pytest.raises(SystemExit) as exit_:
            main(["stock", raw, "--db", str(tmp_path / "h.db")])
        err = capsys.readouterr().err
        assert exit_.value.code == 1 and err.startswith("sentibot: error: ") and words in err
        assert err.count("\n") == 1 and "Traceback" not in err


def test_read_only_commands_never_create_a_database(tmp_path):
    missing = tmp_path / "none" / "h.db"
    for args in (["top"], ["top", "--json"], ["stock", "920526"], ["stock", "920526", "--json"]):
        out = CliRunner().invoke(cli, [*args, "--db", str(missing)])
        assert out.exit_code == 0 and "does not exist" in out.output
        assert not missing.exists() and not missing.parent.exists()
    empty = tmp_path / "empty.db"
    open_store(empty)
    out = CliRunner().invoke(cli, ["top", "--db", str(empty)])
    assert "no stock scores yet" in out.output


@pytest.mark.slow
def test_live_rescore_saves_recent_rows_dedupes_and_cools_down_per_stock(tmp_path):
    db, _, _ = replayed(tmp_path)
    full = {(r["code"], r["date"]): r["score"] for r in db.query("select code, date, score from stock_scores")}
    db["watches"].insert({"chat_id": 5, "code": "920526", "added_at": "x"}, pk=("chat_id", "code"))
    end = datetime(2024, 1, 10, 20, tzinfo=SHANGHAI)
    assert stock_rescore.rescore(db, end, since=date(2023, 12, 1)) == []  # the replay stored them: deduped
    db.execute("delete from alerts where stocks like '%920526%'")
    added = stock_rescore.rescore(db, end, since=date(2023, 12, 1))
    assert {a.stocks for a in added} == {("920526",)}
    deliveries = list(db.query("select chat_id from deliveries"))
    assert deliveries == [{"chat_id": 5}] * len(added)  # the watcher, and nobody else
    again = {(r["code"], r["date"]): r["score"] for r in db.query("select code, date, score from stock_scores")}
    assert again == full  # a live rescore rewrites recent rows with the same numbers
    # cooldown is per stock and level: a second stock's frenzy the same hour still goes out
    first = Alert(kind=AlertKind.FRENZY, ts="2024-01-11T15:00:00+08:00", level="frenzy", title="a",
                  dedupe_key="stock:920305:x", stocks=("920305",))
    repeat = Alert(kind=AlertKind.FRENZY, ts="2024-01-11T16:00:00+08:00", level="frenzy", title="a",
                   dedupe_key="stock:920305:y", stocks=("920305",))
    other = Alert(kind=AlertKind.FRENZY, ts="2024-01-11T16:00:00+08:00", level="frenzy", title="b",
                  dedupe_key="stock:920146:y", stocks=("920146",))
    assert add_alert(db, first, "2024-01-11T16:00:00+08:00", cooldown_s=86400) is not None
    assert add_alert(db, repeat, "2024-01-11T16:00:00+08:00", cooldown_s=86400) is None
    assert add_alert(db, other, "2024-01-11T16:00:00+08:00", cooldown_s=86400) is not None


def test_no_stock_bars_means_no_stock_scores(tmp_path):
    db = open_store(tmp_path / "h.db")
    assert stock_rescore.evaluate(db, datetime(2024, 1, 1, tzinfo=SHANGHAI)) == []
    assert db["stock_scores"].count == 0


@pytest.mark.slow
def test_a_regulator_notice_naming_a_stock_reaches_a_chat_that_only_watches_it(tmp_path):
    from sentibot.alerts import regulator

    db, result, _ = replayed(tmp_path)
    warning = next(a for a in result.alerts if a.kind is AlertKind.REGULATOR_WARNING)
    assert {"920526", "920171", "920146"} <= set(warning.stocks)  # issue 16 extracts the stocks the notice names
    db.execute("delete from alerts where kind = 'regulator_warning'")  # replayed alerts are history; go live
    db["watches"].insert({"chat_id": 77, "code": "920146", "added_at": "x"}, pk=("chat_id", "code"))  # 华阳变速
    db["watches"].insert({"chat_id": 78, "code": "920305", "added_at": "x"}, pk=("chat_id", "code"))  # not named
    db["subscribers"].insert({"chat_id": 79, "user_id": 79, "chat_type": "private", "min_level": "hot", "active": 1})
    added = regulator.raise_due(db, datetime(2024, 1, 10, 20, tzinfo=SHANGHAI))
    assert len(added) == 1
    recipients = [r["chat_id"] for r in db.query("select chat_id from deliveries where alert_id = ?", added)]
    assert sorted(recipients) == [77, 79]
