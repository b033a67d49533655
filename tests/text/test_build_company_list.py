"""scripts/build_company_list.py: listing CSV and stored bars to the jieba company dictionary."""

from __future__ import annotations

import importlib.util
import pytest

from sentibot.models import Bar
from sentibot.store.db import open_store, upsert_bars
from sentibot.text.tokenizer import load_companies
from tests.support.paths import ROOT

SCRIPT = ROOT / "scripts" / "build_company_list.py"
spec = importlib.util.spec_from_file_location("build_company_list", SCRIPT)
build_company_list = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_company_list)


def test_csv_and_db_make_a_dictionary_sentibot_reads(tmp_path, capsys):
    listing = tmp_path / "listing.csv"
    listing.write_text("证券代码,证券简称\n835185,贝特瑞\n920118,新公司\n", encoding="utf-8")
    db_path = tmp_path / "s.db"
    db = open_store(db_path)
    bars = [Bar(code, "2023-11-27", 10.0, 1e6) for code in ("835185", "899050", "836077", "600519")]
    upsert_bars(db, bars, "2023-11-27T15:00:00+08:00")
    db.close()
    out = tmp_path / "companies.txt"
    out.write_text("836077\t吉林碳谷\n830799\t艾融软件\n", encoding="utf-8")

    code = build_company_list.main(["--csv", str(listing), "--db", str(db_path), "--out", str(out)])

    assert code == 0
    # 836077 has bars and a name in the previous list; 830799 is dropped without --keep; index/SH codes ignored
    assert load_companies(out) == {"贝特瑞": "835185", "吉林碳谷": "836077", "新公司": "920118"}
    assert "Provenance: built by scripts/build_company_list.py" in out.read_text(encoding="utf-8")


def test_keep_and_unnamed_codes(tmp_path, capsys):
    db_path = tmp_path / "s.db"
    db = open_store(db_path)
    upsert_bars(db, [Bar("873001", "2023-11-27", 1.0, 1.0)], "now")
    db.close()
    out = tmp_path / "companies.txt"
    out.write_text("# old\n830799\t艾融软件\n", encoding="utf-8")
    assert build_company_list.main(["--db", str(db_path), "--out", str(out), "--keep"]) == 0
    assert load_companies(out) == {"艾融软件": "830799"}
    assert "873001" in capsys.readouterr().out


def test_bad_csv_row_is_one_line_error_and_writes_nothing(tmp_path, capsys):
    listing = tmp_path / "listing.csv"
    listing.write_text("code,name\n835185,贝特瑞\n600519,别的\n", encoding="utf-8")
    out = tmp_path / "companies.txt"
    assert build_company_list.main(["--csv", str(listing), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"build_company_list: error: {listing}:3: code '600519' is not a BSE stock code"]
    assert not out.exists()


def test_shipped_list_is_well_formed():
    shipped = build_company_list.read_list(build_company_list.DEFAULT_OUT)
    assert len(shipped) >= 100
    assert all(build_company_list.BSE_CODE.match(code) and name for code, name in shipped.items())
    assert len(set(shipped.values())) == len(shipped)


@pytest.mark.slow
def test_universe_table_gives_names_and_old_codes(tmp_path):
    db_path = tmp_path / "s.db"
    db = open_store(db_path)
    # the universe table comes from migration m002_coll1_universe (filled by sources/universe.py)
    db["universe"].insert_all([
        {"code": "920185", "name": "贝特瑞", "old_code": "835185", "listed": 1},
        {"code": "920077", "name": "吉林碳谷", "old_code": None, "listed": 1},
        {"code": "920999", "name": "已退市", "old_code": None, "listed": 0},
    ])
    db.close()
    out = tmp_path / "companies.txt"
    out.write_text("835185\t贝特瑞\n830799\t艾融软件\n", encoding="utf-8")
    assert build_company_list.main(["--db", str(db_path), "--out", str(out), "--keep"]) == 0
    lines = [line for line in out.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert lines == ["830799\t艾融软件", "920077\t吉林碳谷", "920185\t贝特瑞\t835185"]

    from sentibot.text import tokenizer as text

    dict_dir = tmp_path / "dict"
    dict_dir.mkdir()
    for name in ("userdict.txt", "mention_stoplist.txt", "sentiment.txt", "negators.txt"):
        (dict_dir / name).write_text((text.DICT_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (dict_dir / "bse_companies.txt").write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    m = text._build(dict_dir, text.model().segmenter)
    clean = "贝特瑞 835185 和 920185"
    assert text._mentions(text._tokens(clean, m), clean, m).stocks == ("920185",)
