"""Where each partition's read starts and (in bounded mode) stops.

Run once when the pipeline starts, with one plain kafka-python consumer. Two broker traits
shape it (both seen on the embedded Tansu broker, see the module docs of ``source``):

- ListOffsets ("end offsets") may under-report: Tansu answers the *base* offset of the last
  record batch plus one, so a batch of 10 records at offsets 0-9 is reported as end 1.
  The high watermark in a Fetch response is right. ``end_offsets`` therefore fetches once
  from the reported end and takes the larger of the two numbers.
- ``offsets_for_times`` should answer the first offset whose record timestamp is at or
  after the time. Tansu answers by the time the broker appended the batch, not the
  record's own timestamp (and offset 0 with timestamp -1 for "none"). So its answer is only
  a candidate: ``offset_for_time`` checks the record before it and at it, and if the check
  fails, binary-searches the partition by reading record timestamps (a few fetches).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from kafka import KafkaConsumer, TopicPartition

from pipeline.kafkaio.config import (
    RESET_EARLIEST,
    RESET_NONE,
    START_COMMITTED,
    START_EARLIEST,
    START_LATEST,
    KafkaReadConfig,
)

log = logging.getLogger(__name__)

UNBOUNDED_STOP = sys.maxsize  # restriction stop of a continuous read: never reached

# A read position is a Kafka offset plus the number of times the partition's log was reset
# under the reader (its "epoch") in the bits above EPOCH_SHIFT. Beam's offset restriction
# trackers only move forward; when a log starts again at a lower offset (topic re-created, a
# broker that lost its log), the reader moves to the next epoch instead, so positions keep
# growing while offsets start over. 2^50 offsets per epoch, 8191 epochs below UNBOUNDED_STOP.
EPOCH_SHIFT = 50
_OFFSET_MASK = (1 << EPOCH_SHIFT) - 1


def to_position(epoch: int, offset: int) -> int:
    return (epoch << EPOCH_SHIFT) + offset


def epoch_of(position: int) -> int:
    return position >> EPOCH_SHIFT


def offset_of(position: int) -> int:
    return position & _OFFSET_MASK


class PartitionResetError(RuntimeError):
    """A partition's log no longer holds the reader's offset, and the policy is ``none``."""


def reset_offset(policy: str, tp: TopicPartition, why: str, beginning: int, end: int) -> int:
    """Where ``policy`` (KafkaReadConfig.offset_reset) goes when the offset is out of range;
    logged loudly. Raises PartitionResetError for ``none``."""
    where = f"{tp.topic}[{tp.partition}]"
    if policy == RESET_NONE:
        raise PartitionResetError(
            f"{where}: {why}; offset_reset is 'none', so the read stops here. Use offset_reset "
            f"'earliest' or 'latest' (the log now holds offsets {beginning} to {end - 1})"
        )
    target = beginning if policy == RESET_EARLIEST else end
    log.warning(
        "%s: %s; OFFSET RESET to the %s offset %d (the log now holds offsets %d to %d)",
        where, why, policy, target, beginning, end - 1,
    )
    return target


class PartitionRead(NamedTuple):
    """The work for one partition: offsets [start, stop), stop UNBOUNDED_STOP if continuous,
    and the lag of its watermark (see ``watermark``)."""

    topic: str
    partition: int
    start: int
    stop: int
    watermark_lag_ms: int


class TopicNotFoundError(LookupError):
    """The topic does not exist on the cluster (we never let a read create it)."""


def partitions_of(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions, sorted. Raises TopicNotFoundError if the topic does not exist.

    Existence is checked with a list of all topics first: asking for one unknown topic's
    metadata makes some brokers (Tansu, Kafka with auto.create.topics.enable) create it.
    """
    if topic not in consumer.topics():
        raise TopicNotFoundError(
            f"topic {topic!r} does not exist: create it first (e.g. `newswire broker` creates the "
            "default topics; pipeline.kafka_clients.ensure_topics creates others)"
        )
    partitions = consumer.partitions_for_topic(topic) or set()
    if not partitions:
        raise TopicNotFoundError(f"topic {topic!r} has no partitions in the cluster metadata")
    return [TopicPartition(topic, p) for p in sorted(partitions)]


def end_offsets(
    consumer: KafkaConsumer, partitions: Iterable[TopicPartition], timeout_s: float = 10.0
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition, checked against a fetch.

    Takes ``max(ListOffsets end, Fetch high watermark)`` per partition (see the module doc).
    Leaves ``consumer`` assigned to ``partitions``; records it fetches are discarded.
    """
    partitions = list(partitions)
    reported = consumer.end_offsets(partitions)
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, reported[tp])
    deadline = time.monotonic() + timeout_s
    while any(consumer.highwater(tp) is None for tp in partitions):
        if time.monotonic() > deadline:
            missing = [tp.partition for tp in partitions if consumer.highwater(tp) is None]
            log.warning(
                "no fetch answer for %s partitions %s within %.0f s: using the reported end "
                "offsets, which this broker may under-report", partitions[0].topic, missing,
                timeout_s,
            )
            break
        consumer.poll(timeout_ms=100)
    ends = {}
    for tp in partitions:
        highwater = consumer.highwater(tp)
        ends[tp] = max(reported[tp], highwater if highwater is not None else -1)
        if ends[tp] != reported[tp]:
            log.info(
                "%s[%d]: the broker reported end offset %d, a fetch showed %d; using %d",
                tp.topic, tp.partition, reported[tp], ends[tp], ends[tp],
            )
    return ends


def start_offsets(
    consumer: KafkaConsumer,
    config: KafkaReadConfig,
    partitions: list[TopicPartition],
    ends: dict[TopicPartition, int],
    on_reset: Callable[[TopicPartition], None] = lambda tp: None,
) -> dict[TopicPartition, int]:
    """Start offset per partition for ``config.start_from`` (see KafkaReadConfig); a
    committed offset outside the log goes where ``config.offset_reset`` says (``on_reset``
    is told)."""
    beginnings = consumer.beginning_offsets(partitions)
    if config.start_from == START_EARLIEST:
        return dict(beginnings)
    if config.start_from == START_LATEST:
        return dict(ends)
    if config.start_from == START_COMMITTED:
        starts = {}
        for tp in partitions:
            committed = consumer.committed(tp)
            if committed is None:
                log.info(
                    "%s[%d]: consumer group %r has no committed offset; starting at the "
                    "earliest offset %d", tp.topic, tp.partition, config.consumer_group,
                    beginnings[tp],
                )
                starts[tp] = beginnings[tp]
            elif not beginnings[tp] <= committed <= ends[tp]:
                why = (
                    f"consumer group {config.consumer_group!r} committed offset {committed}, "
                    "outside the log (truncated by retention, or the topic was re-created)"
                )
                starts[tp] = reset_offset(config.offset_reset, tp, why, beginnings[tp], ends[tp])
                on_reset(tp)
            else:
                starts[tp] = committed
        return starts
    return offsets_for_time(consumer, partitions, config.start_timestamp_ms, beginnings, ends)


def offsets_for_time(
    consumer: KafkaConsumer,
    partitions: list[TopicPartition],
    target_ms: int,
    beginnings: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Per partition, the first offset whose record has a timestamp at or after
    ``target_ms`` (``ends`` where none has): the broker's answer, checked (see the module doc)."""
    found = consumer.offsets_for_times({tp: target_ms for tp in partitions})
    starts = {}
    for tp in partitions:
        answer = found.get(tp)
        candidate = ends[tp] if answer is None or answer.timestamp < 0 else answer.offset
        starts[tp] = offset_for_time(consumer, tp, target_ms, candidate, beginnings[tp], ends[tp])
    return starts


def _first_timestamp(consumer: KafkaConsumer, tp: TopicPartition, offset: int, end: int,
                     timeout_s: float = 10.0) -> int | None:
    """Timestamp of the first record at or after ``offset``; None if there is none before end."""
    if offset >= end:
        return None
    consumer.seek(tp, offset)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=100, max_records=1).get(tp)
        if batch:
            return batch[0].timestamp if batch[0].offset < end else None
        if consumer.position(tp) >= end:
            return None
    raise TimeoutError(
        f"{tp.topic}[{tp.partition}]: no record fetched from offset {offset} within "
        f"{timeout_s:.0f} s while looking for a start time"
    )


def offset_for_time(consumer: KafkaConsumer, tp: TopicPartition, target_ms: int,
                    candidate: int, beginning: int, end: int) -> int:
    """The first offset whose record (or the first record after it) has a timestamp at or
    after ``target_ms``, ``end`` if none has. ``candidate`` (the broker's answer) is checked
    first; if it is wrong, record timestamps are binary-searched (assumed non-decreasing,
    as Kafka's own time index assumes)."""
    consumer.assign([tp])

    def at_or_after(offset: int) -> bool:
        timestamp = _first_timestamp(consumer, tp, offset, end)
        return timestamp is None or timestamp >= target_ms

    candidate = min(max(candidate, beginning), end)
    if at_or_after(candidate) and (candidate == beginning or not at_or_after(candidate - 1)):
        return candidate
    low, high = beginning, end
    while low < high:
        middle = (low + high) // 2
        if at_or_after(middle):
            high = middle
        else:
            low = middle + 1
    log.info(
        "%s[%d]: the broker answered offset %d for time %d; record timestamps say %d",
        tp.topic, tp.partition, candidate, target_ms, low,
    )
    return low


def plan_reads(
    consumer: KafkaConsumer,
    config: KafkaReadConfig,
    on_reset: Callable[[TopicPartition], None] = lambda tp: None,
) -> list[PartitionRead]:
    """One PartitionRead per partition of ``config.topic``, per ``config``; ``on_reset`` is
    called for each partition whose committed offset was out of range."""
    partitions = partitions_of(consumer, config.topic)
    ends = end_offsets(consumer, partitions)
    starts = start_offsets(consumer, config, partitions, ends, on_reset)
    reads = []
    for tp in partitions:
        stop = ends[tp] if config.bounded else UNBOUNDED_STOP
        start = min(starts[tp], stop)
        reads.append(PartitionRead(tp.topic, tp.partition, start, stop, config.watermark_lag_ms))
        log.info(
            "%s[%d]: reading offsets %d to %s", tp.topic, tp.partition, start,
            stop if config.bounded else "the end of time (continuous)",
        )
    return reads
