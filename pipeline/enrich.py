"""The enrichment pipeline: raw stories from Kafka → enriched topic, JSON Lines files and
dead-letter topic.

    ReadFromKafka → DecodeRawStory → CleanText → ExtractDateline → ExtractAttribution
      → DedupByRevision → EncodeEnriched → WriteToKafka(enriched) [+ WriteJsonLines]
    each step's failures (and records Kafka refuses) → ToDeadLetters → WriteToKafka(dead letters)

No GroupByKey, no Flatten and no windows downstream of the source, so it runs continuously on Beam's
FnApiRunner (the DirectRunner here) as well as on Prism, Flink and Dataflow. Every sink
makes its bundle durable in ``finish_bundle`` (Kafka acknowledgements, fsync), and the
source commits a bundle's offsets only after that: a stop at any point loses nothing, and
what was in flight is read again after the restart (at-least-once; consumers dedup by key).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from operator import itemgetter

import apache_beam as beam
from apache_beam.metrics import Metrics, monitoring_infos
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.runner import PipelineResult

from pipeline import __version__, files
from pipeline.beam_metrics import CountEnriched
from pipeline.deadletter import SendFailuresToDeadLetters, ToDeadLetters
from pipeline.dedup import DedupByRevision
from pipeline.kafka_clients import make_consumer
from pipeline.kafkaio import (
    KafkaReadConfig,
    KafkaWriteConfig,
    ReadFromKafka,
    WriteToKafka,
    java_read,
    java_write,
)
from pipeline.options import EnrichConfig, NewswireOptions, checked
from transforms.beam import (
    CleanText,
    DecodeRawStory,
    EncodeEnriched,
    ExtractAttribution,
    ExtractDateline,
    revision_of,
    story_id_of,
)
from transforms.extract import load_data

log = logging.getLogger(__name__)


class Terminated(BaseException):
    """SIGTERM arrived: unwind the running pipeline (BaseException, so no stage routes it).

    It takes one message argument: Beam re-raises an exception from a DoFn as
    ``type(exc)(message + " [while running ...]")``, which keeps it a Terminated."""

    def __init__(self, message: str = "stopped by SIGTERM") -> None:
        super().__init__(message)


class _HideTerminated(logging.Filter):
    """Beam logs every exception that leaves a DoFn with its traceback; a stop is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Terminated))


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
        bounded=config.bounded,
    )
    if config.kafka_io == "java":
        return java_read(read)
    bundle_ms = BOUNDED_BUNDLE_MS if config.bounded else CONTINUOUS_BUNDLE_MS
    return ReadFromKafka(read, max_bundle_ms=bundle_ms)


def _write(config: EnrichConfig, topic: str) -> beam.PTransform:
    write = KafkaWriteConfig(config.bootstrap_servers, topic)
    return java_write(write) if config.kafka_io == "java" else WriteToKafka(write)


class _LogRefusedDeadLetter(beam.DoFn):
    """A dead letter Kafka refused for good (e.g. larger than the topic allows) has nowhere
    left to go: log it loudly with its key and reason, and count it."""

    def __init__(self) -> None:
        self._refused = Metrics.counter("newswire.deadletter", "refused")

    def process(self, failure):
        self._refused.inc()
        log.error(
            "Kafka refused a dead letter for topic %r (key %r): %s", failure.topic,
            failure.key, failure.reason,
        )


def build(pipeline: beam.Pipeline, options: PipelineOptions) -> None:
    """Add the enrichment pipeline to ``pipeline``; raise ValueError on invalid options."""
    config = checked(options)
    java = config.kafka_io == "java"

    records = pipeline | "ReadRawStories" >> _read(config)
    decoded = records | "DecodeRawStory" >> DecodeRawStory()
    cleaned = decoded.ok | "CleanText" >> CleanText()
    datelined = cleaned.ok | "ExtractDateline" >> ExtractDateline()
    attributed = datelined.ok | "ExtractAttribution" >> ExtractAttribution()
    unique = attributed.ok | "DedupByRevision" >> DedupByRevision(
        story_id_of, revision_of, config.dedup_ttl_seconds
    )
    encoded = unique | "EncodeEnriched" >> EncodeEnriched(__version__)
    written = encoded.ok | "WriteEnriched" >> _write(config, config.output_topic)
    if not java:  # counts what Kafka acknowledged (the Java sink reports no deliveries)
        written.delivered | "CountEnriched" >> CountEnriched(config.metrics_port)
    if config.output_path:
        (
            encoded.ok
            | "EnrichedValues" >> beam.Map(itemgetter(1))
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
    if not java:  # the Java sink reports no per-record refusals
        refused = written.failed | "RefusedEnrichedDeadLetters" >> SendFailuresToDeadLetters()
        _write_dead_letters(config, "RefusedEnrichedDeadLetters", refused)


def _write_dead_letters(config: EnrichConfig, label: str, letters: beam.PCollection) -> None:
    written = letters | f"Write{label}" >> _write(config, config.dead_letter_topic)
    if config.kafka_io != "java":
        written.failed | f"LogRefused{label}" >> beam.ParDo(_LogRefusedDeadLetter())


def step_seconds(result: PipelineResult) -> dict[str, float]:
    """Seconds each top-level step of a finished pipeline took ("CleanText", "WriteEnriched",
    ...), from the execution-time counters the runner samples; {} from a runner that does
    not report them to the launching process (only the FnApiRunner does)."""
    infos = getattr(result, "monitoring_infos", None)
    if infos is None:
        return {}
    seconds: dict[str, float] = {}
    for info in infos():
        if info.urn == monitoring_infos.TOTAL_MSECS_URN:
            step = info.labels.get("PTRANSFORM", "").split("/", 1)[0]
            if step:
                value = monitoring_infos.extract_counter_value(info) / 1000
                seconds[step] = seconds.get(step, 0.0) + value
    return seconds


def check_topics(config: EnrichConfig) -> None:
    """Raise ValueError naming the option if a topic is missing (the broker would create a
    misspelled output topic silently)."""
    consumer = make_consumer(config.bootstrap_servers)
    try:
        existing = consumer.topics()
    finally:
        consumer.close(autocommit=False)
    for option, topic in (
        ("--input-topic", config.input_topic),
        ("--output-topic", config.output_topic),
        ("--dead-letter-topic", config.dead_letter_topic),
    ):
        if topic not in existing:
            raise ValueError(
                f"{option}: topic {topic!r} does not exist on {config.bootstrap_servers}; create "
                "it first: `newswire topics create` (or `newswire broker` on a development machine)"
            )


def size_in_process_state_cache(options: PipelineOptions) -> int:
    """Give the FnApiRunner's in-process SDK worker the user-state cache size of
    ``--max_cache_memory_usage_mb``, 0 (no cache) unless given; return the size in MB.

    That worker takes its cache size from a module constant (100 MB) and ignores the option,
    and the cache weighs each value it stores with objsize, which walks the globals of every
    loaded module: about 1 ms per state access, three per story in dedup. Measured here, it
    made the bounded pipeline 2-3x slower. Without the cache, dedup reads its state from
    the runner's in-memory store directly. Workers of other runners (Prism, Flink,
    Dataflow) read the option themselves and are not affected by this.
    """
    given = options.get_all_options(drop_default=True).get("max_cache_memory_usage_mb")
    size_mb = 0 if given is None else int(given)
    worker_handlers.STATE_CACHE_SIZE_MB = size_mb
    return size_mb


# Cyclic garbage collection for the run (see settle_heap): the youngest generation is
# collected after this many allocations (CPython's default: 700).
GC_THRESHOLDS = (10_000, 10, 10)


def settle_heap() -> None:
    """Load the extraction data, then set aside what is alive so far and collect less often.

    For runners whose workers run in this process (the FnApiRunner). Beam, our modules, the
    gazetteer and the agency registry are ~300k objects that live as long as the process;
    every full collection walked them all, though a worker makes little cyclic garbage.
    ``gc.freeze()`` moves them out of the collector's sight. Measured with gc.callbacks on
    the bounded benchmark: collections took ~1 s of a 15 s run (20,000 stories) before,
    0.2-0.4 s after. Remote workers (Flink, Dataflow) keep Python's defaults.
    """
    load_data()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Terminated()

    beam_log = logging.getLogger("apache_beam.runners.common")
    hide = _HideTerminated()
    beam_log.addFilter(hide)
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        beam_log.removeFilter(hide)


def run_with(options: PipelineOptions) -> int:
    """Validate, build and run; return an exit status (2: invalid options or missing topics).
    Blocks until a bounded run is done or a continuous one is stopped (SIGTERM or Ctrl-C)."""
    try:
        config = checked(options)
        check_topics(config)
    except ValueError as exc:
        print(f"newswire enrich: error: {exc}", file=sys.stderr)
        return 2
    size_in_process_state_cache(options)
    if not config.bounded:  # as Beam's streaming examples do: runners such as Flink need it
        options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    build(pipeline, options)
    log.info(
        "enrich: %s → %s (dead letters: %s%s), %s, kafka io %s",
        config.input_topic, config.output_topic, config.dead_letter_topic,
        f", files: {config.output_path}" if config.output_path else "",
        "bounded" if config.bounded else "continuous", config.kafka_io,
    )
    settle_heap()
    status = 0
    try:
        with _terminate_on_sigterm():
            result = pipeline.run()
            result.wait_until_finish()
        spent = sorted(step_seconds(result).items(), key=itemgetter(1), reverse=True)
        if spent:
            log.info("enrich: seconds by step: %s",
                     ", ".join(f"{step} {seconds:.1f}" for step, seconds in spent if seconds))
    except Terminated:
        log.info("enrich: stopped by SIGTERM; uncommitted records are read again on restart")
    except KeyboardInterrupt:
        log.info("enrich: interrupted; uncommitted records are read again on restart")
        status = 130
    finally:
        if config.output_path:
            done = files.close_open_files() + files.recover(config.output_path)
            if done:
                log.info("enrich: finished %d JSON Lines file(s) in %s", len(done), config.output_path)
    return status


def run(argv: Sequence[str] | None = None) -> int:
    """Run from Beam-style arguments (ours and Beam's, e.g. ``--runner``)."""
    options = PipelineOptions(argv)
    options.view_as(NewswireOptions)
    return run_with(options)


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    sys.exit(run(sys.argv[1:]))
