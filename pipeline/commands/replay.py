"""`newswire replay`: send dead letters back through the pipeline once the cause is fixed.

Reads the dead-letter topic up to the end offsets seen at start and produces each dead
letter's original value, with its original key, to the input topic. Progress is kept per
stage, in consumer group ``<--consumer-group>.<stage>``: a replay of some stages commits
only theirs, so the dead letters of the other stages are still there for a later replay
(one group for all would commit past them). Each stage's offsets are committed only after
every record sent was acknowledged, so a second replay does not resend what the first one
sent; a record that fails again simply becomes a new dead letter.

Only dead letters whose value is a raw story can go back to the input topic: those of the
pipeline's stages and of the feed reader's ``publish`` stage. ``fetch``/``parse`` dead
letters hold feed bytes and ``sink`` dead letters hold an output record; they are counted
and left alone, as are dead letters whose value was truncated (too large to keep whole).
"""

from __future__ import annotations

import argparse
import base64
import logging
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.kafka_clients import (
    check_bootstrap_servers,
    check_topic_name,
    make_consumer,
    make_producer,
)
from pipeline.kafkaio.offsets import TopicNotFoundError, end_offsets, partitions_of
from schemas import DEAD_LETTER, RecordError

log = logging.getLogger(__name__)

HELP = "send dead letters back to the input topic (after fixing what made them fail)"
REPLAYABLE_STAGES = (
    "publish", "decode", "validate", "clean", "dateline", "attribution", "dedup", "encode",
)
REPLAY_HEADER = "newswire-replay-of"
_STALL_S = 30.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap-servers", default="127.0.0.1:9092",
        help="Kafka bootstrap servers, HOST:PORT[,HOST:PORT...] (default: %(default)s)",
    )
    parser.add_argument(
        "--dead-letter-topic", default="news.deadletter",
        help="topic to read dead letters from (default: %(default)s)",
    )
    parser.add_argument(
        "--input-topic", default="news.raw",
        help="topic to send the original records to (default: %(default)s)",
    )
    parser.add_argument(
        "--stage", action="append", choices=REPLAYABLE_STAGES, dest="stages", metavar="STAGE",
        help="replay only dead letters of this stage; repeat for several (default: all of "
        f"{', '.join(REPLAYABLE_STAGES)})",
    )
    parser.add_argument(
        "--consumer-group", default="newswire-replay",
        help="prefix of the groups whose committed offsets mark what was replayed already, one "
        "per stage: NAME.decode, NAME.clean, ... (default: %(default)s)",
    )
    parser.add_argument(
        "--from-beginning", action="store_true",
        help="read the whole dead-letter topic, ignoring what earlier replays committed",
    )
    parser.add_argument(
        "--dry-run", action="store_true",
        help="count what would be sent; send and commit nothing",
    )


@dataclass
class ReplayResult:
    read: int = 0
    sent: int = 0
    skipped: Counter = field(default_factory=Counter)  # why → how many
    futures: list = field(default_factory=list, repr=False)

    def summary(self, args: argparse.Namespace) -> str:
        verb = "would send" if args.dry_run else "sent"
        line = (
            f"{verb} {self.sent} of {self.read} dead letters from {args.dead_letter_topic} "
            f"to {args.input_topic}"
        )
        if self.skipped:
            line += " (skipped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) + ")"
        return line


def _original(letter: dict) -> tuple[bytes | None, bytes]:
    source = letter.get("source")
    if source is not None and source.get("key_base64") is not None:
        key = base64.b64decode(source["key_base64"])
    elif letter.get("story_id"):
        key = letter["story_id"].encode()
    else:
        key = None
    return key, base64.b64decode(letter["value_base64"])


def stage_group(group: str, stage: str) -> str:
    """The consumer group that keeps the replay progress of one stage."""
    return f"{group}.{stage}"


def replay(args: argparse.Namespace) -> ReplayResult:
    """Do the replay described by ``args``; raise ValueError for a bad option or topic."""
    servers = check_bootstrap_servers(args.bootstrap_servers)
    topic = check_topic_name(args.dead_letter_topic, "--dead-letter-topic")
    target = check_topic_name(args.input_topic, "--input-topic")
    wanted = sorted(set(args.stages or REPLAYABLE_STAGES))
    consumer = make_consumer(servers, max_poll_records=1000)
    groups = {stage: make_consumer(servers, group_id=stage_group(args.consumer_group, stage))
              for stage in wanted}
    producer = None if args.dry_run else make_producer(servers)
    result = ReplayResult()
    try:
        try:
            partitions = partitions_of(consumer, topic)
            if target not in consumer.topics():
                raise TopicNotFoundError(f"topic {target!r} does not exist")
        except TopicNotFoundError as exc:
            raise ValueError(f"{exc} (check --dead-letter-topic / --input-topic)") from None
        stops = end_offsets(consumer, partitions)
        beginnings = consumer.beginning_offsets(partitions)
        # Where each stage's replay got to, per partition: the read starts at the earliest.
        done = {
            stage: {tp: beginnings[tp] if args.from_beginning else max(
                group.committed(tp) or 0, beginnings[tp]) for tp in partitions}
            for stage, group in groups.items()
        }
        for tp in partitions:
            consumer.seek(tp, min(done[stage][tp] for stage in wanted))
        pending: list[TopicPartition] = [tp for tp in partitions if consumer.position(tp) < stops[tp]]
        last_progress = time.monotonic()
        while pending:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for message in batch:
                    if message.offset >= stops[tp]:
                        break
                    result.read += 1
                    last_progress = time.monotonic()
                    _replay_one(message, done, target, producer, result)
            pending = [tp for tp in pending if consumer.position(tp) < stops[tp]]
            if pending and time.monotonic() - last_progress > _STALL_S:
                raise RuntimeError(
                    f"no dead letters arrived for {_STALL_S:.0f} s from {topic} partitions "
                    f"{[tp.partition for tp in pending]} before their end offsets; is the broker "
                    f"at {servers} up? Nothing was committed: run the replay again"
                )
        if producer is not None:
            producer.flush(timeout=60)
            failed = [f.exception for f in result.futures if not f.succeeded()]
            if failed:
                raise RuntimeError(
                    f"{len(failed)} of {result.sent} records were not acknowledged by "
                    f"{target} (first: {failed[0]!r}); nothing was committed: run the replay again"
                )
            for group in groups.values():
                group.commit({tp: OffsetAndMetadata(stops[tp], "", -1) for tp in partitions})
    finally:
        if producer is not None:
            producer.close(timeout=10)
        for group in groups.values():
            group.close(autocommit=False)
        consumer.close(autocommit=False)
    return result


def _replay_one(message, done: dict[str, dict], target: str, producer,
                result: ReplayResult) -> None:
    where = f"{message.topic}[{message.partition}]@{message.offset}"
    try:
        letter = DEAD_LETTER.decode(message.value or b"")
    except RecordError as exc:
        log.warning("%s is not a dead letter (%s); skipped", where, exc)
        result.skipped["unreadable"] += 1
        return
    stage = letter["stage"]
    if stage not in REPLAYABLE_STAGES:
        result.skipped[f"{stage} (not a raw story)"] += 1
        return
    if stage not in done:
        result.skipped[f"{stage} (not selected)"] += 1
        return
    if message.offset < done[stage][TopicPartition(message.topic, message.partition)]:
        result.skipped[f"{stage} (replayed before)"] += 1
        return
    if letter.get("value_truncated"):
        log.warning("%s holds only the first bytes of a %s-byte value; not replayed", where,
                    letter.get("value_bytes"))
        result.skipped[f"{stage} (value truncated)"] += 1
        return
    key, value = _original(letter)
    if producer is not None:
        result.futures.append(
            producer.send(target, key=key, value=value, headers=[(REPLAY_HEADER, where.encode())])
        )
    result.sent += 1


def main(args: argparse.Namespace) -> int:
    try:
        result = replay(args)
    except ValueError as exc:
        print(f"newswire replay: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"newswire replay: failed: {exc}", file=sys.stderr)
        return 1
    print(result.summary(args), flush=True)
    return 0
