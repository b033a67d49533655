"""`sentibot --version` and `sentibot history` through click's runner and as real subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sentibot import __version__
from sentibot.cli import cli
from sentibot.errors import ConfigError, InputError, StoreError
from sentibot.models import Alert, AlertKind, Notice
from sentibot.store.db import add_alert, open_store, save_scores, upsert_notice

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No SENTIBOT_ variables from the caller, and a working directory without a .env."""
    for name in list(os.environ):
        if name.startswith("SENTIBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def filled(clean_env) -> Path:
    path = clean_env / "h.db"
    db = open_store(path)
    save_scores(db, [{"date": "2023-11-14", "score": 1.2, "level": "warming", "components": {"attention_z": 1.4}},
                     {"date": "2023-11-15", "score": 3.4, "level": "frenzy", "components": {"attention_z": 3.9}}],
                "2023-11-15T15:30:00+08:00")
    upsert_notice(db, Notice(url="https://www.bse.cn/n/1.html", source="bse", published_at="2023-11-17T18:00:00+08:00",
                             title="北交所关于加强异常交易监管的通知"), "now", "regulator_warning", 2, ["异常交易"])
    add_alert(db, Alert(AlertKind.FRENZY, "2023-11-15T15:30:00+08:00", "北交所散户情绪：狂热", level="frenzy",
                        score=3.4, reasons=("帖子数 ×4", "成交额 ×3")), "now")
    add_alert(db, Alert(AlertKind.REGULATOR_WARNING, "2023-11-17T18:00:00+08:00", "监管提示", level="",
                        dedupe_key="regulator_warning:https://www.bse.cn/n/1.html"), "now")
    db.close()
    return path


def _run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def test_version():
    result = _run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_history_is_registered_with_documented_options():
    result = _run("history", "--help")
    assert result.exit_code == 0
    for option in ("--db", "--kind", "--since", "--csv", "--json"):
        assert option in result.output


def test_history_empty_database_says_so(clean_env):
    path = clean_env / "empty.db"
    open_store(path).close()
    result = _run("history", "--db", str(path))
    assert result.exit_code == 0
    assert result.output.strip() == f"No alerts, scores or notices stored in {path}."
    result = _run("history", "--db", str(path), "--kind", "frenzy", "--since", "2023-11-01")
    assert result.output.strip() == f"No frenzy alerts since 2023-11-01 stored in {path}."


def test_history_without_database_file_says_so(clean_env):
    result = _run("history")
    assert result.exit_code == 0
    assert "No history yet: data/sentibot.db does not exist" in result.output
    assert not (clean_env / "data").exists()  # reading never creates a database
    exported = CliRunner().invoke(cli, ["history", "--csv"])
    assert exported.exit_code == 0 and exported.stdout == "" and "No history yet" in exported.stderr


def test_history_table_is_one_timeline(filled):
    result = _run("history", "--db", str(filled))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["ts", "record", "kind", "level", "score", "title", "detail"]
    body = lines[2:]
    assert [line.split()[1] for line in body] == ["score", "score", "alert", "notice", "alert"]
    assert "北交所散户情绪：狂热" in result.output and "帖子数 ×4; 成交额 ×3" in result.output
    assert "regulator_warning" in body[3] and "https://www.bse.cn/n/1.html" in body[3]


@pytest.mark.parametrize("kind,records", [
    ("alerts", ["alert", "alert"]), ("scores", ["score", "score"]), ("notices", ["notice"]),
    ("frenzy", ["alert"]), ("REGULATOR_WARNING", ["alert"]), ("cooling", []),
])
@pytest.mark.slow
def test_history_kind_filter(filled, kind, records):
    result = _run("history", "--db", str(filled), "--kind", kind, "--csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["record"] for r in rows] == records


def test_history_since_filter(filled):
    rows = list(csv.DictReader(io.StringIO(_run("history", "--db", str(filled), "--since", "2023-11-15",
                                                "--csv").stdout)))
    assert [r["ts"][:10] for r in rows] == ["2023-11-15", "2023-11-15", "2023-11-17", "2023-11-17"]
    rows = list(csv.DictReader(io.StringIO(_run("history", "--db", str(filled), "--since", "2023-11-17T18:00",
                                                "--csv").stdout)))
    assert [r["record"] for r in rows] == ["notice", "alert"]


def test_history_csv_has_full_text(filled):
    result = _run("history", "--db", str(filled), "--kind", "alerts", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0] == {"ts": "2023-11-15T15:30:00+08:00", "record": "alert", "kind": "frenzy", "level": "frenzy",
                       "score": "3.4", "title": "北交所散户情绪：狂热", "detail": "帖子数 ×4; 成交额 ×3"}


def test_history_json_is_alert_json(filled):
    result = _run("history", "--db", str(filled), "--json", "--kind", "alerts")
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert objects[0] == {"kind": "frenzy", "ts": "2023-11-15T15:30:00+08:00", "level": "frenzy", "score": 3.4,
                          "title": "北交所散户情绪：狂热", "reasons": ["帖子数 ×4", "成交额 ×3"], "stocks": []}
    assert objects[1]["kind"] == "regulator_warning" and objects[1]["score"] is None
    everything = [json.loads(line) for line in _run("history", "--db", str(filled), "--json").stdout.splitlines()]
    assert [o.get("record", "alert") for o in everything] == ["score", "score", "alert", "notice", "alert"]
    assert everything[3]["notice_class"] == "regulator_warning" and everything[3]["triggers"] == ["异常交易"]


@pytest.mark.parametrize("args,error,message", [
    (["--since", "15/11/2023"], InputError, "--since: expected a date YYYY-MM-DD"),
    (["--since", "2023-02-30"], InputError, "--since: expected a date YYYY-MM-DD"),
    (["--kind", "memes"], InputError, "--kind: expected one of alerts, scores, notices, frenzy"),
    (["--csv", "--json"], InputError, "--csv and --json: choose one"),
])
def test_history_bad_arguments(filled, args, error, message):
    result = _run("history", "--db", str(filled), *args)
    assert isinstance(result.exception, error)
    assert str(result.exception).startswith(message)


def test_history_missing_explicit_db_is_an_error(clean_env):
    result = _run("history", "--db", str(clean_env / "typo.db"))
    assert isinstance(result.exception, StoreError) and "does not exist" in str(result.exception)
    assert not (clean_env / "typo.db").exists()


def test_history_uses_sentibot_db_setting_and_validates_settings(filled, monkeypatch):
    monkeypatch.setenv("SENTIBOT_DB", str(filled))
    assert "北交所散户情绪" in _run("history").output
    monkeypatch.setenv("SENTIBOT_GUBA_MAX_PAGES", "lots")
    result = _run("history")
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith("SENTIBOT_GUBA_MAX_PAGES: expected an integer")


# --- real subprocesses: the console script and python -m -----------------------------------------------------

def _entry_points() -> list[list[str]]:
    entries = [[sys.executable, "-m", "sentibot"]]
    script = shutil.which("sentibot", path=str(Path(sys.executable).parent))
    if script:
        entries.append([script])
    return entries


ENTRY_POINTS = _entry_points()


def _sub(entry: list[str], args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SENTIBOT_")}
    return subprocess.run(entry + args, cwd=cwd, env={**base, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_console_script_is_installed():
    if len(ENTRY_POINTS) < 2:
        pytest.skip("the `sentibot` console script is not next to this Python (package not pip-installed here)")
    result = _sub(ENTRY_POINTS[1], ["--version"], Path.cwd())
    assert result.returncode == 0 and __version__ in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=[" ".join(Path(e).name for e in x) for x in ENTRY_POINTS])
def test_subprocess_history_and_errors(entry, filled):
    cwd = filled.parent
    ok = _sub(entry, ["history", "--db", str(filled), "--kind", "frenzy"], cwd)
    assert ok.returncode == 0 and "北交所散户情绪：狂热" in ok.stdout and ok.stderr == ""

    corrupt = cwd / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    before = corrupt.read_bytes()
    bad = _sub(entry, ["history", "--db", str(corrupt)], cwd)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith(f"sentibot: error: database {corrupt}: ")
    assert corrupt.read_bytes() == before

    since = _sub(entry, ["history", "--db", str(filled), "--since", "yesterday"], cwd)
    assert since.returncode == 1 and since.stderr.count("\n") == 1 and "--since: expected a date" in since.stderr

    setting = _sub(entry, ["history"], cwd, SENTIBOT_MIN_INTERVAL_S="-3")
    assert setting.returncode == 1 and "Traceback" not in setting.stderr
    assert setting.stderr == "sentibot: error: SENTIBOT_MIN_INTERVAL_S: expected a number >= 0, got '-3'\n"

    token = _sub(entry, ["history"], cwd, SENTIBOT_TELEGRAM_TOKEN=TOKEN.replace(":", ": "))
    assert token.returncode == 1 and "SENTIBOT_TELEGRAM_TOKEN" in token.stderr
    assert "AAHdqTcv" not in token.stderr + token.stdout


@pytest.mark.slow
def test_subprocess_reads_env_file(filled):
    (filled.parent / ".env").write_text(f"SENTIBOT_DB={filled}\nSENTIBOT_LOG_LEVEL=warning\n", encoding="utf-8")
    result = _sub(ENTRY_POINTS[0], ["history", "--kind", "notices"], filled.parent)
    assert result.returncode == 0 and "北交所关于加强异常交易监管的通知" in result.stdout



def test_table_aligns_chinese_text_and_cuts_long_titles():
    import unicodedata

    from sentibot.views.timeline import HistoryRow, format_table

    def _width(text: str) -> int:  # terminal columns: CJK characters take two
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    rows = [HistoryRow("2023-11-15", "alert", "frenzy", "frenzy", 3.4, "北交所" * 30, "", {}),
            HistoryRow("2023-11-16", "notice", "other", "", None, "short", "bse https://x", {})]
    header, _, long, short = format_table(rows).splitlines()
    title_start = _width(header[:header.index("title")])
    assert _width(long[:long.index("北")]) == title_start
    assert _width(short[:short.index("short")]) == title_start
    assert _width(short[:short.index("bse")]) == _width(header[:header.index("detail")])
    assert "…" in long and _width(long) <= title_start + 40
