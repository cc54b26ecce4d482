"""The Beam steps of the enrichment on in-memory Kafka records (FnApiRunner): valid stories
come out enriched, and every kind of bad record comes out as a Failure with its stage,
reason and Kafka position, counted per stage and outcome. No transform here uses windows
(dedup's optional TTL timer is tested with TestStream in tests/pipeline/enrich/test_dedup.py)."""

from __future__ import annotations

import apache_beam as beam
import orjson
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from schemas import ENRICHED_STORY, RAW_STORY, SCHEMA_VERSION
from tests.pages import article_page, raw_with_page
from tests.stories import kafka_record, raw_story, raw_value
from transforms import extract
from transforms.beam import (
    CleanText,
    DecodeRawStory,
    EncodeEnriched,
    ExtractAttribution,
    ExtractDateline,
    Story,
)


def _counters(result) -> dict[tuple[str, str], int]:
    query = result.metrics().query(MetricsFilter())
    return {
        (c.key.metric.namespace, c.key.metric.name): c.committed
        for c in query["counters"]
        if c.key.metric.namespace.startswith("newswire.") and c.committed
    }


def _enrich(records):
    """All five steps; returns the encoded output and every stage's failures, flattened."""
    decoded = records | DecodeRawStory()
    cleaned = decoded.ok | CleanText()
    datelined = cleaned.ok | ExtractDateline()
    attributed = datelined.ok | ExtractAttribution()
    encoded = attributed.ok | EncodeEnriched("9.9.9")
    failures = (
        decoded.dead_letter, cleaned.dead_letter, datelined.dead_letter,
        attributed.dead_letter, encoded.dead_letter,
    ) | beam.Flatten()
    return encoded.ok, failures


def _check_enriched(element):
    key, value, headers = element
    record = ENRICHED_STORY.decode(value)  # raises if it breaks the schema
    places = [(p["name"], p["country"]) for p in record["dateline"]["locations"]]
    attribution = record["attribution"]
    return (
        key.decode(), dict(headers), places, attribution["credit"], attribution["cited"],
        attribution["photo"], record["processing"]["input"], record["processing"]["pipeline_version"],
    )


def test_valid_and_invalid_records():
    no_content = raw_story(3, html=None, text=None)
    records = [
        kafka_record(raw_value(1), offset=0, key=b"k1"),
        kafka_record(b'{"schema_version": "1.0", "story_id": ', offset=1, key=b"k2"),
        kafka_record(raw_value(2, revision=0), offset=2, key=b"k3"),
        kafka_record(orjson.dumps(no_content), offset=3, key=b"k4"),
        kafka_record(None, offset=4, key=b"k5"),
        kafka_record(b"\x00" * (RAW_STORY.limits.max_record_bytes + 1), offset=5, key=b"k6"),
        kafka_record(raw_value(6)[:-1] + b',"extra":' + b"[" * 900 + b"]" * 900 + b"}", offset=6),
        kafka_record(raw_value(7, revision=2**63), offset=7),
        kafka_record(raw_value(8).replace(b'"revision":1', b'"revision":1180591620717411303424'), offset=8),
    ]
    pipeline = TestPipeline(runner="FnApiRunner")
    enriched, failures = _enrich(pipeline | beam.Create(records))
    assert_that(
        enriched | beam.Map(_check_enriched),
        equal_to([(
            f"{1:032x}", {"schema_version": SCHEMA_VERSION.encode()}, [("JAKARTA", "ID"), ("SEOUL", "KR")],
            ["Reuters"], ["TASS", "KCNA"], ["AFP"],
            {"topic": "news.raw", "partition": 0, "offset": 0}, "9.9.9",
        )]),
        label="enriched",
    )
    assert_that(
        failures | beam.Map(lambda f: (f.record.offset, f.stage, f.error_type, f.story_id)),
        equal_to([
            (1, "decode", "RecordError", None),
            (2, "validate", "RecordError", f"{2:032x}"),
            (3, "clean", "ExtractionError", f"{3:032x}"),
            (4, "decode", "RecordError", None),
            (5, "decode", "RecordError", None),
            (6, "decode", "RecordError", None),
            (7, "validate", "RecordError", f"{7:032x}"),
            (8, "validate", "RecordError", f"{8:032x}"),
        ]),
        label="failures",
    )
    assert_that(
        failures | beam.Map(lambda f: (f.record.offset, f.reason.split(":")[0])),
        equal_to([
            (1, "not valid JSON"),
            (2, "not a valid raw story (schemas/raw_story.schema.json)"),
            (3, "clean"),
            (4, "the record has no value (a tombstone)"),
            (5, ("the record is 700,001 bytes, over the limit of 700,000 (x-newswire-limits in "
                "schemas/raw_story.schema.json)")),
            (6, ("arrays and objects nest more than 32 deep (x-newswire-limits in "
                "schemas/raw_story.schema.json)")),
            (7, "not a valid raw story (schemas/raw_story.schema.json)"),
            (8, "not a valid raw story (schemas/raw_story.schema.json)"),
        ]),
        label="reasons",
    )
    result = pipeline.run()
    result.wait_until_finish()
    assert _counters(result) == {
        ("newswire.decode", "ok"): 5,
        ("newswire.decode", "invalid_json"): 1,
        ("newswire.decode", "tombstone"): 1,
        ("newswire.decode", "too_large"): 1,
        ("newswire.decode", "too_deep"): 1,
        ("newswire.validate", "ok"): 2,
        ("newswire.validate", "schema_violation"): 3,
        ("newswire.clean", "ok"): 1,
        ("newswire.clean", "unprocessable"): 1,
        ("newswire.dateline", "ok"): 1,
        ("newswire.attribution", "ok"): 1,
        ("newswire.encode", "ok"): 1,
    }


def test_a_raw_record_with_a_page_is_enriched_from_the_page():
    raw = raw_with_page(article_page("Port reopens"))
    pipeline = TestPipeline(runner="FnApiRunner")
    enriched, failures = _enrich(pipeline | beam.Create([kafka_record(orjson.dumps(raw), key=b"p")]))

    def summary(element):
        record = ENRICHED_STORY.decode(element[1])
        return (record["article"]["body"], record["dateline"]["raw"], record["attribution"]["photo"],
                record["page"]["headline"], record["schema_version"])

    assert_that(enriched | beam.Map(summary),
                equal_to([("page", "HARBOUR CITY (Reuters)", ["AFP"], "Port reopens", "1.1")]))
    assert_that(failures, equal_to([]), label="no failures")
    pipeline.run().wait_until_finish()


def test_failure_reasons_name_the_field_and_keep_the_original_record():
    bad = kafka_record(raw_value(2, revision=0), offset=7, key=b"original key")
    pipeline = TestPipeline(runner="FnApiRunner")
    _, failures = _enrich(pipeline | beam.Create([bad]))
    assert_that(
        failures | beam.Map(lambda f: ("revision" in f.reason, f.record)),
        equal_to([(True, bad)]),
    )
    pipeline.run().wait_until_finish()


def test_an_encode_failure_is_routed_with_its_reason():
    # A working dict that skipped the extraction steps cannot become an enriched record.
    record = kafka_record(raw_value(5), offset=9)
    story = Story(record, extract.start(raw_story(5)))
    pipeline = TestPipeline(runner="FnApiRunner")
    encoded = pipeline | beam.Create([story]) | EncodeEnriched("9.9.9")
    assert_that(encoded.ok, equal_to([]), label="nothing encoded")
    assert_that(
        encoded.dead_letter | beam.Map(lambda f: (f.stage, f.error_type, f.story_id, "attribution" in f.reason)),
        equal_to([("encode", "ExtractionError", f"{5:032x}", True)]),
        label="failure",
    )
    result = pipeline.run()
    result.wait_until_finish()
    assert _counters(result) == {("newswire.encode", "ExtractionError"): 1}
