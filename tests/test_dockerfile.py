"""What can be checked of the Docker files without Docker: base image, user, volume, command, copied paths."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from tests.support.paths import ROOT

ROOT = ROOT
def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def _args(instruction: str) -> list[str]:
    return [rest for word, rest in _instructions() if word == instruction]


def _copy_sources() -> list[str]:
    sources = []
    for rest in _args("COPY"):
        parts = [p for p in rest.split() if not p.startswith("--")]
        sources += parts[:-1]
    return sources


def test_base_image_is_python_311_slim():
    assert _instructions()[0] == ("FROM", "python:3.11-slim")


@pytest.mark.parametrize("source", _copy_sources())
def test_every_copied_path_exists(source):
    assert (ROOT / source).exists(), f"Dockerfile copies {source}, which is not in the repository"


def test_copied_paths_are_not_docker_ignored():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for source in _copy_sources():
        assert source not in ignored and source.rstrip("/") not in ignored, source
    assert {".env", "data/*.db", ".git"} <= ignored  # never bake secrets or local history into the image


def test_runs_as_non_root_user_created_in_the_image():
    users = _args("USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    assert any("useradd" in run and users[-1] in run for run in _args("RUN"))
    last_user = max(i for i, (word, _) in enumerate(_instructions()) if word == "USER")
    assert not [w for w, _ in _instructions()[last_user:] if w == "RUN"], "RUN after USER would need root"


def test_installs_tzdata_and_the_package_whose_font_draws_chinese():
    runs = " ".join(_args("RUN"))
    assert re.search(r"apt-get install[^&]*\btzdata\b", runs)
    assert "fonts-" not in runs  # the chart's CJK font is a Python dependency (pylopdf-fonts-zh-cn), not a system package
    assert re.search(r"\bpip install \.(\s|$)", runs)


def test_the_image_installs_the_package_normally_with_its_data_inside():
    """A non-editable install is complete: the package carries its dictionaries and demo episode."""
    runs = " ".join(_args("RUN"))
    assert re.search(r"\bpip install \.(\s|$)", runs), "the image must install the package, not link the checkout"
    assert "-e ." not in runs
    copies = [rest.split()[-2] for rest in _args("COPY")]
    assert "sentibot" in copies and not any(src.startswith("data") for src in copies)
    assert "TZ=Asia/Shanghai" in " ".join(_args("ENV"))


def test_data_is_a_volume_where_the_default_database_lives():
    workdir = _args("WORKDIR")[-1]
    volumes = [v for rest in _args("VOLUME") for v in json.loads(rest)]
    assert f"{workdir}/data" in volumes
    env = dict(item.split("=", 1) for rest in _args("ENV") for item in rest.split())
    assert Path(env["SENTIBOT_DB"]).parent == Path(f"{workdir}/data")  # the history is inside the volume
    from sentibot.config import Settings
    assert Path(workdir) / Settings().db == Path(env["SENTIBOT_DB"])  # same place as the default


def test_default_command_is_sentibot_run():
    assert json.loads(_args("CMD")[-1]) == ["sentibot", "run"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["sentibot"] == "sentibot.cli:main"


def test_compose_example_mounts_data_and_reads_env_file():
    path = ROOT / "docs" / "docker-compose.example.yml"
    service = yaml.safe_load(path.read_text(encoding="utf-8"))["services"]["sentibot"]
    assert (path.parent / service["build"] / "Dockerfile").resolve() == ROOT / "Dockerfile"
    assert (path.parent / service["env_file"]).resolve() == ROOT / ".env"
    workdir = _args("WORKDIR")[-1]
    assert any(v.split(":")[1] == f"{workdir}/data" for v in service["volumes"])


def test_tokenizer_cache_is_built_into_the_runtime_users_home():
    warm = [rest for rest in _args("RUN") if "from sentibot.text.tokenizer import tokenize" in rest]
    user = _args("USER")[-1]
    # the cache goes where the runtime user's sentibot.text.tokenizer looks (~/.cache/sentibot), owned by that user
    assert warm and f"XDG_CACHE_HOME=/home/{user}/.cache " in warm[0]
    assert f"chown -R {user}:{user} /home/{user}/.cache" in warm[0]
    assert not any("XDG_CACHE_HOME" in rest for rest in _args("ENV"))
