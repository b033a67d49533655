"""Block detection: pure functions that classify a response body as usable, blocked or failed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sentibot.errors import SentibotError
from sentibot.models import Outcome

CAPTCHA_MARKERS = ("em_captcha_modal", "slider-captcha", "slidecaptcha", "geetest", "验证码", "滑动验证")
BUSY_MARKERS = ("系统繁忙", "请稍后再试", "访问过于频繁", "访问频繁")
SHELL_MAX_BYTES = 4096  # the ~2.8 KB empty shell served with status 200 to blocked clients
JSONP = re.compile(r"^\s*[\w$.]+\s*\((.*)\)\s*;?\s*$", re.S)


class FetchError(SentibotError):
    """A request or response that yields nothing to store; outcome is BLOCKED or FAILED."""

    def __init__(self, message: str, outcome: Outcome = Outcome.FAILED):
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class Verdict:
    """How a response body was classified, with the decoded payload when it is usable."""

    outcome: Outcome
    detail: str = ""
    payload: Any = None

    @property
    def usable(self) -> bool:
        return self.outcome in (Outcome.OK, Outcome.EMPTY)

    def raise_unusable(self, where: str) -> None:
        if not self.usable:
            raise FetchError(f"{where}: {self.detail}", self.outcome)


def captcha_marker(text: str) -> str | None:
    return next((m for m in CAPTCHA_MARKERS if m in text), None)


def classify_page(text: str, marker: str) -> Verdict:
    """An HTML page that must contain marker: a captcha or a short shell without it is a block."""
    found = captcha_marker(text)
    if found:
        return Verdict(Outcome.BLOCKED, f"captcha page ({found})")
    if marker in text:
        return Verdict(Outcome.OK, payload=text)
    size = len(text.encode("utf-8", "replace"))
    if size <= SHELL_MAX_BYTES:
        return Verdict(Outcome.BLOCKED, f"empty shell page ({size} bytes, no {marker})")
    return Verdict(Outcome.FAILED, f"page without {marker} ({size} bytes): layout changed?")


def unwrap_jsonp(text: str) -> str:
    match = JSONP.match(text)
    return match.group(1) if match and not text.lstrip().startswith(("{", "[")) else text


def classify_json(text: str, data_key: str | None = "data") -> Verdict:
    """A JSON or JSONP body: non-JSON, a busy message or a null data_key are blocks/failures, never empty data."""
    found = captcha_marker(text)
    try:
        payload = json.loads(unwrap_jsonp(text))
    except ValueError:
        if found:
            return Verdict(Outcome.BLOCKED, f"captcha page ({found}) where JSON was expected")
        snippet = " ".join(text[:60].split())
        return Verdict(Outcome.FAILED, f"not JSON ({len(text)} chars: {snippet!r})")
    if not isinstance(payload, dict):
        return Verdict(Outcome.FAILED, f"JSON {type(payload).__name__} where an object was expected")
    message = str(payload.get("me") or payload.get("message") or payload.get("msg") or "")
    if any(m in message for m in BUSY_MARKERS):
        return Verdict(Outcome.BLOCKED, f"busy message rc={payload.get('rc')}: {message}")
    if data_key is not None and payload.get(data_key) is None:
        return Verdict(Outcome.BLOCKED, f"{data_key}: null (rc={payload.get('rc')})")
    return Verdict(Outcome.OK, payload=payload)
