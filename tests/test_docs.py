"""The docs stay true: .env.example, README, Datasette metadata and docs/foundation.md against the code."""

from __future__ import annotations

import importlib.util
import re

import click
import yaml

from sentibot.cli import cli
from sentibot.config import Settings, load_settings, setting_names
from sentibot.store.db import open_store
from tests.support.paths import ROOT

ROOT = ROOT


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_env_example", ROOT / "scripts" / "gen_env_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(prefix + name)
        if isinstance(command, click.Group):
            names += _commands(command, prefix + name + " ")
    return names


def test_env_example_and_settings_table_are_up_to_date():
    gen = _gen_module()
    hint = "out of date: run python scripts/gen_env_example.py"
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == gen.render(), f".env.example is {hint}"
    doc = (ROOT / "docs" / "foundation.md").read_text(encoding="utf-8")
    assert doc == gen.render_doc(doc), f"the settings table of docs/foundation.md is {hint}"
    assert gen.main(["--check"]) == 0


def test_env_example_lists_every_setting_with_a_comment():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for name in setting_names():
        [index] = [i for i, line in enumerate(lines) if line.startswith(f"#{name}=")]
        assert lines[index - 1].startswith("# ") and len(lines[index - 1]) > 4, name


def test_env_example_uncommented_gives_the_defaults(tmp_path):
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    env_file = tmp_path / ".env"
    env_file.write_text(re.sub(r"^#(SENTIBOT_)", r"\1", text, flags=re.M), encoding="utf-8")
    assert load_settings({}, env_file=env_file) == Settings()


def test_readme_or_env_example_names_every_command_and_setting():
    text = (ROOT / "README.md").read_text(encoding="utf-8") + (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [f"sentibot {c}" for c in _commands(cli) if f"sentibot {c}" not in text]
    missing += [name for name in setting_names() if name not in text]
    assert not missing, f"not documented in README.md or .env.example: {', '.join(missing)}"


def test_foundation_doc_covers_history_settings_and_docker():
    doc = (ROOT / "docs" / "foundation.md").read_text(encoding="utf-8")
    for needle in ("sentibot history", "--kind", "--since", "--csv", "--json", "datasette data/sentibot.db",
                   "sentibot/data/metadata.yml", "sqlite3", "docker build", "docker-compose.example.yml", ".env.example",
                   "gen_env_example.py"):
        assert needle in doc, needle
    for name in setting_names():
        assert name in doc, name


def test_datasette_metadata_describes_every_table_and_column(tmp_path):
    metadata = yaml.safe_load((ROOT / "sentibot" / "data" / "metadata.yml").read_text(encoding="utf-8"))
    tables = metadata["databases"]["sentibot"]["tables"]  # `datasette data/sentibot.db` names it "sentibot"
    db = open_store(tmp_path / "sentibot.db")
    missing = set(db.table_names()) - set(tables)
    assert not missing, f"tables not described in sentibot/data/metadata.yml: {', '.join(sorted(missing))}"
    for table in db.tables:
        described = tables[table.name]
        assert described.get("description"), table.name
        columns = {c.name for c in table.columns}
        assert set(described["columns"]) == columns, f"{table.name}: {set(described['columns']) ^ columns}"
        assert all(isinstance(text, str) and text.strip() for text in described["columns"].values()), table.name


def test_data_readme_explains_the_directory():
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "sentibot.db" in text and "metadata.yml" in text and "git-ignored" in text
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"data/*.db", "data/*.db-wal", "data/*.db-shm"} <= set(ignored)


def test_every_test_file_the_docs_name_exists():
    """Docs that send a reader to tests/... follow the tree (tests mirror the package since issue 14)."""
    docs = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    missing = [f"{doc.name}: {path}" for doc in docs for path in re.findall(r"tests/[\w/*.-]+\.py", doc.read_text())
               if not list(ROOT.glob(path))]
    assert not missing, missing


def test_the_readme_layout_names_every_module():
    """The README's layout map keeps up with the tree (issue 14: the old map left 13 modules out)."""
    text = (ROOT / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    layout = layout[:layout.index("```", layout.index("```") + 3)]
    package = ROOT / "sentibot"
    names = {p.stem for p in package.glob("*.py")} | {p.stem for p in package.glob("*/*.py")}
    names |= {f"{p.name}/" for p in package.glob("*/*/") if (p / "__init__.py").exists()}
    words = set(re.findall(r"\w+/?", layout))
    missing = sorted(n for n in names - {"__init__", "__main__"} if n not in words)
    assert not missing, f"README layout leaves out: {missing}"
