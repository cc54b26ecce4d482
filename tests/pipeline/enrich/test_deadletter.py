"""Dead-letter records are built in one place and always satisfy their schema."""

from __future__ import annotations

import base64
import hashlib

from pipeline import __version__
from pipeline.enrich.deadletter import MAX_REASON_CHARS, MAX_VALUE_BYTES, dead_letter, to_kafka
from pipeline.kafkaio import KafkaRecord
from schemas import DEAD_LETTER, SCHEMA_VERSION


def test_keeps_the_original_bytes_key_and_position():
    source = KafkaRecord("news.raw", 3, 42, 1_700_000_000_000, b"key", b"\xff\x00 bytes", ())
    letter = dead_letter(stage="decode", reason="not valid JSON", error_type="JSONDecodeError",
                         value=None, source=source, story_id="a" * 32)
    key, value, headers = to_kafka(letter, source.key)
    assert DEAD_LETTER.decode(value) == letter and key == b"key"
    assert headers == [("schema_version", SCHEMA_VERSION.encode())]
    assert letter["source"] == {"topic": "news.raw", "partition": 3, "offset": 42,
                                "timestamp_ms": 1_700_000_000_000, "key_base64": base64.b64encode(b"key").decode()}
    assert base64.b64decode(letter["value_base64"]) == b"\xff\x00 bytes"
    assert letter["pipeline_version"] == __version__ and letter["story_id"] == "a" * 32
    assert letter["value_truncated"] is False and letter["value_bytes"] == 8
    assert letter["value_sha256"] == hashlib.sha256(b"\xff\x00 bytes").hexdigest()


def test_a_value_too_large_for_the_dead_letter_topic_is_truncated_and_says_so():
    value = bytes(range(256)) * 40_000  # 10 MB
    source = KafkaRecord("news.raw", 0, 7, 1_700_000_000_000, b"key", value, ())
    letter = dead_letter(stage="decode", reason="too large", error_type="RecordError", value=None,
                         source=source)
    _, encoded, _ = to_kafka(letter, source.key)  # within the dead-letter schema's limits
    assert len(encoded) <= DEAD_LETTER.limits.max_record_bytes
    assert base64.b64decode(letter["value_base64"]) == value[:MAX_VALUE_BYTES]
    assert letter["value_truncated"] is True and letter["value_bytes"] == len(value)
    assert letter["value_sha256"] == hashlib.sha256(value).hexdigest()


def test_odd_inputs_still_make_a_valid_record():
    tombstone = KafkaRecord("news.raw", 0, 1, -1, None, None, ())
    letter = dead_letter(stage="decode", reason="x" * 10_000, error_type="", value=None,
                         source=tombstone, story_id="not-a-story-id")
    DEAD_LETTER.validate(letter)
    assert len(letter["reason"]) == MAX_REASON_CHARS
    assert letter["story_id"] is None and letter["value_base64"] == "" and letter["error_type"] == "Exception"
    assert letter["source"]["key_base64"] is None


def test_without_a_source_record():
    letter = dead_letter(stage="sink", reason="too large", error_type="MessageSizeTooLargeError",
                         value=b"{}", key=b"k")
    DEAD_LETTER.validate(letter)
    assert letter["source"] is None and base64.b64decode(letter["value_base64"]) == b"{}"


def test_records_the_output_topic_refused_become_sink_dead_letters():
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from pipeline.enrich.deadletter import SendFailuresToDeadLetters
    from pipeline.kafkaio import KafkaSendFailure

    refused = KafkaSendFailure("news.enriched", b"a" * 32, b"{big}", (), "MessageSizeTooLargeError",
                               "Kafka refused the record for topic 'news.enriched': too large")

    def summary(element):
        key, value, _headers = element
        letter = DEAD_LETTER.decode(value)
        return (key, letter["stage"], letter["story_id"], letter["error_type"], letter["source"],
                base64.b64decode(letter["value_base64"]))

    with TestPipeline(runner="FnApiRunner") as pipeline:
        out = pipeline | beam.Create([refused]) | SendFailuresToDeadLetters("9.9.9")
        assert_that(out | beam.Map(summary), equal_to([
            (b"a" * 32, "sink", "a" * 32, "MessageSizeTooLargeError", None, b"{big}"),
        ]))
