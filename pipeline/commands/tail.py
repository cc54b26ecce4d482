"""`newswire tail`: read the enriched topic and print its stories, for people or for jq."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from typing import IO, Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.commands.argtypes import positive_int, positive_seconds
from pipeline.display import (
    count_matches,
    format_count,
    format_dead_letter,
    format_story,
    json_line,
    story_matches,
    terminal_safe,
)
from pipeline.kafka_clients import (
    KafkaUnavailable,
    check_bootstrap_servers,
    check_topic_name,
    make_consumer,
)
from pipeline.kafkaio.offsets import end_offsets, offsets_for_time
from pipeline.logging_setup import quiet
from pipeline.signals import stop_on_signals
from schemas import DEAD_LETTER, ENRICHED_STORY, STATS, RecordError
from schemas.timefmt import parse_rfc3339

HELP = "print enriched stories (or dead letters) from Kafka as they arrive, compact or JSON"
DESCRIPTION = (
    "Read the enriched topic and print each story compactly (title, publisher; dateline "
    "places with country codes, credit, cited agencies, photo credit) or, with --json, as "
    "one JSON object per line for jq. Without --group it reads every partition from --from "
    "(default: earliest) and commits nothing; with --group it joins that consumer group, "
    "resumes from the group's committed offsets (earliest when it has none, or --from) "
    "and commits what it printed. Records that are not valid enriched stories are reported "
    "on stderr with topic, partition and offset, and skipped. Stops on Ctrl-C, after --max "
    "records or after --timeout seconds without a new record. With --dead-letters it reads "
    "the dead-letter topic: each record's stage, reason, origin (topic[partition]@offset), "
    "time, error type and the start of its payload; --stage selects stages."
)

POLL_MS = 200
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
STAGES = tuple(DEAD_LETTER.schema["properties"]["stage"]["enum"])


@dataclass(frozen=True)
class Position:
    """Where to start reading each partition."""

    kind: str  # "earliest" | "latest" | "time" | "offset"
    value: int = 0  # epoch milliseconds for "time", the offset for "offset"


def parse_position(text: str) -> Position:
    """``earliest``, ``latest``, an RFC 3339 time or an offset (for argparse ``type=``)."""
    value = text.strip()
    if value in ("earliest", "latest"):
        return Position(value)
    if value.isdigit():
        return Position("offset", int(value))
    try:
        moment = parse_rfc3339(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not earliest, latest, an RFC 3339 time (2023-10-17T08:00:00Z) or "
            "an offset (a number >= 0)"
        ) from None
    return Position("time", int(moment.timestamp() * 1000))


def agency_name(text: str) -> str:
    """The canonical name of an agency given by any of its spellings (for argparse)."""
    from transforms.agencies import default_registry

    agency = default_registry().lookup(text.strip())
    if agency is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an agency newswire knows (transforms/data/agencies.json); "
            "give a name or alias such as Reuters, AP, AFP, Xinhua, TASS, KCNA"
        )
    return agency.name


def country_code(text: str) -> str:
    if not _COUNTRY.match(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 3166-1 alpha-2 country code (two letters: KR, ID, US)"
        )
    return text.strip().upper()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap-servers", default="127.0.0.1:9092", metavar="HOST:PORT",
        help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...] (default: %(default)s, "
        "where `newswire run` starts its broker)",
    )
    parser.add_argument("--topic", default=None, metavar="NAME",
                        help="topic to read (default: news.enriched; news.deadletter with "
                        "--dead-letters, news.stats with --stats)")
    parser.add_argument(
        "--dead-letters", action="store_true",
        help="read dead letters (records the pipeline or the reader could not process) "
        "instead of enriched stories",
    )
    parser.add_argument(
        "--stage", action="append", choices=STAGES, default=[], metavar="STAGE",
        help="with --dead-letters: only those of this stage (repeat for several): "
        + ", ".join(STAGES),
    )
    parser.add_argument(
        "--stats", action="store_true",
        help="read windowed counts (newswire enrich --stats-topic) instead of stories: one line "
        "per firing of a minute's count by country, credit or cited agency; --country, --credit "
        "and --cited then pick which counts to show",
    )
    parser.add_argument(
        "--group", default=None, metavar="NAME",
        help="join this consumer group: resume from its committed offsets and commit what "
        "was printed (default: no group, nothing committed)",
    )
    parser.add_argument(
        "--from", dest="start", type=parse_position, default=None, metavar="POSITION",
        help="where to start in every partition: earliest, latest, an RFC 3339 time "
        "(the first record at or after it) or an offset (default: earliest; with --group "
        "the group's committed offsets)",
    )
    parser.add_argument("--json", action="store_true", help="print each record as one JSON line")
    parser.add_argument(
        "--credit", action="append", type=agency_name, default=[], metavar="AGENCY",
        help="only stories credited to this agency (repeat for any of several)",
    )
    parser.add_argument(
        "--cited", action="append", type=agency_name, default=[], metavar="AGENCY",
        help="only stories citing this agency (repeat for any of several)",
    )
    parser.add_argument(
        "--country", action="append", type=country_code, default=[], metavar="CC",
        help="only stories with a dateline place in this country, ISO code such as KR "
        "(repeat for any of several)",
    )
    parser.add_argument("--max", type=positive_int, default=None, metavar="N",
                        help="stop after printing N stories")
    parser.add_argument(
        "--timeout", type=positive_seconds, default=None, metavar="SECONDS",
        help="stop after this many seconds without a new record (counted once the "
        "partitions are assigned)",
    )


@dataclass
class TailCounts:
    printed: int = 0
    filtered: int = 0
    invalid: int = 0

    def summary(self) -> str:
        return (f"{self.printed} printed, {self.filtered} filtered out, "
                f"{self.invalid} invalid (skipped)")


def start_offsets(
    bootstrap: str, partitions: list[TopicPartition], start: Position
) -> dict[TopicPartition, int]:
    """Where ``start`` is in each partition, found by a consumer of its own (no group),
    with the Kafka IO's checks of what the broker answers (pipeline.kafkaio.offsets: the
    embedded broker under-reports end offsets and answers a future time with offset 0)."""
    probe = make_consumer(bootstrap)
    try:
        beginnings = probe.beginning_offsets(partitions)
        if start.kind == "earliest":
            return dict(beginnings)
        ends = end_offsets(probe, partitions)
        if start.kind == "latest":
            return ends
        if start.kind == "time":
            return offsets_for_time(probe, partitions, start.value, beginnings, ends)
        # an offset, kept within what each partition holds
        return {tp: min(max(start.value, beginnings[tp]), ends[tp]) for tp in partitions}
    finally:
        probe.close()


def _seek(consumer: KafkaConsumer, partitions: list[TopicPartition], start: Position) -> None:
    bootstrap = consumer.config["bootstrap_servers"]
    with quiet("pipeline.kafkaio", below=logging.WARNING):  # its corrections: noise here
        offsets = start_offsets(bootstrap, partitions, start)
    for tp, offset in offsets.items():
        consumer.seek(tp, offset)


class _SeekOnAssign(ConsumerRebalanceListener):
    def __init__(self, consumer: KafkaConsumer, start: Position | None) -> None:
        self.consumer = consumer
        self.start = start

    def on_partitions_revoked(self, revoked) -> None:
        pass

    def on_partitions_assigned(self, assigned) -> None:
        if self.start is not None and assigned:
            _seek(self.consumer, list(assigned), self.start)


def open_consumer(args: argparse.Namespace) -> KafkaConsumer:
    """A consumer positioned as the options say; raises ValueError if the topic is missing."""
    consumer = make_consumer(args.bootstrap_servers, group_id=args.group)
    try:
        # List topics first: asking for one topic's metadata would create it on some brokers.
        if args.topic not in consumer.topics():
            raise ValueError(
                f"--topic: {args.topic!r} does not exist on {args.bootstrap_servers}; "
                "check the name (newswire enrich writes news.enriched by default)"
            )
        if args.group:
            consumer.subscribe([args.topic], listener=_SeekOnAssign(consumer, args.start))
        else:
            partitions = [TopicPartition(args.topic, p)
                          for p in sorted(consumer.partitions_for_topic(args.topic))]
            consumer.assign(partitions)
            _seek(consumer, partitions, args.start or Position("earliest"))
    except BaseException:
        consumer.close()
        raise
    return consumer


def render(record: dict[str, Any], args: argparse.Namespace) -> str:
    if args.json:
        return json_line(record)
    if args.dead_letters:
        return format_dead_letter(record, details=True)
    return terminal_safe(format_count(record)) if args.stats else format_story(record)


def matches(record: dict[str, Any], args: argparse.Namespace) -> bool:
    if args.dead_letters:
        return not args.stage or record["stage"] in args.stage
    match = count_matches if args.stats else story_matches
    return match(record, credit=args.credit, cited=args.cited, countries=args.country)


def tail(
    consumer: KafkaConsumer,
    args: argparse.Namespace,
    stop,
    out: IO[str],
    err: IO[str],
) -> TailCounts:
    """Print records until ``stop`` is set, --max stories were printed or --timeout passed."""
    counts = TailCounts()
    if args.dead_letters:
        codec, kind = DEAD_LETTER, "dead letter"
    else:
        codec, kind = (STATS, "windowed count") if args.stats else (ENRICHED_STORY, "enriched story")
    last_activity: float | None = None
    while not stop.is_set():
        batch = consumer.poll(timeout_ms=POLL_MS)
        now = time.monotonic()
        if consumer.assignment() and last_activity is None:
            last_activity = now
        handled: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, messages in batch.items():
            for message in messages:
                last_activity = now
                handled[tp] = OffsetAndMetadata(message.offset + 1, "", -1)
                where = f"{message.topic}[{message.partition}]@{message.offset}"
                try:
                    if message.value is None:
                        raise RecordError("$", "no value (a tombstone)", codec.name)
                    record = codec.decode(message.value)
                except RecordError as exc:
                    counts.invalid += 1
                    print(terminal_safe(f"newswire tail: skipped {where}: not a valid {kind} "
                                        f"({exc})"), file=err, flush=True)
                    continue
                if not matches(record, args):
                    counts.filtered += 1
                    continue
                print(render(record, args), file=out, flush=True)
                counts.printed += 1
                if args.max is not None and counts.printed >= args.max:
                    stop.set()
                    break
            if stop.is_set():
                break
        if args.group and handled:
            consumer.commit(handled)  # exactly what was handled: --max may stop mid-batch
        if args.timeout and last_activity is not None and now - last_activity >= args.timeout:
            break
    return counts


def main(args: argparse.Namespace) -> int:
    try:
        args.bootstrap_servers = check_bootstrap_servers(args.bootstrap_servers)
        if args.stage and not args.dead_letters:
            raise ValueError("--stage: only with --dead-letters (stories have no stage)")
        if args.dead_letters and (args.credit or args.cited or args.country):
            raise ValueError("--credit, --cited and --country filter stories, not dead "
                             "letters; use --stage")
        if args.dead_letters and args.stats:
            raise ValueError("--stats: windowed counts, not dead letters; give one of the two")
        default_topic = "news.enriched"
        if args.dead_letters or args.stats:
            default_topic = "news.deadletter" if args.dead_letters else "news.stats"
        args.topic = args.topic or default_topic
        check_topic_name(args.topic, "--topic")
        if args.group is not None and not args.group.strip():
            raise ValueError("--group: empty; give a consumer group name or leave it out")
    except ValueError as exc:
        print(f"newswire tail: {exc}", file=sys.stderr)
        return 2
    with stop_on_signals() as stop:
        try:
            consumer = open_consumer(args)
        except KafkaUnavailable:
            raise  # one line and its own exit status (pipeline/cli.py)
        except (ValueError, KafkaError) as exc:
            print(f"newswire tail: {exc}", file=sys.stderr)
            return 2
        try:
            counts = tail(consumer, args, stop, sys.stdout, sys.stderr)
        except BrokenPipeError:
            # The reader of our output went away (| head): stop quietly, like tail(1).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        finally:
            consumer.close()
    print(f"newswire tail: {counts.summary()}", file=sys.stderr)
    return 0
