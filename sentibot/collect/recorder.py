"""`sentibot probe --record DIR`: raw responses saved as test fixtures, with every cookie, token and credential removed.

Layout: DIR/<fixture folder>/recorded_<date>_<endpoint>.<ext>, the folders tests/fixtures uses, and one line per
file in DIR/<fixture folder>/RECORDED.md saying where and when it was recorded (the project's rule: every fixture
names its origin). Copying DIR over tests/fixtures, or single files from it, refreshes the fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import httpx

from sentibot.config import Secret, Settings
from sentibot.errors import InputError
from sentibot.collect.http import safe_url
from sentibot.collect.sessions import parse_cookie_header

REDACTED = "***"
# source -> folder under tests/fixtures; a source missing here records under its own name
FIXTURE_DIRS = {"market": "eastmoney", "universe": "eastmoney", "guba": "guba", "em_rank": "em_rank",
                "notices": "bse", "baidu_index": "baidu_index", "wechat_index": "wechat_index"}
# JSON keys and cookie/query names whose values are credentials or session identities wherever they appear
SECRET_NAMES = ("nid18", "nid18_create_time", "nid", "gvi", "st_nvi", "qgqp_b_id", "C3VK", "BDUSS", "STOKEN",
                "BAIDUID", "token", "access_token", "openid", "search_key", "cookie", "sessionid", "Cipher-Text")
_NAMES = "|".join(re.escape(n) for n in sorted(SECRET_NAMES, key=len, reverse=True))
_JSON_VALUE = re.compile(rf'("(?:{_NAMES})"\s*:\s*")([^"]*)(")', re.I)
_ASSIGNMENT = re.compile(rf"\b((?:{_NAMES})=)([^;&\s\"'<>]+)", re.I)
_EXTENSIONS = {"json": ".json", "javascript": ".js.txt", "html": ".html", "xml": ".xml"}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with credential-named values (JSON keys, cookie or query assignments) and known secrets removed."""
    for value in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    text = _JSON_VALUE.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    return _ASSIGNMENT.sub(lambda m: m.group(1) + REDACTED, text)


def settings_secrets(settings: Settings) -> list[str]:
    """Every credential setting's value, and each value of a pasted cookie."""
    values: list[str] = []
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, Secret) and value:
            values.append(str(value))
            values.extend(parse_cookie_header(value).values())
    return values


def response_secrets(response: httpx.Response) -> list[str]:
    """The cookie values this exchange carried: sent in the request, or set by the response (and its hops)."""
    values: list[str] = []
    for hop in [*response.history, response]:
        values.extend(parse_cookie_header(hop.request.headers.get("cookie", "")).values())
        for raw in hop.headers.get_list("set-cookie"):
            values.append(raw.split(";", 1)[0].partition("=")[2].strip())
    return values


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "endpoint"


def _extension(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "").lower()
    return next((ext for key, ext in _EXTENSIONS.items() if key in kind), ".txt")


class FixtureRecorder:
    """Writes each raw response under root in the fixture layout, redacted; `written` lists the files."""

    def __init__(self, root: Path, settings: Settings, now: datetime):
        if root.exists() and not root.is_dir():
            raise InputError(f"--record {root}: exists and is not a directory")
        self.root, self.now = root, now
        self.secrets = settings_secrets(settings)
        self.written: list[Path] = []

    def save(self, source: str, endpoint: str, response: httpx.Response) -> None:
        folder = self.root / FIXTURE_DIRS.get(source, _slug(source))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--record {self.root}: cannot create {folder} ({exc.strerror})") from None
        name = f"recorded_{self.now.date().isoformat()}_{_slug(endpoint)}{_extension(response)}"
        body = redact(response.text, [*self.secrets, *response_secrets(response)])
        (folder / name).write_text(body, encoding="utf-8")
        origin = (f"- `{name}`: recorded {self.now.isoformat(timespec='seconds')} by `sentibot probe --record` "
                  f"({source}, {endpoint}) from {safe_url(response.url)}: HTTP {response.status_code}, "
                  f"{response.headers.get('content-type', 'no content type')}; cookies and credentials removed\n")
        index = folder / "RECORDED.md"
        if not index.exists():
            index.write_text("# Recorded fixtures\n\nWritten by `sentibot probe --record`; one line per file.\n\n",
                             encoding="utf-8")
        with index.open("a", encoding="utf-8") as fh:
            fh.write(origin)
        self.written.append(folder / name)
