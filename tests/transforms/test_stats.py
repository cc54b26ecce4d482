"""What a story counts toward, and the record and key of one count (plain functions)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from schemas import SCHEMA_VERSION, STATS, RecordError
from tests.transforms.stat_stories import attribution, dateline
from transforms.stats import (
    add_keys,
    count_key,
    count_record,
    merge_counts,
    story_keys,
    time_of_micros,
)


def test_a_story_counts_once_toward_each_distinct_country_credit_and_cited_agency():
    keys = story_keys(
        dateline("ID", "KR", None, "KR"),
        attribution(credit=("Reuters",), cited=("TASS", "KCNA"), photo=("AFP",)),
    )
    assert keys == [
        ("country", "ID"), ("country", "KR"),
        ("credit", "Reuters"), ("cited", "TASS"), ("cited", "KCNA"),
    ]


def test_a_story_without_dateline_or_agencies_counts_toward_nothing():
    assert story_keys(None, attribution()) == []
    assert story_keys(dateline(None), attribution(photo=("AFP",))) == []


def test_counts_add_up_per_key_and_merge():
    one = add_keys({}, [("country", "KR"), ("credit", "AFP")])
    assert add_keys(one, [("country", "KR")]) is one
    assert one == {("country", "KR"): 2, ("credit", "AFP"): 1}
    assert merge_counts([one, {("country", "KR"): 5, ("cited", "TASS"): 1}, {}]) == {
        ("country", "KR"): 7, ("credit", "AFP"): 1, ("cited", "TASS"): 1}
    assert merge_counts([]) == {}


def test_window_times_are_exact_rfc3339():
    assert time_of_micros(1_697_533_320_000_000) == "2023-10-17T09:02:00Z"
    assert time_of_micros(0) == "1970-01-01T00:00:00Z"
    assert time_of_micros(1_500_000) == "1970-01-01T00:00:01.500000Z"


def test_key_splits_back_into_window_dimension_and_value_even_with_a_bar_in_the_value():
    key = count_key("2023-10-17T09:02:00Z", "credit", "a|b")
    assert key == b"2023-10-17T09:02:00Z|credit|a|b"
    assert key.decode().split("|", 2) == ["2023-10-17T09:02:00Z", "credit", "a|b"]


def _record(**changes):
    fields = {
        "window_start_micros": 1_697_533_320_000_000, "window_end_micros": 1_697_533_380_000_000,
        "dimension": "country", "value": "KR", "count": 3, "pane_index": 0, "pane_timing": "on_time",
        "pipeline_version": "9.9.9",
        "emitted_at": datetime(2023, 10, 17, 9, 3, 2, tzinfo=timezone.utc),
    }
    fields.update(changes)
    return count_record(**fields)


def test_count_record_is_a_valid_stats_record():
    record = _record()
    assert record == {
        "schema_version": SCHEMA_VERSION,
        "window_start": "2023-10-17T09:02:00Z",
        "window_end": "2023-10-17T09:03:00Z",
        "dimension": "country",
        "value": "KR",
        "count": 3,
        "pane": {"index": 0, "timing": "on_time"},
        "pipeline_version": "9.9.9",
        "emitted_at": "2023-10-17T09:03:02Z",
    }
    assert STATS.decode(STATS.encode(record)) == record


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"count": 0}, "count"), ({"dimension": "photo"}, "dimension"),
     ({"pane_timing": "soon"}, "pane.timing"), ({"value": ""}, "value")],
)
def test_the_codec_refuses_a_broken_count(changes, field):
    with pytest.raises(RecordError) as info:
        STATS.encode(_record(**changes))
    assert info.value.field == field
