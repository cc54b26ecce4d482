"""Windowed story counts as plain data: what one story counts toward, and the record (and
Kafka key) of one count of one window.

    story_keys(dateline, attribution)  → [("country", "ID"), ("country", "KR"),
                                           ("credit", "Reuters"), ("cited", "TASS"), ...]
    add_keys(counts, keys), merge_counts([counts, ...])  → {("country", "KR"): 3, ...}
    count_record(...)                  → a record of schemas/stats.schema.json
    count_key(window_start, dimension, value) → b"2023-10-17T09:02:00Z|country|KR"

A story counts once toward each distinct value of each dimension: the countries of its
dateline places (a JAKARTA/SEOUL dateline counts for ID and for KR; an unresolved place
for nothing), each credited agency, each cited agency. No Beam here:
``transforms.beam_stats`` windows and counts with these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from schemas import SCHEMA_VERSION, WindowCount
from schemas.timefmt import to_rfc3339
from transforms.attribution import Attribution
from transforms.dateline import Dateline

COUNTRY = "country"
CREDIT = "credit"
CITED = "cited"
DIMENSIONS = (COUNTRY, CREDIT, CITED)

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

StatKey = tuple[str, str]  # (dimension, value)
Counts = dict[StatKey, int]


def story_keys(dateline: Dateline | None, attribution: Attribution) -> list[StatKey]:
    """The (dimension, value) pairs one story counts toward, each once, in a stable order."""
    countries = () if dateline is None else dict.fromkeys(
        place.country for place in dateline.places if place.country
    )
    return (
        [(COUNTRY, country) for country in countries]
        + [(CREDIT, agency) for agency in dict.fromkeys(attribution.credit)]
        + [(CITED, agency) for agency in dict.fromkeys(attribution.cited)]
    )


def add_keys(counts: Counts, keys: Iterable[StatKey]) -> Counts:
    """Count one story's keys into ``counts`` (changed in place and returned)."""
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return counts


def merge_counts(parts: Iterable[Counts]) -> Counts:
    """The sum of several partial counts (a new dict)."""
    total: Counts = {}
    for part in parts:
        for key, count in part.items():
            total[key] = total.get(key, 0) + count
    return total


def time_of_micros(micros: int) -> str:
    """Epoch microseconds (a Beam timestamp's ``micros``) → RFC 3339 UTC, exactly."""
    return to_rfc3339(_EPOCH + timedelta(microseconds=micros))


def count_key(window_start: str, dimension: str, value: str) -> bytes:
    """The Kafka key of a count: ``window_start|dimension|value`` (UTF-8). The first two
    fields never contain ``|``, so splitting at the first two recovers the value whole.
    One key per (window, dimension, value): a compacted topic keeps its latest pane."""
    return f"{window_start}|{dimension}|{value}".encode()


def count_record(
    *,
    window_start_micros: int,
    window_end_micros: int,
    dimension: str,
    value: str,
    count: int,
    pane_index: int,
    pane_timing: str,
    pipeline_version: str,
    emitted_at: datetime,
) -> WindowCount:
    """One count of one window as of one pane (schemas/stats.schema.json); the codec
    validates it when it is encoded."""
    return {
        "schema_version": SCHEMA_VERSION,
        "window_start": time_of_micros(window_start_micros),
        "window_end": time_of_micros(window_end_micros),
        "dimension": dimension,
        "value": value,
        "count": count,
        "pane": {"index": pane_index, "timing": pane_timing},
        "pipeline_version": pipeline_version,
        "emitted_at": to_rfc3339(emitted_at),
    }
