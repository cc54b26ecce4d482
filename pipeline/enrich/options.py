"""Options of `newswire enrich`, as a Beam PipelineOptions subclass.

Beam's own options (``--runner``, ``--streaming``, ``--setup_file``, ...) pass through
untouched; ours are registered here once and shown by ``newswire enrich --help``.
:func:`checked` validates them when the pipeline is built, with messages that name the option.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.kafka_clients import check_bootstrap_servers, check_topic_name
from pipeline.kafkaio.config import parse_start_timestamp_ms

START_POSITIONS = ("earliest", "latest", "committed")
OFFSET_RESETS = ("earliest", "latest", "none")
# Runners whose event-time timers fire after every bundle of an unbounded source (the
# FnApiRunner here), which would expire dedup state at once: --dedup-ttl-hours is refused there.
_EAGER_TIMER_RUNNERS = ("DirectRunner", "SwitchingDirectRunner", "FnApiRunner")


class NewswireOptions(PipelineOptions):
    """The enrichment pipeline's own options (see ``newswire enrich --help``)."""

    @classmethod
    def _add_argparse_args(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("newswire enrich")
        group.add_argument(
            "--bootstrap-servers", dest="bootstrap_servers", default="127.0.0.1:9092",
            help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...] (default: %(default)s)",
        )
        group.add_argument(
            "--input-topic", dest="input_topic", default="news.raw",
            help="topic of raw stories to read (default: %(default)s)",
        )
        group.add_argument(
            "--output-topic", dest="output_topic", default="news.enriched",
            help="topic the enriched stories are written to, key = story_id (default: %(default)s)",
        )
        group.add_argument(
            "--dead-letter-topic", dest="dead_letter_topic", default="news.deadletter",
            help="topic for records that could not be enriched, with the reason and the "
            "original bytes (default: %(default)s)",
        )
        group.add_argument(
            "--output-path", dest="output_path", default=None,
            help="also write the enriched stories as JSON Lines files into this directory "
            "(rolled by size and time; readers only ever see complete *.jsonl files)",
        )
        group.add_argument(
            "--output-roll-mb", dest="output_roll_mb", type=float, default=64.0,
            help="start a new JSON Lines file after this many MB (default: %(default)s)",
        )
        group.add_argument(
            "--output-roll-seconds", dest="output_roll_seconds", type=float, default=60.0,
            help="start a new JSON Lines file after this many seconds (default: %(default)s)",
        )
        group.add_argument(
            "--consumer-group", dest="consumer_group", default="newswire-enrich",
            help="consumer group whose committed offsets the pipeline resumes from and "
            "commits to once outputs are durable (default: %(default)s)",
        )
        group.add_argument(
            "--start-from", dest="start_from", default="committed",
            help="where to start reading: earliest, latest, committed (the group's offsets; "
            "earliest where it has none) or a time, RFC 3339 (2023-10-17T08:00:00Z) or epoch "
            "milliseconds (default: %(default)s)",
        )
        group.add_argument(
            "--offset-reset", dest="offset_reset", default="earliest",
            help="where to go when a committed or in-flight offset is no longer in the "
            "partition's log (retention, a re-created topic, a broker that lost its log): "
            "earliest, latest, or none (stop the pipeline), as Kafka's auto.offset.reset; each "
            "reset is logged with the offsets and counted (default: %(default)s)",
        )
        group.add_argument(
            "--bounded", dest="bounded", action="store_true", default=False,
            help="read up to the end offsets seen at start, then finish (backfills, tests); "
            "without it the pipeline runs until stopped",
        )
        group.add_argument(
            "--metrics-port", dest="metrics_port", type=int, default=None,
            help="serve Prometheus metrics (stories enriched, end-to-end latency) on this TCP "
            "port from the process(es) running the pipeline's workers (default: off)",
        )
        group.add_argument(
            "--dedup-ttl-hours", dest="dedup_ttl_hours", type=float, default=0.0,
            help="forget a story's newest revision after this many hours of event time without "
            "it (bounds dedup state); 0 keeps it for the life of the pipeline. Needs a runner "
            "with real watermarks (Prism, Flink, Dataflow) (default: %(default)s)",
        )
        group.add_argument(
            "--stats-topic", dest="stats_topic", default=None,
            help="also write counts per event-time minute of stories by dateline country, "
            "credited and cited agency to this topic (e.g. news.stats; schemas/stats.schema.json). "
            "Needs a runner that fires windows (PrismRunner, FlinkRunner, DataflowRunner) or "
            "--bounded (default: off)",
        )
        group.add_argument(
            "--stats-lateness-minutes", dest="stats_lateness_minutes", type=float, default=10.0,
            help="count stories that arrive behind the watermark up to this many minutes after "
            "their window's end (a late pane); later ones are not counted (default: %(default)s)",
        )


def option_dests() -> list[str]:
    """The attribute names of our options (to hand parsed values to PipelineOptions)."""
    parser = argparse.ArgumentParser(add_help=False)
    NewswireOptions._add_argparse_args(parser)
    return [action.dest for action in parser._actions]


@dataclass(frozen=True)
class EnrichConfig:
    """The validated options, in the types the pipeline uses."""

    bootstrap_servers: str
    input_topic: str
    output_topic: str
    dead_letter_topic: str
    output_path: str | None
    output_roll_bytes: int
    output_roll_seconds: float
    consumer_group: str
    start_from: str  # "earliest" | "latest" | "committed" | RFC 3339 time | epoch ms
    offset_reset: str  # "earliest" | "latest" | "none"
    bounded: bool
    dedup_ttl_seconds: int
    metrics_port: int | None
    stats_topic: str | None = None  # None: no windowed counts
    stats_lateness_seconds: int = 600


def parse_start_from(value: str) -> str:
    """Check a --start-from value; return it as the Kafka reader takes it."""
    text = str(value).strip()
    try:
        parse_start_timestamp_ms(text)
    except ValueError:
        raise ValueError(
            f"--start-from: {value!r} is not one of {', '.join(START_POSITIONS)}, an RFC 3339 "
            "time (2023-10-17T08:00:00Z) or epoch milliseconds"
        ) from None
    return text


def checked(options: PipelineOptions) -> EnrichConfig:
    """Validate the newswire options; raise ValueError naming the option and what it accepts."""
    opts = options.view_as(NewswireOptions)
    topics = {}
    for option, value in (
        ("--input-topic", opts.input_topic),
        ("--output-topic", opts.output_topic),
        ("--dead-letter-topic", opts.dead_letter_topic),
    ):
        topics[option] = check_topic_name(value, option)
    if len(set(topics.values())) < len(topics):
        raise ValueError(
            "--input-topic, --output-topic and --dead-letter-topic must be three different "
            f"topics (got {', '.join(f'{k} {v}' for k, v in topics.items())})"
        )
    if opts.offset_reset not in OFFSET_RESETS:
        raise ValueError(
            f"--offset-reset: {opts.offset_reset!r}; choose one of {', '.join(OFFSET_RESETS)}"
        )
    if not opts.consumer_group or not str(opts.consumer_group).strip():
        raise ValueError("--consumer-group: empty; give a group name (e.g. newswire-enrich)")
    if opts.output_path is not None and not str(opts.output_path).strip():
        raise ValueError("--output-path: empty; give a directory or leave the option out")
    if not opts.output_roll_mb > 0:
        raise ValueError(f"--output-roll-mb: {opts.output_roll_mb}; must be > 0")
    if not opts.output_roll_seconds > 0:
        raise ValueError(f"--output-roll-seconds: {opts.output_roll_seconds}; must be > 0")
    if opts.metrics_port is not None and not 0 <= opts.metrics_port < 65536:
        raise ValueError(f"--metrics-port: {opts.metrics_port} is not a TCP port (0-65535)")
    if opts.dedup_ttl_hours < 0:
        raise ValueError(f"--dedup-ttl-hours: {opts.dedup_ttl_hours}; must be >= 0 (0 = off)")
    runner = str(options.view_as(StandardOptions).runner or "DirectRunner").rsplit(".", 1)[-1]
    if opts.dedup_ttl_hours and runner in _EAGER_TIMER_RUNNERS:
        raise ValueError(
            f"--dedup-ttl-hours: the {runner} fires event-time timers after every bundle, so "
            "dedup state would expire at once; use it with --runner PrismRunner, FlinkRunner or "
            "DataflowRunner, or leave it at 0"
        )
    stats_topic = _checked_stats_topic(opts, runner, set(topics.values()))
    return EnrichConfig(
        bootstrap_servers=check_bootstrap_servers(opts.bootstrap_servers, "--bootstrap-servers"),
        input_topic=topics["--input-topic"],
        output_topic=topics["--output-topic"],
        dead_letter_topic=topics["--dead-letter-topic"],
        output_path=opts.output_path,
        output_roll_bytes=int(opts.output_roll_mb * 1024 * 1024),
        output_roll_seconds=float(opts.output_roll_seconds),
        consumer_group=str(opts.consumer_group).strip(),
        start_from=parse_start_from(opts.start_from),
        offset_reset=opts.offset_reset,
        bounded=bool(opts.bounded),
        dedup_ttl_seconds=int(opts.dedup_ttl_hours * 3600),
        metrics_port=opts.metrics_port,
        stats_topic=stats_topic,
        stats_lateness_seconds=int(opts.stats_lateness_minutes * 60),
    )


def _checked_stats_topic(opts: NewswireOptions, runner: str, other_topics: set[str]) -> str | None:
    """The --stats-topic, checked: a valid name, not one of the other topics, and a runner that
    fires windows. The runners of _EAGER_TIMER_RUNNERS never fire a GroupByKey behind an
    unbounded source (the FnApiRunner, and the DirectRunner when it falls back to it without
    Prism): the counts would wait in memory for ever. A bounded run fires them at its end."""
    if not opts.stats_lateness_minutes >= 0:
        raise ValueError(f"--stats-lateness-minutes: {opts.stats_lateness_minutes}; must be >= 0")
    if opts.stats_topic is None:
        return None
    topic = check_topic_name(opts.stats_topic, "--stats-topic")
    if topic in other_topics:
        raise ValueError(
            f"--stats-topic: {topic!r} is also the input, output or dead-letter topic; give "
            "the counts a topic of their own (e.g. news.stats)"
        )
    if not opts.bounded and runner in _EAGER_TIMER_RUNNERS:
        which = "the FnApiRunner" if runner == "FnApiRunner" else (
            f"the {runner} falls back to the FnApiRunner where Prism cannot be had, and that")
        raise ValueError(
            f"--stats-topic: {which} never fires windows behind an unbounded source (the counts "
            "would wait in memory for ever); use --runner PrismRunner (the DirectRunner's first "
            "choice), FlinkRunner or DataflowRunner, or --bounded"
        )
    return topic
