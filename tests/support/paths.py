"""Where the tests' inputs live: the checkout, the fixtures, and ../shared beside the checkout."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
