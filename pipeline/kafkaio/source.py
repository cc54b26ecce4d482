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

A partition's log can go back behind the reader: the topic re-created, the log truncated
by retention, a broker that lost its log (the embedded broker keeps logs in memory and
starts again at offset 0 after a restart). The reader notices it three ways: Kafka answers
OFFSET_OUT_OF_RANGE; the log ends before the reader's offset (the embedded broker answers
such a fetch with nothing); the topic's id changed (a new log that already grew past the
reader's offset, which no offset can reveal). It then follows ``offset_reset`` (Kafka's
auto.offset.reset: earliest by default), logs a warning with the offsets, counts it
(``kafkaio/offset_resets``) and goes on in the next epoch of positions (``offsets``).
A bounded read whose log was reset finishes that partition: the records it was to read
are gone.

Bounded mode reads each partition up to the end offset seen when the pipeline started.
That end offset is checked against a fetch (``offsets.end_offsets``): the embedded broker
under-reports it. The read is done when the consumer's position reaches the stop offset,
so gaps (compaction, transaction markers) before it cannot stall it.
"""

import logging
import threading
import time
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.metrics import Metrics
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from apache_beam.utils.windowed_value import WindowedValue
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaConnectionError, KafkaError, OffsetOutOfRangeError
from kafka.structs import OffsetAndMetadata

from pipeline import metrics
from pipeline.kafka_clients import make_consumer
from pipeline.kafkaio import coders  # noqa: F401  (registers KafkaRecordCoder)
from pipeline.kafkaio.config import (
    EVENT_TIME_PROCESSING,
    KafkaReadConfig,
    KafkaRecord,
)
from pipeline.kafkaio.offsets import (
    UNBOUNDED_STOP,
    PartitionRead,
    end_offsets,
    epoch_of,
    offset_of,
    plan_reads,
    reset_offset,
    to_position,
)
from pipeline.kafkaio.watermark import PartitionWatermarkEstimatorProvider

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "kafkaio"
METADATA_MAX_AGE_MS = 5_000
COMMIT_TIMEOUT_MS = 10_000
POLL_STUCK_S = 30.0
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
    defaults = {
        "fetch_max_wait_ms": min(50, config.poll_timeout_ms),
        # Metadata every 5 s (kafka-python: 5 min) carries the topic's id: a topic re-created
        # under the reader is noticed within seconds (see _PartitionReader.poll).
        "metadata_max_age_ms": METADATA_MAX_AGE_MS,
    }
    return {
        **defaults, **config.consumer_config, "allow_auto_create_topics": False,
        # An offset out of range raises, so the reader applies offset_reset itself, loudly.
        "auto_offset_reset": "none", **ours,
    }


def topic_id(consumer: KafkaConsumer, topic: str):
    """The topic's id in the consumer's cluster metadata (a UUID; Kafka >= 2.8 and the
    embedded broker send one), or None. A re-created topic gets a new id. kafka-python keeps
    it in its cluster metadata, which it has no public accessor for."""
    cluster = getattr(getattr(consumer, "_client", None), "cluster", None)
    return cluster.topic_id(topic) if cluster is not None and hasattr(cluster, "topic_id") else None


class _PlanPartitions(beam.DoFn):
    """Impulse → one PartitionRead per partition of the topic (see ``offsets.plan_reads``)."""

    def __init__(self, config: KafkaReadConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._resets = Metrics.counter(METRICS_NAMESPACE, "offset_resets")

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
            yield from plan_reads(consumer, config, on_reset=lambda tp: self._resets.inc())
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


class LogReset(Exception):
    """The partition's log no longer holds the offset the reader asked for."""

    def __init__(self, offset: int, why: str) -> None:
        super().__init__(why)
        self.offset = offset
        self.why = why


class _PartitionReader:
    """A kafka-python consumer assigned to one partition, positioned where we ask.

    It also knows the partition's high watermark from its last fetch, once that fetch was
    made at the position asked for (after a seek, an older one no longer applies), and the
    topic's id, to notice a topic re-created under it.
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
        self._topic_id = None

    def poll(self, offset: int, timeout_ms: int) -> list:
        """Records from ``offset`` on (up to max_poll_records; none after the timeout).

        Raises LogReset if the partition's log no longer holds ``offset``: Kafka answers
        such a fetch OFFSET_OUT_OF_RANGE; the embedded broker answers nothing and a lower
        high watermark; a re-created topic has a new id (its new log may have grown past
        ``offset``: then only the id tells). Records fetched from a new log are not returned.
        """
        if self._position != offset:
            self._consumer.seek(self.tp, offset)
            self._highwater_at_seek = self._consumer.highwater(self.tp)
            self._highwater_fresh = False
        watchdog = threading.Timer(timeout_ms / 1000 + POLL_STUCK_S, self._unblock)
        watchdog.daemon = True
        watchdog.start()
        try:
            batch = self._consumer.poll(timeout_ms=timeout_ms).get(self.tp, [])
        except OffsetOutOfRangeError:
            self._position = None
            raise LogReset(offset, "the broker answered OFFSET_OUT_OF_RANGE") from None
        finally:
            watchdog.cancel()
        self._check_topic_id(offset)
        if batch and batch[0].offset < offset:
            self._position = None
            raise LogReset(offset, f"the log has offset {batch[0].offset} there")
        highwater = self._consumer.highwater(self.tp)
        # kafka-python ignores fetch answers for other positions, so a change is a fresh one.
        self._highwater_fresh = self._highwater_fresh or bool(batch) or (
            highwater != self._highwater_at_seek
        )
        self._position = self._consumer.position(self.tp)
        if self._highwater_fresh and highwater is not None and self._position > highwater:
            self._position = None
            raise LogReset(offset, f"the log now ends at offset {highwater}")
        return batch

    def _unblock(self) -> None:
        """Make a poll that outlived its timeout by POLL_STUCK_S raise KafkaConnectionError.

        After a broker restart, kafka-python 3.0.12 consumers were seen to block for good in
        poll(), waiting for their network loop to finish a step it never finished (with or
        without a timeout given). It keeps its waiters in its private network selector; failing
        them is the one way to get the thread back. The reader then starts a new consumer.
        """
        selector = getattr(getattr(self._consumer, "_fetcher", None), "_net", None)
        fail = getattr(selector, "_fail_pending_waiters", None)
        if fail is not None:
            log.warning("%s[%d]: a Kafka poll is blocked %.0f s past its timeout; unblocking it",
                        self.tp.topic, self.tp.partition, POLL_STUCK_S)
            fail(KafkaConnectionError("poll blocked past its timeout; the reader starts over"))

    def _check_topic_id(self, offset: int) -> None:
        current = topic_id(self._consumer, self.tp.topic)
        if self._topic_id is None:
            self._topic_id = current
        elif current is not None and current != self._topic_id:
            self._position = None
            raise LogReset(offset, f"the topic was re-created (its id was {self._topic_id}, "
                           f"now {current})")

    def reset(self, policy: str, why: str) -> int:
        """The offset ``policy`` goes to now (logged; PartitionResetError for ``none``)."""
        beginning = self._consumer.beginning_offsets([self.tp])[self.tp]
        end = end_offsets(self._consumer, [self.tp])[self.tp]
        self._position = None
        target = reset_offset(policy, self.tp, why, beginning, max(end, beginning))
        self._topic_id = topic_id(self._consumer, self.tp.topic)  # the log we go on with
        return target

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
        self._resets = Metrics.counter(METRICS_NAMESPACE, "offset_resets")
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
        epoch = epoch_of(position)
        base = to_position(epoch, 0)
        commit_position = None
        try:
            while True:
                if position >= stop:
                    tracker.try_claim(stop)  # past the last offset: the restriction is done
                    return
                try:
                    batch = reader.poll(position - base, timeout_ms)
                except KafkaError as exc:  # the consumer is stuck or broken: start another
                    log.warning("%s[%d]: reading failed (%s: %s); starting a new consumer",
                                reader.tp.topic, reader.tp.partition, type(exc).__name__, exc)
                    self._renew_reader(reader, read)
                    tracker.defer_remainder()
                    return
                except LogReset as reset:
                    reader = self._renew_reader(reader, read)
                    try:
                        offset = reader.reset(self._config.offset_reset, self._reset_why(reset))
                    except KafkaError as exc:  # e.g. the topic is not there (yet): try later
                        log.warning("%s[%d]: could not reset the offset yet (%s: %s); retrying",
                                    reader.tp.topic, reader.tp.partition, type(exc).__name__, exc)
                        tracker.defer_remainder()
                        return
                    self._resets.inc()
                    epoch += 1
                    base = to_position(epoch, 0)
                    position = base + offset
                    if position >= stop:  # a bounded read: what it was to read is gone
                        log.warning("%s[%d]: the bounded read of this partition ends here: "
                                    "the log it was reading is gone", reader.tp.topic,
                                    reader.tp.partition)
                        continue
                    tracker.try_claim(position - 1)  # the checkpoint resumes in the new epoch
                    commit_position = position
                    continue
                position = base + reader.position
                if share > 1:
                    timeout_ms = 0  # later polls only take what was fetched meanwhile
                if batch:
                    now = Timestamp.now()
                    current = watermark.current_watermark()
                    current_micros = MIN_TIMESTAMP.micros if current is None else current.micros
                    size = late = untimed = emitted = 0
                    claimed_all = True
                    for record in batch:
                        if not tracker.try_claim(base + record.offset):
                            claimed_all = False  # past the stop offset (bounded) or split off
                            break
                        commit_position = base + record.offset + 1
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
            if self._config.commits:
                # One commit per bundle, registered even by a bundle that read nothing: Prism
                # finalizes every bundle of the stage, and the SDK logs an error with a
                # traceback for one that registered no finalizer (it commits nothing new).
                if not self._finalizing:
                    finalizer.register(_CommitBundle(self, self._bundle_offsets))
                    self._finalizing = True
                if commit_position is not None:
                    self._bundle_offsets[reader.tp] = commit_position

    def _renew_reader(self, reader: _PartitionReader, read: PartitionRead) -> _PartitionReader:
        """A new consumer for the partition, the old one closed in the background: after a
        broker restart, a kafka-python 3.0.12 consumer that was connected to the old broker
        was seen to block for good in a later poll (its network loop never ran the fetch),
        and its close might block as well."""
        del self._readers[reader.tp]
        threading.Thread(target=reader.close, name="newswire-close-reader", daemon=True).start()
        return self._reader(read)

    def _reset_why(self, reset: LogReset) -> str:
        return (f"the reader was at offset {reset.offset} but {reset.why} (log truncated, "
                "topic re-created, or a broker that lost its log)")

    def start_bundle(self) -> None:
        self._bundle_offsets: dict[TopicPartition, int] = {}
        self._finalizing = False

    def commit(self, positions: dict[TopicPartition, int]) -> None:
        """Commit ``positions`` (of the next record to read, per partition) in one request.

        Positions at or below what this instance committed before are skipped. Failures are
        logged and counted; the next bundle's commit covers them.
        """
        positions = {tp: p for tp, p in positions.items() if p > self._committed.get(tp, -1)}
        if not positions:
            return
        offsets = {tp: offset_of(position) for tp, position in positions.items()}
        try:
            if self._committer is None:
                self._committer = make_consumer(
                    self._config.bootstrap_servers,
                    **_consumer_settings(self._config, group_id=self._config.consumer_group),
                )
            self._committer.commit(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()},
                timeout_ms=COMMIT_TIMEOUT_MS,
            )
        except KafkaError as exc:
            # Unbounded, a commit to a broker that restarted was seen to block for minutes,
            # and the pipeline with it. Start over with a new client next time.
            committer, self._committer = self._committer, None
            if committer is not None:
                committer.close(autocommit=False)
            self._commit_failures.inc()
            log.warning(
                "could not commit offsets %s for consumer group %r (%s: %s); the next "
                "bundle's commit will cover them",
                {f"{tp.topic}[{tp.partition}]": o for tp, o in offsets.items()},
                self._config.consumer_group, type(exc).__name__, exc,
            )
            return
        self._committed.update(positions)
        self._commits.inc()


class _CommitBundle:
    """Bundle finalizer callback: commit the positions a bundle read (a callable object, so
    it holds the bundle's own positions, not whatever the next bundle reads)."""

    def __init__(self, reader_fn: _ReadPartitions, positions: dict[TopicPartition, int]) -> None:
        self._reader_fn, self._positions = reader_fn, positions

    def __call__(self) -> None:
        self._reader_fn.commit(self._positions)


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
