"""Build sentibot/data/fonts/NotoSansCJKsc-subset.otf: Noto Sans CJK SC Regular cut to the characters charts need.

    python scripts/build_cjk_font.py SOURCE.otf

SOURCE is Noto Sans CJK SC Regular (SIL Open Font License 1.1), e.g. mplfonts/fonts/NotoSansCJKsc-Regular.otf from
the mplfonts 0.0.11 wheel on PyPI (version 1.004 of the font). The subset keeps ASCII, Latin-1, general punctuation,
CJK symbols, full-width forms, every GB 2312 character (the 6,763 hanzi of the simplified-Chinese standard), every
character of the listed companies' names and every character of the Chinese catalog, so a label added to the .po is covered
(tests/views/test_chart_font.py checks it). A 16 MB font becomes about 3 MB; the OFL allows subsetting and
redistribution with the licence beside the file (sentibot/data/fonts/OFL.txt).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "sentibot" / "data" / "fonts" / "NotoSansCJKsc-subset.otf"
PO = ROOT / "sentibot" / "data" / "locale" / "zh" / "LC_MESSAGES" / "sentibot.po"
DATA = ROOT / "sentibot" / "data"
NAMES = [DATA / "dict" / "bse_companies.txt", *sorted((DATA / "codes").glob("*.csv"))]
RANGES = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2460, 0x24FF),
          (0x25A0, 0x25FF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]


def gb2312() -> set[str]:
    """Every character GB 2312 encodes (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    out = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                out.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def characters() -> str:
    chars = {chr(c) for lo, hi in RANGES for c in range(lo, hi + 1)} | gb2312()
    for path in [PO, *NAMES]:  # the catalog, and every listed company's name (a few are outside GB 2312)
        chars |= {ch for ch in path.read_text(encoding="utf-8") if ord(ch) > 0x7F}
    return "".join(sorted(chars))


def main(source: str) -> None:
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(OUT), options)
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
