"""RFC 3339 formatting: every year is written with four digits, as the schemas require."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from schemas.timefmt import parse_rfc3339, to_rfc3339

PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")  # the schemas' pattern


@pytest.mark.parametrize("moment, text", [
    (datetime(1, 1, 1, tzinfo=timezone.utc), "0001-01-01T00:00:00Z"),
    (datetime(999, 2, 3, 4, 5, 6, 7, tzinfo=timezone.utc), "0999-02-03T04:05:06.000007Z"),
    (datetime(2023, 10, 17, 9, 30, tzinfo=timezone(timedelta(hours=2))), "2023-10-17T07:30:00Z"),
])
def test_years_are_padded_to_four_digits(moment, text):
    assert to_rfc3339(moment) == text and PATTERN.match(text) and parse_rfc3339(text) == moment
