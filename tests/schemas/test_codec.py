"""The record contract: round trips, field-level errors, worked examples."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import DEAD_LETTER, ENRICHED_STORY, RAW_STORY, SCHEMA_VERSION, STATS, RecordError
from schemas.codec import TOO_DEEP, TOO_LARGE, load_schema, nesting_depth
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
    """The examples are records of the current version (older ones: see below)."""
    record = _example(name)
    assert record["schema_version"] == SCHEMA_VERSION
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


# Limits the schemas state (x-newswire-limits, maximum, maxLength), enforced both ways.

def _nesting_reference(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_nesting_reference, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_nesting_reference, value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(0, 12))
def test_nesting_depth_agrees_with_a_recursive_count_up_to_the_limit(value, limit):
    assert nesting_depth(value, limit) == min(_nesting_reference(value), limit + 1)


def test_a_record_of_schema_version_1_0_still_decodes():
    old = _example("seed-raw.json") | {"schema_version": "1.0"}
    assert RAW_STORY.decode(orjson.dumps(old))["schema_version"] == "1.0"


@pytest.mark.parametrize("codec", [RAW_STORY, ENRICHED_STORY, DEAD_LETTER])
def test_each_schema_states_its_limits(codec):
    assert codec.limits.max_record_bytes <= 1_000_000  # Kafka's default message size fits
    assert codec.limits.max_depth == 32


def test_decode_refuses_a_record_over_the_size_limit_before_parsing_it():
    with pytest.raises(RecordError) as error:
        RAW_STORY.decode(b"[" * (RAW_STORY.limits.max_record_bytes + 1))  # never parsed
    assert error.value.kind == TOO_LARGE and "over the limit of 700,000" in error.value.reason


def test_decode_refuses_deep_nesting_that_orjson_would_parse():
    record = _example("seed-raw.json")
    data = orjson.dumps(record)[:-1] + b',"extra":' + b"[" * 900 + b"]" * 900 + b"}"
    with pytest.raises(RecordError) as error:
        RAW_STORY.decode(data)
    assert error.value.kind == TOO_DEEP
    record["extra"] = [[[]]]  # a shallow extra field is fine: records may carry more fields
    assert RAW_STORY.decode(orjson.dumps(record))["extra"] == [[[]]]


@pytest.mark.parametrize("revision", [2**53, 2**63, 1180591620717411303424])
def test_a_revision_past_the_exact_json_integers_is_refused(revision):
    data = orjson.dumps(_example("seed-raw.json")).replace(b'"revision":1', f'"revision":{revision}'.encode())
    with pytest.raises(RecordError) as error:
        RAW_STORY.decode(data)
    assert error.value.field == "revision" and "maximum" in error.value.reason


def test_encode_refuses_a_record_its_consumers_could_not_decode():
    record = _example("seed-enriched.json") | {"text": "x" * 700_000, "title": "y" * 20_000}
    with pytest.raises(RecordError) as error:
        ENRICHED_STORY.encode(record | {"authors": ["z" * 400_000]})
    assert error.value.kind == TOO_LARGE
