"""Thin Beam wrappers: one composite PTransform per business step of the enrichment.

    records | DecodeRawStory() | CleanText() | ExtractDateline() | ExtractAttribution()
            | ... | EncodeEnriched(pipeline_version)

Each step returns a DoOutputsTuple: ``.ok`` (the elements that passed) and ``.dead_letter``
(a :class:`Failure` per element that failed there: the stage, the reason, the exception
class and the Kafka record it came from). Nothing is dropped and nothing raises: a failing
element is counted, logged with its Kafka position, and routed. Counters per stage and
outcome: ``Metrics.counter("newswire.<stage>", "ok" | "<reason class>")``.

The logic lives in ``transforms.extract`` (plain functions, no Beam); this module only
wires it. Input records are anything shaped like ``pipeline.kafkaio.KafkaRecord`` (topic,
partition, offset, timestamp_ms, key, value); ``transforms`` does not import ``pipeline``.
"""

import logging
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from schemas import ENRICHED_STORY, RAW_STORY, SCHEMA_VERSION, RecordError
from schemas.timefmt import to_rfc3339, utc_now
from transforms import extract
from transforms.extract import ExtractionError

log = logging.getLogger(__name__)

OK = "ok"
DEAD_LETTER = "dead_letter"
ENRICHED_HEADERS = (("schema_version", SCHEMA_VERSION.encode()),)

# No `from __future__ import annotations` in this module: Beam reads the DoFns' type hints at
# pipeline construction and checks each step's input against the step before (it ignored
# string hints up to 2.77 and resolves them from 2.78 on).

# What EncodeEnriched emits for the enriched topic: (key, value, headers).
EnrichedKafkaRecord = tuple[bytes, bytes, tuple[tuple[str, bytes], ...]]


class Story(NamedTuple):
    """A story in flight: the Kafka record it came from and the extraction's working dict."""

    record: Any  # KafkaRecord-shaped: where it came from, and its original bytes
    work: dict[str, Any]


class Failure(NamedTuple):
    """Why a record could not be enriched; pipeline.enrich.deadletter turns it into a dead letter."""

    stage: str
    reason: str
    error_type: str
    story_id: str | None
    record: Any


def story_id_of(story: Story) -> str:
    return story.work["raw"]["story_id"]


def revision_of(story: Story) -> int:
    return story.work["raw"]["revision"]


def _where(record: Any) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"


class _Stage:
    """Counters and the failure path of one stage."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.namespace = f"newswire.{stage}"
        self.ok = Metrics.counter(self.namespace, OK)

    def fail(self, record: Any, reason_class: str, error: BaseException, reason: str,
             story_id: str | None = None) -> TaggedOutput:
        Metrics.counter(self.namespace, reason_class).inc()
        log.warning("%s failed for %s (%s): %s", self.stage, _where(record), reason_class, reason)
        return TaggedOutput(
            DEAD_LETTER, Failure(self.stage, reason, type(error).__name__, story_id, record)
        )


class _DecodeFn(beam.DoFn):
    """KafkaRecord → Story; a value over the raw schema's size or depth limit or not JSON
    (stage decode) and schema violations (stage validate) → Failure."""

    def __init__(self) -> None:
        self._decode = _Stage("decode")
        self._validate = _Stage("validate")

    def process(self, record: Any) -> Iterator[Story]:
        if record.value is None:
            error = RecordError("$", "the record has no value (a tombstone): nothing to enrich")
            yield self._decode.fail(record, "tombstone", error, error.reason)
            return
        try:
            raw = RAW_STORY.parse(record.value)
        except RecordError as exc:  # too large, not JSON, nested too deep: never parsed further
            yield self._decode.fail(record, exc.kind, exc, exc.reason)
            return
        self._decode.ok.inc()
        try:
            RAW_STORY.validate(raw)
            work = extract.start(raw)
        except (RecordError, ExtractionError) as exc:
            story_id = raw.get("story_id") if isinstance(raw, dict) else None
            reason = f"not a valid raw story (schemas/raw_story.schema.json): {exc}"
            yield self._validate.fail(
                record, "schema_violation", exc, reason,
                story_id if isinstance(story_id, str) else None,
            )
            return
        self._validate.ok.inc()
        yield Story(record, work)


class _StepFn(beam.DoFn):
    """Story → Story through one step function of transforms.extract. ExtractionError
    (input the step cannot handle, reason class "unprocessable") and any other exception (a
    bug, reason class = its type) → Failure for that stage."""

    def __init__(self, stage: str, step: Callable[[dict], dict]) -> None:
        self._stage = _Stage(stage)
        self._step = step

    def process(self, story: Story) -> Iterator[Story]:
        try:
            work = self._step(story.work)
        except ExtractionError as exc:  # input the step cannot handle
            yield self._stage.fail(story.record, "unprocessable", exc, str(exc), story_id_of(story))
            return
        except Exception as exc:  # noqa: BLE001 - a bug in the step: routed, not raised
            reason = f"{self._stage.stage} step raised {type(exc).__name__}: {exc}"
            yield self._stage.fail(story.record, type(exc).__name__, exc, reason, story_id_of(story))
            return
        self._stage.ok.inc()
        yield story._replace(work=work)


class _EncodeFn(beam.DoFn):
    """Story → (story_id key, enriched JSON bytes, headers); a record that breaks the
    enriched schema → Failure (stage encode)."""

    def __init__(self, pipeline_version: str) -> None:
        self._stage = _Stage("encode")
        self._version = pipeline_version

    def process(self, story: Story) -> Iterator[EnrichedKafkaRecord]:
        record = story.record
        story_id = story_id_of(story)
        try:
            enriched = extract.finish(
                story.work,
                pipeline_version=self._version,
                processed_at=to_rfc3339(utc_now()),
                input={"topic": record.topic, "partition": record.partition, "offset": record.offset},
            )
            value = ENRICHED_STORY.encode(enriched)
        except RecordError as exc:  # breaks the schema, or too large for every sink alike
            reason = f"enriched record breaks schemas/enriched_story.schema.json: {exc}"
            yield self._stage.fail(record, exc.kind, exc, reason, story_id)
            return
        except Exception as exc:  # noqa: BLE001 - any failure of the step is routed, not raised
            reason = f"building the enriched record raised {type(exc).__name__}: {exc}"
            yield self._stage.fail(record, type(exc).__name__, exc, reason, story_id)
            return
        self._stage.ok.inc()
        yield story_id.encode(), value, ENRICHED_HEADERS


def _stage(label: str, fn: beam.DoFn) -> beam.ParDo:
    return label >> beam.ParDo(fn).with_outputs(DEAD_LETTER, main=OK)


class DecodeRawStory(beam.PTransform):
    """KafkaRecord → Story: parse JSON (orjson) and validate against the raw story schema."""

    def expand(self, records):
        return records | _stage("Decode", _DecodeFn())


class CleanText(beam.PTransform):
    """Story → Story with the readable text and what was removed as boilerplate."""

    def expand(self, stories):
        return stories | _stage("Clean", _StepFn("clean", extract.clean_step))


class ExtractDateline(beam.PTransform):
    """Story → Story with the dateline (places, date) cut from the text."""

    def expand(self, stories):
        return stories | _stage("Dateline", _StepFn("dateline", extract.dateline_step))


class ExtractAttribution(beam.PTransform):
    """Story → Story with the credited, cited and photo agencies."""

    def expand(self, stories):
        return stories | _stage("Attribution", _StepFn("attribution", extract.attribution_step))


class EncodeEnriched(beam.PTransform):
    """Story → (key, value, headers) for the enriched topic: key = story_id, value = the
    enriched record (validated against its schema), header ``schema_version``."""

    def __init__(self, pipeline_version: str) -> None:
        super().__init__()
        if not pipeline_version:
            raise ValueError("pipeline_version: empty; pass pipeline.__version__")
        self._version = pipeline_version

    def expand(self, stories):
        return stories | _stage("Encode", _EncodeFn(self._version))
