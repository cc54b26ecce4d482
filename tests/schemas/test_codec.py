"""The record contract: round trips, field-level errors, worked examples."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings

from schemas import DEAD_LETTER, ENRICHED_STORY, RAW_STORY, SCHEMA_VERSION, STATS, RecordError
from schemas.codec import load_schema
from tests.schemas.strategies import dead_letters, enriched_stories, raw_stories, window_counts

EXAMPLES = Path(__file__).parents[2] / "schemas" / "examples"


@settings(max_examples=150, deadline=None)
@given(raw_stories)
def test_raw_story_round_trip(record):
    assert RAW_STORY.decode(RAW_STORY.encode(record)) == record


@settings(max_examples=150, deadline=None)
@given(enriched_stories)
def test_enriched_story_round_trip(record):
    assert ENRICHED_STORY.decode(ENRICHED_STORY.encode(record)) == record


@settings(max_examples=150, deadline=None)
@given(dead_letters)
def test_dead_letter_round_trip(record):
    assert DEAD_LETTER.decode(DEAD_LETTER.encode(record)) == record


@settings(max_examples=150, deadline=None)
@given(window_counts)
def test_window_count_round_trip(record):
    assert STATS.decode(STATS.encode(record)) == record


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text("utf-8"))


@pytest.mark.parametrize(
    ("codec", "name"),
    [(RAW_STORY, "seed-raw.json"), (ENRICHED_STORY, "seed-enriched.json"), (DEAD_LETTER, "dead-letter.json"),
     (STATS, "stats.json")],
)
def test_worked_examples_validate(codec, name):
    """The examples are 1.0 records: older records of the same major version still decode."""
    record = _example(name)
    assert record["schema_version"] == "1.0"
    assert record["schema_version"].split(".")[0] == SCHEMA_VERSION.split(".")[0]
    assert codec.decode(json.dumps(record)) == record


def _broken(mutate) -> dict:
    record = copy.deepcopy(_example("seed-enriched.json"))
    mutate(record)
    return record


@pytest.mark.parametrize(
    ("mutate", "field", "reason_part"),
    [
        (lambda r: r.pop("story_id"), "story_id", "required"),
        (lambda r: r.update(story_id="not-hex"), "story_id", '"not-hex" does not match'),
        (lambda r: r.update(revision=0), "revision", "less than the minimum of 1"),
        (lambda r: r.update(schema_version="2.0"), "schema_version", "does not match"),
        (lambda r: r["source"].update(feed_url=42), "source.feed_url", 'is not of type "string"'),
        (lambda r: r.update(fetched_at="2023-10-17 09:05"), "fetched_at", "does not match"),
        (lambda r: r["dateline"]["locations"][1].update(country="Korea"), "dateline.locations[1].country", '"Korea" does not match'),
        (lambda r: r["attribution"]["credit"].append("Reuters"), "attribution.credit", "non-unique"),
        (lambda r: r["attribution"]["findings"][0].update(role="author"), "attribution.findings[0].role", '"author" is not one of'),
        (lambda r: r["cleaning"]["removed"][0].pop("kind"), "cleaning.removed[0].kind", "required"),
    ],
)
def test_decode_names_the_offending_field(mutate, field, reason_part):
    data = orjson.dumps(_broken(mutate))
    with pytest.raises(RecordError) as info:
        ENRICHED_STORY.decode(data)
    assert info.value.field == field
    assert reason_part in info.value.reason
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe", b"[1, 2]", b"null"])
def test_decode_rejects_non_objects(data):
    with pytest.raises(RecordError) as info:
        RAW_STORY.decode(data)
    assert info.value.field == "$"
    assert info.value.retriable is False


def test_encode_refuses_an_invalid_record():
    record = _example("seed-raw.json")
    record["authors"] = "Jane Doe"
    with pytest.raises(RecordError, match=r'^authors: "Jane Doe" is not of type "array"'):
        RAW_STORY.encode(record)


def test_a_long_offending_value_is_cut_short_in_the_reason():
    record = _example("seed-raw.json")
    record["revision"] = "x" * 5000
    with pytest.raises(RecordError) as info:
        RAW_STORY.encode(record)
    assert info.value.field == "revision"
    assert info.value.reason.endswith('… (5002 characters) is not of type "integer"')
    assert len(info.value.reason) < 200


def test_every_missing_field_is_named():
    record = _example("seed-raw.json")
    del record["story_id"], record["revision"]
    with pytest.raises(RecordError) as info:
        RAW_STORY.encode(record)
    assert info.value.field in ("story_id", "revision")
    assert info.value.reason.startswith("is required but missing (so are: ")


def test_codec_pickles_for_beam_workers():
    clone = pickle.loads(pickle.dumps(RAW_STORY))
    assert clone.decode(RAW_STORY.encode(_example("seed-raw.json")))["story_id"]


@pytest.mark.parametrize("name", ["raw_story", "enriched_story", "dead_letter", "stats"])
def test_schemas_are_valid_draft7(name):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft7Validator.check_schema(load_schema(name))


def test_enriched_schema_keeps_every_raw_field_but_the_content():
    raw = load_schema("raw_story")
    enriched = load_schema("enriched_story")
    assert set(raw["required"]) - {"html", "text"} <= set(enriched["required"])
