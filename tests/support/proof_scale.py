"""How big the proof suites run: the issues' full counts with SENTIBOT_PROOF_SCALE=1 (`make proof`), CI's otherwise."""

from __future__ import annotations

import os


def scaled(full: int, ci: int) -> int:
    """The issue's count times SENTIBOT_PROOF_SCALE when set, else the CI count that fits the time budget."""
    raw = os.environ.get("SENTIBOT_PROOF_SCALE")
    return max(1, round(full * float(raw))) if raw else ci
