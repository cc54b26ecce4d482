"""The enrichment pipeline's graph: raw stories from Kafka → enriched topic, JSON Lines files
and dead-letter topic.

    ReadFromKafka → DecodeRawStory → CleanText → ExtractDateline → ExtractAttribution
      → DedupByRevision → EncodeEnriched → WriteToKafka(enriched) [+ WriteJsonLines]
    each step's failures (and records Kafka refuses) → ToDeadLetters → WriteToKafka(dead letters)

    with --stats-topic: DedupByRevision → CountStories → WriteToKafka(stats)

No GroupByKey, no Flatten and no windows downstream of the source, so it runs continuously on
Beam's FnApiRunner (the DirectRunner here) as well as on Prism, Flink and Dataflow. The one
exception, the windowed counts of --stats-topic, is refused where windows never fire
(options.py). Every sink
makes its bundle durable in ``finish_bundle`` (Kafka acknowledgements, fsync), and the
source commits a bundle's offsets only after that: a stop at any point loses nothing, and
what was in flight is read again after the restart (at-least-once; consumers dedup by key).
That holds where the sinks run in the source's fused stage (the FnApiRunner). Prism runs the
stateful DedupByRevision as a stage of its own and commits before the sinks ran (README,
"Runners"); Flink commits after a checkpoint, which flushes every stage.
"""

import logging
from operator import itemgetter

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import __version__
from pipeline.enrich import files
from pipeline.enrich.beam_metrics import CountEnriched
from pipeline.enrich.deadletter import SendFailuresToDeadLetters, ToDeadLetters
from pipeline.enrich.dedup import DedupByRevision
from pipeline.enrich.options import EnrichConfig, checked
from pipeline.kafkaio import (
    KafkaReadConfig,
    KafkaSendFailure,
    KafkaWriteConfig,
    ReadFromKafka,
    WriteToKafka,
)
from transforms.beam import (
    CleanText,
    DecodeRawStory,
    EncodeEnriched,
    ExtractAttribution,
    ExtractDateline,
    revision_of,
    story_id_of,
)
from transforms.beam_stats import CountStories

log = logging.getLogger(__name__)


# Longest read bundle. A bundle has a fixed cost: the sinks' flush (waiting for the last
# acknowledgements) and fsync, the offset commit, and on the FnApiRunner ~0.1 s of waiting
# for its state-sampler thread to stop (it sleeps in 200 ms steps). A continuous read ends
# its bundle as soon as it is caught up, so 1 s only bounds bundles under backlog, which
# keeps commits frequent; a bounded read (a backfill) is all backlog, and 5 s bundles
# amortise those costs (their outputs are written as they go either way: only the flush,
# the fsync and the commit wait for the bundle's end).
CONTINUOUS_BUNDLE_MS = 1_000
BOUNDED_BUNDLE_MS = 5_000


def _read(config: EnrichConfig) -> beam.PTransform:
    read = KafkaReadConfig(
        config.bootstrap_servers,
        config.input_topic,
        consumer_group=config.consumer_group,
        start_from=config.start_from,
        offset_reset=config.offset_reset,
        bounded=config.bounded,
    )
    bundle_ms = BOUNDED_BUNDLE_MS if config.bounded else CONTINUOUS_BUNDLE_MS
    return ReadFromKafka(read, max_bundle_ms=bundle_ms)


def _write(config: EnrichConfig, topic: str) -> beam.PTransform:
    write = KafkaWriteConfig(config.bootstrap_servers, topic)
    return WriteToKafka(write)


class _LogRefusedDeadLetter(beam.DoFn):
    """A dead letter Kafka refused for good (e.g. larger than the topic allows) has nowhere
    left to go: log it loudly with its key and reason, and count it."""

    def __init__(self) -> None:
        self._refused = Metrics.counter("newswire.deadletter", "refused")

    def process(self, failure: KafkaSendFailure) -> None:
        self._refused.inc()
        log.error(
            "Kafka refused a dead letter for topic %r (key %r): %s", failure.topic,
            failure.key, failure.reason,
        )


def build(pipeline: beam.Pipeline, options: PipelineOptions) -> None:
    """Add the enrichment pipeline to ``pipeline``; raise ValueError on invalid options."""
    config = checked(options)

    records = pipeline | "ReadRawStories" >> _read(config)
    decoded = records | "DecodeRawStory" >> DecodeRawStory()
    cleaned = decoded.ok | "CleanText" >> CleanText()
    datelined = cleaned.ok | "ExtractDateline" >> ExtractDateline()
    attributed = datelined.ok | "ExtractAttribution" >> ExtractAttribution()
    unique = attributed.ok | "DedupByRevision" >> DedupByRevision(
        story_id_of, revision_of, config.dedup_ttl_seconds
    )
    encoded = unique | "EncodeEnriched" >> EncodeEnriched(__version__)
    if config.stats_topic:  # windowed counts: only where windows fire (checked by options)
        counts = unique | "CountStories" >> CountStories(__version__, config.stats_lateness_seconds)
        counts | "WriteStats" >> _write(config, config.stats_topic)  # refusals: logged, counted
    written = encoded.ok | "WriteEnriched" >> _write(config, config.output_topic)
    written.delivered | "CountEnriched" >> CountEnriched(config.metrics_port)  # acknowledged
    if config.output_path:
        (
            encoded.ok
            | "EnrichedValues" >> beam.Map(itemgetter(1)).with_output_types(bytes)
            | "WriteJsonLines" >> files.WriteJsonLines(
                config.output_path,
                roll_bytes=config.output_roll_bytes,
                roll_seconds=config.output_roll_seconds,
            )
        )

    # One dead-letter sink per failure output, never a Flatten: the FnApiRunner materialises
    # a Flatten as a stage of its own that runs only after its inputs finish, which behind
    # an unbounded source is never (and the source would commit offsets of dead letters
    # still sitting in that buffer).
    failures = {
        "Decode": decoded.dead_letter,
        "Clean": cleaned.dead_letter,
        "Dateline": datelined.dead_letter,
        "Attribution": attributed.dead_letter,
        "Encode": encoded.dead_letter,
    }
    for stage, failed in failures.items():
        letters = failed | f"{stage}DeadLetters" >> ToDeadLetters(__version__)
        _write_dead_letters(config, f"{stage}DeadLetters", letters)
    refused = written.failed | "RefusedEnrichedDeadLetters" >> SendFailuresToDeadLetters()
    _write_dead_letters(config, "RefusedEnrichedDeadLetters", refused)


def _write_dead_letters(config: EnrichConfig, label: str, letters: beam.PCollection) -> None:
    written = letters | f"Write{label}" >> _write(config, config.dead_letter_topic)
    written.failed | f"LogRefused{label}" >> beam.ParDo(_LogRefusedDeadLetter())
