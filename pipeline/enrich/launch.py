"""Running the enrichment pipeline: validate the options, check the topics, build the graph
(pipeline.enrich.assembly), run it until a bounded read is done or a continuous one is
stopped (SIGTERM, Ctrl-C), and report what each step cost."""

import contextlib
import gc
import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from operator import itemgetter

import apache_beam as beam
from apache_beam.metrics import monitoring_infos
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import worker_handlers
from apache_beam.runners.runner import PipelineResult

from pipeline import runners
from pipeline.enrich import files
from pipeline.enrich.assembly import build
from pipeline.enrich.options import EnrichConfig, NewswireOptions, checked
from pipeline.kafka_clients import make_consumer
from pipeline.malloc import return_large_blocks
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


# Namespaces of newswire.* counters that do not count failures of a stage.
_NOT_STAGES = ("newswire.dedup", "newswire.files", "newswire.deadletter")


def run_counts(result: PipelineResult, config: EnrichConfig) -> str | None:
    """``read 8, enriched 4, dead-lettered 2 (decode 1, validate 1), duplicates dropped 2``
    from the finished pipeline's counters (kafkaio records read and written, a stage's
    failures in ``newswire.<stage>``, dedup's duplicate and stale); None when the runner
    cannot report counters to this process."""
    try:
        counters = result.metrics().query()["counters"]
    except (AttributeError, NotImplementedError, KeyError):
        return None
    read = enriched = duplicates = 0
    dead: Counter[str] = Counter()
    for counter in counters:
        namespace, name = counter.key.metric.namespace, counter.key.metric.name
        value = counter.committed if counter.committed is not None else counter.attempted
        if namespace == "kafkaio" and name.startswith("records_read/"):
            read += value
        elif namespace == "kafkaio" and name == f"records_written/{config.output_topic}":
            enriched += value
        elif namespace == "newswire.dedup" and name in ("duplicate", "stale"):
            duplicates += value
        elif namespace.startswith("newswire.") and namespace not in _NOT_STAGES and name != "ok":
            dead[namespace.split(".", 1)[1]] += value
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(dead.items()) if n)
    return (f"read {read}, enriched {enriched}, dead-lettered {sum(dead.values())}"
            f"{f' ({stages})' if stages else ''}, duplicates dropped {duplicates}")


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
        ("--stats-topic", config.stats_topic),
    ):
        if topic is not None and topic not in existing:
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
    return_large_blocks()  # before any thread: big records' blocks go back (pipeline/malloc.py)
    try:
        config = checked(options)
        if runners.default_runner(options, continuous=not config.bounded):
            log.info("enrich: continuous on the %s (no --runner given; on Prism a kill -9 can "
                     "lose what is in flight: README, Runners)", runners.CONTINUOUS_DEFAULT_RUNNER)
        runners.prepare_options(options)  # e.g. streaming with checkpoints on Flink
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
        "enrich: %s → %s (dead letters: %s%s), %s",
        config.input_topic, config.output_topic, config.dead_letter_topic,
        f", files: {config.output_path}" if config.output_path else "",
        "bounded" if config.bounded else "continuous",
    )
    settle_heap()
    status = 0
    started = time.monotonic()
    try:
        with _terminate_on_sigterm():
            result = pipeline.run()
            result.wait_until_finish()
        if config.bounded:
            counts = run_counts(result, config) or "counts not reported by this runner"
            print(f"newswire enrich: {counts} in {time.monotonic() - started:.1f} s", flush=True)
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
