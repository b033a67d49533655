"""The CLI's import-time graph stays light: pandas, numpy, telegram, matplotlib load only inside the commands.

import-linter cannot state this (it counts the imports inside functions too), so a fresh interpreter imports the
CLI and reports which heavy packages it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

pytestmark = pytest.mark.slow  # each test starts a fresh interpreter

HEAVY = ("pandas", "numpy", "telegram", "matplotlib", "httpx", "jieba", "bs4")


def loaded_after(body: str) -> list[str]:
    """The heavy packages in sys.modules after a fresh interpreter runs `body`."""
    code = f"import json, sys\n{body}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_package():
    assert loaded_after("import sentibot.cli") == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["demo", "--help"], ["run", "--help"]])
def test_help_and_version_load_no_heavy_package(argv):
    body = f"from sentibot.cli import cli\ntry:\n    cli.main({argv!r}, standalone_mode=False)\nexcept SystemExit:\n    pass"
    assert loaded_after(body) == []


@pytest.mark.slow
def test_the_probe_sees_a_heavy_import():
    """The check itself can fail: importing the bot module does load telegram."""
    assert "telegram" in loaded_after("import sentibot.bot.application")
