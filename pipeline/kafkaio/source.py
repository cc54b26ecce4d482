"""ReadFromKafka: a pure-Python Kafka source for Beam (a Splittable DoFn over partitions).

Shape of the read:

    Impulse → PlanPartitions (metadata: partitions, start and stop offsets, once at start)
            → Reshuffle (spread partitions over workers)
            → ReadPartitions (Splittable DoFn; restriction = the partition's offset range)

Each partition is read by its own kafka-python consumer with manual ``assign`` + ``seek``
(no group membership, no rebalancing). A read bundle polls until the partition has nothing
new, or until ``max_bundle_ms``; then it checkpoints (``defer_remainder``) and the runner
resumes it later. ``poll(timeout_ms)`` paces the loop: runners such as Beam's FnApiRunner
resume a deferred restriction at once and ignore the requested delay. When one worker
serves several partitions in turn (the FnApiRunner runs them one after another), each
waits only its share of the poll timeout and yields as soon as it has nothing fetched.

Offsets are committed to the consumer group in a bundle finalizer: Beam calls it only
after the bundle's outputs are durable, i.e. after the DoFns fused behind the reader (a
sink that flushes in ``finish_bundle``) finished the bundle, or after the runner persisted
the outputs at a shuffle. A record is therefore committed only once its outputs are
written; a crash before that re-reads it (at-least-once; deduplicate downstream).

Bounded mode reads each partition up to the end offset seen when the pipeline started.
That end offset is checked against a fetch (``offsets.end_offsets``): the embedded broker
under-reports it. The read is done when the consumer's position reaches the stop offset,
so gaps (compaction, transaction markers) before it cannot stall it.
"""

import logging
import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue
from kafka import TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline import metrics
from pipeline.kafka_clients import make_consumer
from pipeline.kafkaio import coders  # noqa: F401  (registers KafkaRecordCoder)
from pipeline.kafkaio.config import EVENT_TIME_PROCESSING, KafkaReadConfig, KafkaRecord
from pipeline.kafkaio.offsets import UNBOUNDED_STOP, PartitionRead, plan_reads
from pipeline.kafkaio.watermark import PartitionWatermarkEstimatorProvider

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "kafkaio"
# The read starts from an Impulse, so its records are in the global window (until a
# WindowInto downstream). Emitting WindowedValues directly saves a window assignment each.
_GLOBAL_WINDOWS = (GlobalWindow(),)


def _consumer_settings(config: KafkaReadConfig, **ours) -> dict:
    """kafka-python settings: our defaults, the user's consumer_config, what the reader needs.

    ``fetch_max_wait_ms`` defaults to 50 (kafka-python: 500). Kafka answers a waiting fetch
    as soon as records arrive, but the embedded Tansu broker holds it for the whole wait:
    seen with kafka-python alone, 200 records/s, p50/p99 latency 128/254 ms at 500 and
    15/29 ms at 50. It also keeps the answer, which carries the partition's high watermark
    that tells an idle reader it is caught up, within the poll timeout.
    """
    defaults = {"fetch_max_wait_ms": min(50, config.poll_timeout_ms)}
    return {**defaults, **config.consumer_config, "allow_auto_create_topics": False, **ours}


class _PlanPartitions(beam.DoFn):
    """Impulse → one PartitionRead per partition of the topic (see ``offsets.plan_reads``)."""

    def __init__(self, config: KafkaReadConfig) -> None:
        self._config = config

    def process(self, _impulse) -> Iterator[PartitionRead]:
        config = self._config
        consumer = make_consumer(
            config.bootstrap_servers,
            **_consumer_settings(
                config, group_id=config.consumer_group, fetch_max_wait_ms=50,
                max_poll_records=config.max_poll_records,
            ),
        )
        try:
            yield from plan_reads(consumer, config)
        finally:
            consumer.close(autocommit=False)


class PartitionOffsetTracker(OffsetRestrictionTracker):
    """Offset tracker that splits only at checkpoints (fraction 0).

    Offsets of one partition are read in order by one reader, so the committed offset only
    ever moves forward; a runner-initiated split would create a second reader of the same
    partition whose commits would race the first one's.
    """

    def try_split(self, fraction_of_remainder):
        if fraction_of_remainder != 0:
            return None
        return super().try_split(fraction_of_remainder)

    def is_bounded(self) -> bool:
        return self._range.stop != UNBOUNDED_STOP


class _PartitionOffsets(RestrictionProvider):
    def initial_restriction(self, read: PartitionRead) -> OffsetRange:
        return OffsetRange(read.start, read.stop)

    def create_tracker(self, restriction: OffsetRange) -> PartitionOffsetTracker:
        return PartitionOffsetTracker(restriction)

    def restriction_size(self, read: PartitionRead, restriction: OffsetRange) -> int:
        return restriction.size()


# Process parameters, shared by both reader variants.
_TRACKER = beam.DoFn.RestrictionParam(_PartitionOffsets())
_WATERMARK = beam.DoFn.WatermarkEstimatorParam(PartitionWatermarkEstimatorProvider())


class PartitionResetError(RuntimeError):
    """A partition's log went back behind the reader (truncated or re-created)."""


class _PartitionReader:
    """A kafka-python consumer assigned to one partition, positioned where we ask.

    It also knows the partition's high watermark from its last fetch, once that fetch was
    made at the position asked for (after a seek, an older one no longer applies).
    """

    def __init__(self, config: KafkaReadConfig, tp: TopicPartition) -> None:
        self.tp = tp
        self._consumer = make_consumer(
            config.bootstrap_servers,
            **_consumer_settings(config, max_poll_records=config.max_poll_records),
        )
        self._consumer.assign([tp])
        self._position: int | None = None
        self._highwater_at_seek: int | None = None
        self._highwater_fresh = False

    def poll(self, position: int, timeout_ms: int) -> list:
        """Records from ``position`` on (up to max_poll_records; none after the timeout).

        Raises PartitionResetError if the partition's log no longer reaches ``position``
        (Kafka answers such a fetch "out of range" and the consumer starts over at the
        earliest offset; the embedded broker answers nothing and a lower high watermark).
        """
        if self._position != position:
            self._consumer.seek(self.tp, position)
            self._highwater_at_seek = self._consumer.highwater(self.tp)
            self._highwater_fresh = False
        batch = self._consumer.poll(timeout_ms=timeout_ms).get(self.tp, [])
        if batch and batch[0].offset < position:
            self._reset(position, f"has offset {batch[0].offset} there")
        highwater = self._consumer.highwater(self.tp)
        # kafka-python ignores fetch answers for other positions, so a change is a fresh one.
        self._highwater_fresh = self._highwater_fresh or bool(batch) or (
            highwater != self._highwater_at_seek
        )
        self._position = self._consumer.position(self.tp)
        if self._highwater_fresh and highwater is not None and self._position > highwater:
            self._reset(position, f"ends at offset {highwater}")
        return batch

    def _reset(self, position: int, what: str) -> None:
        raise PartitionResetError(
            f"{self.tp.topic}[{self.tp.partition}]: asked for offset {position} but the "
            f"broker's log now {what}: the partition was truncated or re-created (an embedded "
            "broker restarted?). Restart the pipeline: it resumes from the committed offsets, "
            "or from the earliest ones"
        )

    @property
    def position(self) -> int | None:
        """The offset the next poll reads from (past gaps and transaction markers)."""
        return self._position

    def caught_up(self) -> bool:
        """True when a fetch at our position showed nothing beyond it."""
        highwater = self._consumer.highwater(self.tp)
        return (
            self._highwater_fresh and highwater is not None and self._position is not None
            and self._position >= highwater
        )

    @property
    def lag(self) -> int:
        """Records between our position and the last fetch's high watermark (0 if unknown)."""
        highwater = self._consumer.highwater(self.tp)
        if highwater is None or self._position is None:
            return 0
        return max(0, highwater - self._position)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


class _ReadPartitions(beam.DoFn):
    """Splittable DoFn: PartitionRead → KafkaRecord, timestamped with event time."""

    def __init__(self, config: KafkaReadConfig, max_bundle_ms: int) -> None:
        self._config = config
        self._max_bundle_s = max_bundle_ms / 1000.0
        self._processing_time = config.event_time == EVENT_TIME_PROCESSING

    def setup(self) -> None:
        self._readers: dict[TopicPartition, _PartitionReader] = {}
        self._committer = None
        self._committed: dict[TopicPartition, int] = {}
        self._counters: dict[TopicPartition, tuple] = {}
        self._commits = Metrics.counter(METRICS_NAMESPACE, "offset_commits")
        self._commit_failures = Metrics.counter(METRICS_NAMESPACE, "offset_commit_failures")
        self._untimed = Metrics.counter(METRICS_NAMESPACE, "records_without_timestamp")
        self._late = Metrics.counter(METRICS_NAMESPACE, "records_behind_watermark")

    def teardown(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()
        if self._committer is not None:
            self._committer.close(autocommit=False)
            self._committer = None

    def process(
        self,
        read: PartitionRead,
        # Beam 2.77 needs the finalizer before RestrictionParam ("multiple values for tracker").
        finalizer=beam.DoFn.BundleFinalizerParam,
        tracker=_TRACKER,
        watermark=_WATERMARK,
    ) -> Iterator[WindowedValue]:
        yield from self._read(read, finalizer, tracker, watermark)

    def _reader(self, read: PartitionRead) -> _PartitionReader:
        tp = TopicPartition(read.topic, read.partition)
        reader = self._readers.get(tp)
        if reader is None:
            reader = self._readers[tp] = _PartitionReader(self._config, tp)
            label = f"{read.topic}/{read.partition}"
            self._counters[tp] = (
                Metrics.counter(METRICS_NAMESPACE, f"records_read/{label}"),
                Metrics.counter(METRICS_NAMESPACE, f"bytes_read/{label}"),
            )
        return reader

    def _read(self, read, finalizer, tracker, watermark):
        reader = self._reader(read)
        records_counter, bytes_counter = self._counters[reader.tp]
        restriction = tracker.current_restriction()
        stop = restriction.stop
        # One DoFn instance may serve several partitions in turn (the FnApiRunner runs them
        # one after another in each bundle). Then each waits only its share of the poll
        # timeout, so a round over idle partitions takes about poll_timeout_ms, and stops
        # as soon as it has nothing fetched, so a busy partition does not keep the others
        # waiting. Alone, a partition's reader keeps polling (blocking) until max_bundle_ms.
        share = len(self._readers)
        timeout_ms = max(1, self._config.poll_timeout_ms // share)
        deadline = time.monotonic() + self._max_bundle_s
        position = restriction.start
        last_claimed = None
        try:
            while True:
                if position >= stop:
                    tracker.try_claim(stop)  # past the last offset: the restriction is done
                    return
                batch = reader.poll(position, timeout_ms)
                position = reader.position
                if share > 1:
                    timeout_ms = 0  # later polls only take what was fetched meanwhile
                if batch:
                    now = Timestamp.now()
                    current = watermark.current_watermark()
                    current_micros = MIN_TIMESTAMP.micros if current is None else current.micros
                    size = late = untimed = emitted = 0
                    claimed_all = True
                    for record in batch:
                        if not tracker.try_claim(record.offset):
                            claimed_all = False  # past the stop offset (bounded) or split off
                            break
                        last_claimed = record.offset
                        key, value, millis = record.key, record.value, record.timestamp
                        size += len(value or b"") + len(key or b"")
                        emitted += 1
                        if self._processing_time:
                            event_time = now
                        elif millis < 0:  # a record without timestamp (old message format)
                            event_time = now
                            untimed += 1
                        else:
                            micros = millis * 1000
                            late += micros < current_micros
                            event_time = Timestamp(micros=micros)
                        yield WindowedValue(
                            KafkaRecord(record.topic, record.partition, record.offset, millis,
                                        key, value, tuple(record.headers or ())),
                            event_time, _GLOBAL_WINDOWS,
                        )
                    records_counter.inc(emitted)
                    metrics.record_read(emitted)
                    metrics.set_consumer_lag(reader.tp.partition, reader.lag)
                    bytes_counter.inc(size)
                    if late:
                        self._late.inc(late)
                    if untimed:
                        self._untimed.inc(untimed)
                    if not claimed_all:
                        return
                elif stop == UNBOUNDED_STOP or share > 1:
                    if stop == UNBOUNDED_STOP and reader.caught_up():
                        watermark.observe_idle(Timestamp.now())
                    tracker.defer_remainder()
                    return
                if time.monotonic() >= deadline:
                    tracker.defer_remainder()
                    return
        finally:
            if last_claimed is not None and self._config.commits:
                if not self._bundle_offsets:  # the bundle's first read: one commit per bundle
                    finalizer.register(_CommitBundle(self, self._bundle_offsets))
                self._bundle_offsets[reader.tp] = last_claimed + 1

    def start_bundle(self) -> None:
        self._bundle_offsets: dict[TopicPartition, int] = {}

    def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` (the next offset to read, per partition) in one request.

        Offsets at or below what this instance committed before are skipped. Failures are
        logged and counted; the next bundle's commit covers them.
        """
        offsets = {tp: o for tp, o in offsets.items() if o > self._committed.get(tp, -1)}
        if not offsets:
            return
        try:
            if self._committer is None:
                self._committer = make_consumer(
                    self._config.bootstrap_servers,
                    **_consumer_settings(self._config, group_id=self._config.consumer_group),
                )
            self._committer.commit(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()}
            )
        except KafkaError as exc:
            self._commit_failures.inc()
            log.warning(
                "could not commit offsets %s for consumer group %r (%s: %s); the next "
                "bundle's commit will cover them",
                {f"{tp.topic}[{tp.partition}]": o for tp, o in offsets.items()},
                self._config.consumer_group, type(exc).__name__, exc,
            )
            return
        self._committed.update(offsets)
        self._commits.inc()


class _CommitBundle:
    """Bundle finalizer callback: commit the offsets a bundle read (a callable object, so
    it holds the bundle's own offsets, not whatever the next bundle reads)."""

    def __init__(self, reader_fn: _ReadPartitions, offsets: dict[TopicPartition, int]) -> None:
        self._reader_fn, self._offsets = reader_fn, offsets

    def __call__(self) -> None:
        self._reader_fn.commit(self._offsets)


class _ReadPartitionsUnbounded(_ReadPartitions):
    """The continuous variant: its output is an unbounded PCollection."""

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        read: PartitionRead,
        finalizer=beam.DoFn.BundleFinalizerParam,
        tracker=_TRACKER,
        watermark=_WATERMARK,
    ) -> Iterator[WindowedValue]:
        yield from self._read(read, finalizer, tracker, watermark)


class ReadFromKafka(beam.PTransform):
    """Read a Kafka topic: PBegin → PCollection[KafkaRecord], timestamped with event time.

    Continuous (unbounded) by default; ``KafkaReadConfig(bounded=True)`` reads up to the end
    offsets seen at start and finishes. See the module docstring for guarantees.

    >>> records = pipeline | ReadFromKafka(KafkaReadConfig("127.0.0.1:9092", "news.raw"))
    """

    def __init__(self, config: KafkaReadConfig, max_bundle_ms: int = 1000) -> None:
        super().__init__()
        if not isinstance(config, KafkaReadConfig):
            raise TypeError(f"config: expected a KafkaReadConfig, got {type(config).__name__}")
        if isinstance(max_bundle_ms, bool) or not isinstance(max_bundle_ms, int) or not (
            1 <= max_bundle_ms <= 600_000
        ):
            raise ValueError(
                f"max_bundle_ms: {max_bundle_ms!r} must be an integer from 1 to 600000"
            )
        self.config = config
        self.max_bundle_ms = max_bundle_ms

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        reader = _ReadPartitionsUnbounded if not self.config.bounded else _ReadPartitions
        return (
            pbegin
            | "Impulse" >> beam.Impulse()
            | "PlanPartitions" >> beam.ParDo(_PlanPartitions(self.config))
            | "SpreadPartitions" >> beam.Reshuffle()
            | "ReadPartitions"
            >> beam.ParDo(reader(self.config, self.max_bundle_ms)).with_output_types(KafkaRecord)
        )
