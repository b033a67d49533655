"""Trailing-window rules shared by scoring and correlation."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

MIN_SHARE = 0.75  # a window needs this share of non-missing values, else no score (never a false alarm)


def min_periods(window: int) -> int:
    """Values a window of this length needs before it yields a number."""
    return max(2, int(np.ceil(window * MIN_SHARE)))


@contextmanager
def quiet():
    """Silence numpy's empty-slice warnings (an all-missing window or day legitimately has no value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield
