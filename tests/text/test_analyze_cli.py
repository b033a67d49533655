"""`sentibot analyze`: arguments, CSV files, JSON lines, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sentibot.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_json_lines_carry_the_contract_keys():
    result = run("analyze", "--json", "北交所利空出尽", "贝特瑞不会跌[看多]")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [list(r) for r in rows] == [["text", "tokens", "sentiment", "label", "mentions", "notice_class"]] * 2
    assert rows[0]["tokens"] == ["北交所", "利空出尽"] and rows[0]["label"] == "positive"
    assert rows[1]["mentions"] == {"stocks": ["835185"], "topics": []}


def test_table_names_the_deciding_words():
    result = run("analyze", "明天不会跌[看多]")
    assert result.exit_code == 0
    assert "positive" in result.output and "不会跌" in result.output and "[看多]" in result.output


def test_csv_title_column(tmp_path):
    path = tmp_path / "titles.csv"
    path.write_text("id,title\n1,北交所暂停证券账户交易\n2,\n3,利好\n", encoding="utf-8")
    result = run("analyze", "--json", "--file", str(path))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["text"] for r in rows] == ["北交所暂停证券账户交易", "", "利好"]
    assert rows[0]["notice_class"]["label"] == "regulator_warning"


def test_csv_text_column_with_bom(tmp_path):
    path = tmp_path / "notices.csv"
    path.write_text("\ufefftext\n口头警示\n", encoding="utf-8")
    rows = [json.loads(line) for line in run("analyze", "--json", "--file", str(path)).output.splitlines()]
    assert rows[0]["notice_class"] == {"label": "regulator_warning", "severity": 1, "triggers": ["口头警示"]}


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentibot", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_missing_file_is_one_line_error(tmp_path):
    proc = _main("analyze", "--file", str(tmp_path / "nope.csv"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"sentibot: error: {tmp_path / 'nope.csv'}: no such file"]


@pytest.mark.slow
def test_missing_column_is_one_line_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("date,value\n2023-11-27,1\n", encoding="utf-8")
    proc = _main("analyze", "--file", str(path))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"sentibot: error: {path}: no 'title' or 'text' column (columns: date, value)"
    ]


@pytest.mark.slow
def test_binary_file_is_one_line_error(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"title\n\xff\xfe\x00garbage\n")
    proc = _main("analyze", "--file", str(path))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "not a readable UTF-8 CSV file" in proc.stderr


def test_no_input_is_a_usage_error():
    result = run("analyze")
    assert result.exit_code == 2 and "give TEXT arguments or --file CSV" in result.output
