"""Settings every test runs under, whatever the environment says."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

#: CPython's default limit on the digits of an integer read from text; some rows quote its message.
INT_MAX_STR_DIGITS = 4300


@pytest.fixture(autouse=True)
def default_int_digits_limit() -> Iterator[None]:
    """PYTHONINTMAXSTRDIGITS (or -X int_max_str_digits) would change what json.loads refuses."""
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(INT_MAX_STR_DIGITS)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)
