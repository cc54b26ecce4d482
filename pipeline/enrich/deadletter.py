"""Dead-letter records: the one place they are built (schemas/dead_letter.schema.json).

A dead letter keeps the original bytes (base64) and key, where they came from (topic,
partition, offset, timestamp), the stage that failed, a reason a person can act on, the
exception class and the pipeline version, so `newswire replay` can send it back once fixed.
"""

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any, Protocol

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline import __version__, metrics
from pipeline.kafkaio.config import KafkaSendFailure, ProducerRecord
from schemas import DEAD_LETTER, RAW_STORY, SCHEMA_VERSION
from schemas.timefmt import to_rfc3339, utc_now
from transforms.beam import Failure

HEADERS = [("schema_version", SCHEMA_VERSION.encode())]
MAX_REASON_CHARS = 2000
# The longest original value a dead letter keeps whole: a raw story at its size limit. Of a
# longer value (a 10 MB blob, an enriched record Kafka refused) it keeps the first this many
# bytes and says so (value_truncated, value_bytes, value_sha256), so the dead letter still
# fits the dead-letter topic (schemas/dead_letter.schema.json states the same bound).
MAX_VALUE_BYTES = RAW_STORY.limits.max_record_bytes
_STORY_ID = re.compile(r"^[0-9a-f]{32}$")


class SourceRecord(Protocol):
    """What a dead letter needs of the record that failed (pipeline.kafkaio.KafkaRecord)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def dead_letter(
    *,
    stage: str,
    reason: str,
    error_type: str,
    value: bytes | None,
    source: SourceRecord | None = None,
    key: bytes | None = None,
    story_id: str | None = None,
    pipeline_version: str = __version__,
) -> dict[str, Any]:
    """Build a dead-letter record. ``source`` is the Kafka record that failed (its key and
    value are used when ``key``/``value`` are not given); None for input that never was one
    (a feed that failed to parse). A ``story_id`` that is not 32 hex characters is dropped:
    the record is dead because something in it is wrong, possibly that. A value longer
    than MAX_VALUE_BYTES is truncated, and the record says so."""
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    if source is not None:
        key = source.key if key is None else key
        value = source.value if value is None else value
    return {
        "schema_version": SCHEMA_VERSION,
        "stage": stage,
        "reason": reason or "(no reason given)",
        "error_type": error_type or "Exception",
        "pipeline_version": pipeline_version,
        "failed_at": to_rfc3339(utc_now()),
        "story_id": story_id if story_id and _STORY_ID.match(story_id) else None,
        "source": None
        if source is None
        else {
            "topic": source.topic,
            "partition": source.partition,
            "offset": source.offset,
            "timestamp_ms": source.timestamp_ms,
            "key_base64": _b64(key),
        },
        **_value_fields(value),
    }


def _value_fields(value: bytes | None) -> dict[str, Any]:
    value = value or b""
    return {
        "value_base64": _b64(value[:MAX_VALUE_BYTES]),
        "value_truncated": len(value) > MAX_VALUE_BYTES,
        "value_bytes": len(value),
        "value_sha256": hashlib.sha256(value).hexdigest(),
    }


def to_kafka(record: dict[str, Any], key: bytes | None) -> ProducerRecord:
    """(key, value, headers) for the dead-letter topic; key = the original record's key."""
    return key, DEAD_LETTER.encode(record), HEADERS


class _FailureToKafkaFn(beam.DoFn):
    def __init__(self, pipeline_version: str) -> None:
        self._version = pipeline_version
        self._counter = Metrics.counter("newswire.deadletter", "records")

    def process(self, failure: Failure) -> Iterator[ProducerRecord]:
        record = dead_letter(
            stage=failure.stage,
            reason=failure.reason,
            error_type=failure.error_type,
            value=None,
            source=failure.record,
            story_id=failure.story_id,
            pipeline_version=self._version,
        )
        self._counter.inc()
        metrics.record_dead_letter(failure.stage, failure.error_type)
        yield to_kafka(record, failure.record.key)


class ToDeadLetters(beam.PTransform):
    """transforms.beam.Failure → (key, value, headers) for the dead-letter topic."""

    def __init__(self, pipeline_version: str = __version__) -> None:
        super().__init__()
        self._version = pipeline_version

    def expand(self, failures):
        return failures | "BuildDeadLetter" >> beam.ParDo(_FailureToKafkaFn(self._version))


class _SendFailureToKafkaFn(beam.DoFn):
    def __init__(self, pipeline_version: str) -> None:
        self._version = pipeline_version
        self._counter = Metrics.counter("newswire.sink", "refused")

    def process(self, failure: KafkaSendFailure) -> Iterator[ProducerRecord]:
        key = failure.key
        record = dead_letter(
            stage="sink",
            reason=failure.reason,
            error_type=failure.error_type,
            value=failure.value,
            key=key,
            story_id=key.decode("ascii", "replace") if key else None,
            pipeline_version=self._version,
        )
        self._counter.inc()
        metrics.record_dead_letter("sink", failure.error_type)
        yield to_kafka(record, key)


class SendFailuresToDeadLetters(beam.PTransform):
    """pipeline.kafkaio.KafkaSendFailure (a record the output topic refused for good) →
    (key, value, headers) for the dead-letter topic, stage ``sink``. The value kept is the
    refused output record (the raw input is no longer at hand), so `newswire replay`
    skips these: fix the topic's limits and re-run the input instead."""

    def __init__(self, pipeline_version: str = __version__) -> None:
        super().__init__()
        self._version = pipeline_version

    def expand(self, failures):
        return failures | "BuildDeadLetter" >> beam.ParDo(_SendFailureToKafkaFn(self._version))
