"""Build sentibot/data/dict/bse_companies.txt (code<TAB>name) from listing data instead of the hand-curated list.

Sources, combined:
  --csv FILE   a listing export with a code and a name column (code,name; or bse.cn's 证券代码,证券简称)
  --db PATH    the sentibot history: the stock list the universe collector stores (code, name, old code), when the
               database has one; plus every BSE-looking code in the bars table, named from --csv or the current list
               (codes left without a name are reported)
  --keep       also keep entries of the current list that the sources do not mention
Run: python scripts/build_company_list.py --csv listing.csv [--db data/sentibot.db] [--out FILE] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "sentibot" / "data" / "dict" / "bse_companies.txt"
BSE_CODE = re.compile(r"^(8[378][0-9]{4}|43[0-9]{4}|920[0-9]{3})$")  # same shapes as sentibot.text.tokenizer mentions
CODE_COLUMNS = ("code", "证券代码", "companyCd", "symbol")
NAME_COLUMNS = ("name", "证券简称", "companyName", "short_name")


class BuildError(Exception):
    """Bad input: the message names the file, line or column."""


def read_list(path: Path) -> dict[str, str]:
    """A code<TAB>name[<TAB>old code] list (comments allowed) as {code: name}; empty if the file is absent."""
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            code, name = (line.split("\t") + [""])[:2]
            entries[code.strip()] = name.strip()
    return entries


def read_csv(path: Path) -> dict[str, str]:
    """{code: name} from a listing CSV; every row must have a BSE code and a name."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            code_col = next((c for c in CODE_COLUMNS if c in columns), None)
            name_col = next((c for c in NAME_COLUMNS if c in columns), None)
            if not code_col or not name_col:
                raise BuildError(f"{path}: needs a code column ({'/'.join(CODE_COLUMNS)}) and a name column "
                                 f"({'/'.join(NAME_COLUMNS)}); found {', '.join(columns) or 'none'}")
            entries = {}
            for line, row in enumerate(reader, 2):
                code, name = (row[code_col] or "").strip().zfill(6), (row[name_col] or "").strip()
                if not BSE_CODE.match(code):
                    raise BuildError(f"{path}:{line}: {code_col} {row[code_col]!r} is not a BSE stock code")
                if not name or "\t" in name:
                    raise BuildError(f"{path}:{line}: {name_col} is empty or has a tab")
                entries[code] = name
            return entries
    except FileNotFoundError:
        raise BuildError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise BuildError(f"{path}: not UTF-8") from None


def read_db(path: Path) -> tuple[dict[str, str], dict[str, str], set[str]]:
    """From a sentibot history: ({code: name} and {code: old code} of listed stocks, BSE codes with bars)."""
    if not path.exists():
        raise BuildError(f"{path}: no such database")
    from sentibot.store.db import open_store

    db = open_store(path, migrate=False)
    named, old_codes = {}, {}
    if "universe" in db.table_names():  # the stock-list collector's table (branch coll1), when present
        for row in db.query("select code, name, old_code from universe where listed = 1"):
            if BSE_CODE.match(row["code"]) and row["name"]:
                named[row["code"]] = row["name"].strip()
                if row["old_code"] and BSE_CODE.match(row["old_code"]):
                    old_codes[row["code"]] = row["old_code"]
    codes = {row["code"] for row in db.query("select distinct code from bars") if BSE_CODE.match(row["code"])}
    return named, old_codes, codes


def build(csv_entries: dict[str, str], codes: set[str], current: dict[str, str], keep: bool):
    """Merge the sources into {code: name}; returns (entries, codes without a name)."""
    entries = dict(current) if keep else {}
    entries.update(csv_entries)
    unnamed = []
    for code in sorted(codes - set(entries)):
        name = current.get(code)
        if name:
            entries[code] = name
        else:
            unnamed.append(code)
    return dict(sorted(entries.items())), unnamed


def write(path: Path, entries: dict[str, str], sources: list[str], old_codes: dict[str, str]) -> None:
    header = [
        "# BSE-listed companies (北京证券交易所 上市公司): code<TAB>short name[<TAB>old code], one per line.",
        f"# Provenance: built by scripts/build_company_list.py on {date.today().isoformat()} from: "
        + "; ".join(sources) + ".",
        "# New 920xxx codes are recognised generically by sentibot.text.tokenizer even when not listed.",
    ]
    body = [f"{code}\t{name}" + (f"\t{old_codes[code]}" if code in old_codes else "")
            for code, name in entries.items()]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(header + body) + "\n", encoding="utf-8")
    tmp.replace(path)  # never a half-written dictionary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, help="listing CSV with code and name columns")
    parser.add_argument("--db", type=Path, help="sentibot SQLite history (codes from its bars table)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="dictionary file to write")
    parser.add_argument("--keep", action="store_true", help="keep current entries the sources do not mention")
    args = parser.parse_args(argv)
    if not args.csv and not args.db:
        parser.error("give --csv and/or --db")
    try:
        csv_entries = read_csv(args.csv) if args.csv else {}
        named, old_codes, codes = read_db(args.db) if args.db else ({}, {}, set())
    except BuildError as exc:
        print(f"build_company_list: error: {exc}", file=sys.stderr)
        return 1
    current = read_list(args.out)
    entries, unnamed = build({**named, **csv_entries}, codes, current, args.keep)
    old_codes = {code: old for code, old in old_codes.items() if code in entries}
    for old in old_codes.values():
        entries.pop(old, None)  # the same company under its pre-920 code: kept as the old-code column instead
    if not entries:
        print("build_company_list: error: the sources named no company; nothing written", file=sys.stderr)
        return 1
    sources = ([f"{args.csv.name} ({len(csv_entries)} rows)"] if args.csv else []) + \
        ([f"{args.db.name}: universe ({len(named)} listed stocks) and bars ({len(codes)} BSE codes)"]
         if args.db else []) + \
        (["entries kept from the previous list"] if args.keep else [])
    write(args.out, entries, sources, old_codes)
    print(f"wrote {len(entries)} companies to {args.out}")
    if unnamed:
        print(f"{len(unnamed)} codes have no name (add them to the CSV): {', '.join(unnamed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
