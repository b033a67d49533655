"""The demo's reconstructed stock bars: deterministic, labelled, anchored to the reported limit-up counts."""

import csv
import shutil
import subprocess
import sys

from sentibot.resources import DEMO_DIR
from tests.support.paths import ROOT


def test_the_build_script_reproduces_stocks_csv_byte_for_byte(tmp_path):
    shutil.copy(DEMO_DIR / "market.csv", tmp_path / "market.csv")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_demo_stocks.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    assert (tmp_path / "stocks.csv").read_bytes() == (DEMO_DIR / "stocks.csv").read_bytes()


def test_every_row_is_reconstructed_and_no_code_is_a_real_bse_code():
    with (DEMO_DIR / "stocks.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["origin"] for r in rows} == {"reconstructed"}
    codes = {r["code"] for r in rows}
    assert len(codes) == 232 and all(c.startswith("990") for c in codes)
    lines = (ROOT / "sentibot/data/codes/bse_code_map_old_to_920.csv").read_text(encoding="utf-8").splitlines()
    pairs = [line.split(",") for line in lines if line and not line.startswith(("#", "old_code"))]
    real = {code for pair in pairs for code in pair[:2]}
    assert len(real) > 400
    assert not codes & real
