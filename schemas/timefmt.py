"""RFC 3339 timestamps in UTC, the one textual time format used in every record."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def to_rfc3339(moment: datetime) -> str:
    """Format an aware datetime as UTC RFC 3339 with a trailing ``Z``.

    Microseconds are kept only when non-zero, so feed times stay as published.
    Naive datetimes are refused: a time without a zone is ambiguous.
    """
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: attach a timezone before formatting")
    moment = moment.astimezone(timezone.utc)
    # the year by hand: strftime("%Y") does not pad years below 1000 on glibc ("1-01-01")
    spec = "-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "-%m-%dT%H:%M:%SZ"
    return f"{moment.year:04d}" + moment.strftime(spec)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or a numeric offset) into an aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone; RFC 3339 requires 'Z' or an offset")
    return moment.astimezone(timezone.utc)
