"""The pure-Python Kafka IO for Beam (pipeline.kafkaio).

Logic (configuration, coder, watermark, tracker) is tested without a broker;
everything that moves records runs against the session's real broker (``kafka_bootstrap``),
each test on its own topics. Pipelines run on ``--runner=DirectRunner``, which on machines
without Prism falls back to the FnApiRunner; each run logs the runner it ended up on.
"""

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.sdf_utils import (
    RestrictionTrackerView,
    ThreadsafeRestrictionTracker,
)
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Duration, Timestamp
from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.broker import EmbeddedBroker
from pipeline.kafka_clients import ensure_topics, make_consumer, make_producer
from pipeline.kafkaio import (
    KafkaReadConfig,
    KafkaRecord,
    KafkaRecordCoder,
    KafkaWriteConfig,
    KafkaWriteError,
    ReadFromKafka,
    TopicNotFoundError,
    WriteToKafka,
)
from pipeline.kafkaio.copy_topic import runner_name
from pipeline.kafkaio.offsets import (
    UNBOUNDED_STOP,
    PartitionRead,
    PartitionResetError,
    end_offsets,
    plan_reads,
)
from pipeline.kafkaio.sink import _WriteFn, unpack_element
from pipeline.kafkaio.source import (
    LogReset,
    PartitionOffsetTracker,
    _PartitionReader,
    _ReadPartitionsUnbounded,
)
from pipeline.kafkaio.watermark import PartitionWatermarkEstimator
from tests.conftest import make_test_broker

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = "127.0.0.1:9092"


# ---------------------------------------------------------------- helpers


def run(pipeline: beam.Pipeline) -> None:
    result = pipeline.run()
    result.wait_until_finish()
    log.info("pipeline ran on %s", runner_name(result))


def direct_pipeline() -> beam.Pipeline:
    return beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))


def produce(bootstrap: str, topic: str, records, flush_each: bool = False) -> list:
    """Send (partition, key, value[, timestamp_ms]) tuples; return their RecordMetadata."""
    producer = make_producer(bootstrap)
    try:
        futures = []
        for partition, key, value, *rest in records:
            futures.append(producer.send(
                topic, key=key, value=value, partition=partition,
                timestamp_ms=rest[0] if rest else None, headers=[("n", key or b"")],
            ))
            if flush_each:
                producer.flush()
        producer.flush()
        return [future.get(timeout=10) for future in futures]
    finally:
        producer.close()


def read_topic(bootstrap: str, topic: str, expect: int, timeout_s: float = 15.0) -> list:
    """Every record of ``topic`` (kafka-python, manual assignment), once ``expect`` arrived."""
    consumer = make_consumer(bootstrap)
    try:
        numbers = sorted(consumer.partitions_for_topic(topic))
        partitions = [TopicPartition(topic, p) for p in numbers]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records, deadline = [], time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
            if len(records) >= expect:
                # one more poll shows whether there is more than expected
                for batch in consumer.poll(timeout_ms=300).values():
                    records.extend(batch)
                break
        return records
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict:
    consumer = make_consumer(bootstrap, group_id=group)
    try:
        return {p: consumer.committed(TopicPartition(topic, p)) for p in range(partitions)}
    finally:
        consumer.close()


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"bootstrap_servers": "localhost"}, ValueError,
         "bootstrap_servers: 'localhost' is not HOST:PORT"),
        ({"topic": "news raw"}, ValueError, "topic: 'news raw' is not a valid Kafka topic name"),
        ({"start_from": "yesterday"}, ValueError,
         "start_from: 'yesterday' is not one of earliest, latest, committed"),
        ({"start_from": "2023-10-17T08:00:00"}, ValueError, "has no timezone"),
        ({"start_from": -5}, ValueError, "start_from: -5 is before 1970"),
        ({"start_from": "committed"}, ValueError, "start_from: 'committed' needs consumer_group"),
        ({"consumer_group": " "}, ValueError,
         "consumer_group: ' ' must be a non-empty string or None"),
        ({"event_time": "log"}, ValueError, "event_time: 'log' is not one of record, processing"),
        ({"bounded": "yes"}, TypeError, "bounded: 'yes' must be True or False"),
        ({"poll_timeout_ms": 0}, ValueError,
         "poll_timeout_ms: 0 must be an integer from 1 to 60000"),
        ({"max_poll_records": 1.5}, ValueError, "max_poll_records: 1.5 must be an integer"),
        ({"watermark_lag_ms": -1}, ValueError, "watermark_lag_ms: -1 must be an integer"),
        ({"consumer_config": {"fetch.max.wait.ms": 10}}, ValueError,
         "consumer_config: unknown kafka-python KafkaConsumer setting(s) ['fetch.max.wait.ms']"),
        ({"consumer_config": {"group_id": "g"}}, ValueError,
         "consumer_config: 'group_id' cannot be set here: set consumer_group instead"),
        ({"consumer_config": {"value_deserializer": str}}, ValueError,
         "'value_deserializer' cannot be set here: values are delivered as bytes"),
    ],
)
def test_read_config_rejects_bad_options_naming_them(kwargs, error, message):
    arguments = {"bootstrap_servers": BOOTSTRAP, "topic": "news.raw", **kwargs}
    with pytest.raises(error) as raised:
        KafkaReadConfig(**arguments)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("start_from", "expected_ms"),
    [
        ("earliest", None), ("latest", None),
        ("2023-10-17T08:00:00Z", 1697529600000),
        ("2023-10-17T10:00:00+02:00", 1697529600000),
        ("1697529600000", 1697529600000),
        (1697529600000, 1697529600000),
    ],
)
def test_start_from_accepts_names_rfc3339_and_epoch_ms(start_from, expected_ms):
    config = KafkaReadConfig(BOOTSTRAP, "news.raw", start_from=start_from)
    assert config.start_timestamp_ms == expected_ms


def test_read_config_is_frozen_and_pickles_with_its_consumer_config():
    import pickle

    config = KafkaReadConfig(BOOTSTRAP, "news.raw", consumer_group="g",
                             consumer_config={"fetch_max_wait_ms": 100})
    with pytest.raises(TypeError):
        config.consumer_config["fetch_max_wait_ms"] = 1
    assert pickle.loads(pickle.dumps(config)) == config
    assert config.commits and not KafkaReadConfig(BOOTSTRAP, "news.raw").commits


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"topic": ""}, ValueError, "topic: '' is not a valid Kafka topic name"),
        ({"flush_timeout_s": 0}, ValueError, "flush_timeout_s: 0 must be a number of seconds"),
        ({"producer_config": {"lingerms": 5}}, ValueError,
         "unknown kafka-python KafkaProducer setting(s) ['lingerms']"),
        ({"producer_config": {"value_serializer": str}}, ValueError,
         "'value_serializer' cannot be set here"),
        ({"producer_config": [("acks", 1)]}, TypeError, "producer_config: expected a mapping"),
    ],
)
def test_write_config_rejects_bad_options_naming_them(kwargs, error, message):
    arguments = {"bootstrap_servers": BOOTSTRAP, "topic": "news.enriched", **kwargs}
    with pytest.raises(error) as raised:
        KafkaWriteConfig(**arguments)
    assert message in str(raised.value)


def test_transforms_refuse_other_config_types():
    with pytest.raises(TypeError, match="expected a KafkaReadConfig"):
        ReadFromKafka(KafkaWriteConfig(BOOTSTRAP, "t"))
    with pytest.raises(TypeError, match="expected a KafkaWriteConfig"):
        WriteToKafka(KafkaReadConfig(BOOTSTRAP, "t"))


@pytest.mark.parametrize(
    ("element", "message"),
    [
        (b"value", "elements must be (key, value) or (key, value, headers) tuples"),
        ((b"k", "text"), "value must be bytes or None, got str"),
        ((1, b"v"), "key must be bytes or None, got int"),
        ((b"k", b"v", [("h", "text")]), "headers must be (str, bytes) pairs"),
    ],
)
def test_sink_refuses_wrongly_shaped_elements(element, message):
    with pytest.raises(TypeError) as raised:
        unpack_element(element)
    assert message in str(raised.value)


def test_sink_accepts_pairs_triples_and_tombstones():
    assert unpack_element((None, b"v")) == (None, b"v", ())
    assert unpack_element([b"k", None, [("a", b"1")]]) == (b"k", None, (("a", b"1"),))


# ---------------------------------------------------------------- coder, watermark, tracker


@pytest.mark.parametrize(
    "record",
    [
        KafkaRecord("news.raw", 0, 0, 1700000000000, b"key", b"value", ()),
        KafkaRecord("t", 7, 2**40, -1, None, None, ()),
        KafkaRecord("t-é", 1, 5, 0, b"", b"\x00" * 3000, (("schema", b"1.0"), ("void", None))),
    ],
)
def test_record_coder_round_trips(record):
    coder = KafkaRecordCoder()
    assert coder.decode(coder.encode(record)) == record
    assert coder.estimate_size(record) == len(coder.encode(record))  # counted, not encoded
    assert coder.is_deterministic()
    assert beam.coders.registry.get_coder(KafkaRecord) == coder


def test_watermark_follows_records_minus_lag_and_never_goes_back():
    estimator = PartitionWatermarkEstimator((None, 2000))
    assert estimator.current_watermark() is None
    estimator.observe_timestamp(Timestamp(100))
    assert estimator.current_watermark() == Timestamp(98)
    estimator.observe_timestamp(Timestamp(50))  # an older record: the watermark stays
    assert estimator.current_watermark() == Timestamp(98)
    resumed = PartitionWatermarkEstimator(estimator.get_estimator_state())
    assert resumed.current_watermark() == Timestamp(98)


def test_watermark_advances_with_processing_time_when_idle():
    estimator = PartitionWatermarkEstimator((Timestamp(10), 500))
    estimator.observe_idle(Timestamp(1000))
    assert estimator.current_watermark() == Timestamp(1000) - Duration(micros=500_000)
    estimator.observe_idle(Timestamp(900))  # clock went back: the watermark does not
    assert estimator.current_watermark() == Timestamp(999.5)


def test_tracker_splits_only_at_checkpoints():
    tracker = PartitionOffsetTracker(OffsetRange(10, UNBOUNDED_STOP))
    assert not tracker.is_bounded()
    assert tracker.try_claim(10)
    assert tracker.try_split(0.5) is None  # a runner-initiated split would race commits
    primary, residual = tracker.try_split(0)
    assert (primary, residual) == (OffsetRange(10, 11), OffsetRange(11, UNBOUNDED_STOP))
    assert PartitionOffsetTracker(OffsetRange(0, 5)).is_bounded()


# ---------------------------------------------------------------- planning against the broker


def test_plan_refuses_a_missing_topic_without_creating_it(kafka_bootstrap):
    name = f"missing.{os.getpid()}.{time.time_ns()}"
    consumer = make_consumer(kafka_bootstrap)
    try:
        with pytest.raises(TopicNotFoundError, match=f"topic '{name}' does not exist"):
            plan_reads(consumer, KafkaReadConfig(kafka_bootstrap, name))
        assert name not in consumer.topics()
    finally:
        consumer.close()


def test_end_offsets_are_checked_against_a_fetch(kafka_bootstrap, topic_factory):
    # One batch of 10 records: the embedded broker reports end offset 1 for it.
    topic = topic_factory("kio")
    produce(kafka_bootstrap, topic, [(0, b"k%d" % i, b"v") for i in range(10)])
    consumer = make_consumer(kafka_bootstrap, fetch_max_wait_ms=50)
    try:
        assert end_offsets(consumer, [TopicPartition(topic, 0)]) == {TopicPartition(topic, 0): 10}
    finally:
        consumer.close()


def test_plan_start_offsets_for_each_start_position(kafka_bootstrap, topic_factory):
    topic = topic_factory("kio", partitions=2)
    base = int(time.time() * 1000) - 60_000
    # partition 0: offsets 0-3 at base, 4-5 at base+10 s; partition 1: 0-2 at base.
    produce(kafka_bootstrap, topic, [(0, b"a%d" % i, b"v", base) for i in range(4)]
            + [(1, b"b%d" % i, b"v", base) for i in range(3)])
    produce(kafka_bootstrap, topic, [(0, b"c%d" % i, b"v", base + 10_000) for i in range(2)])
    group = f"plan.{topic}"
    seed = make_consumer(kafka_bootstrap, group_id=group)
    seed.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "", -1)})
    seed.close()
    past_end = f"{group}.past-end"  # as if the topic had been re-created since the commit
    seed = make_consumer(kafka_bootstrap, group_id=past_end)
    seed.commit({TopicPartition(topic, 1): OffsetAndMetadata(99, "", -1)})
    seed.close()

    def plan(**kwargs):
        consumer = make_consumer(kafka_bootstrap, group_id=kwargs.get("consumer_group"))
        try:
            reads = plan_reads(consumer, KafkaReadConfig(kafka_bootstrap, topic, **kwargs))
        finally:
            consumer.close()
        return [(r.partition, r.start, r.stop) for r in reads]

    assert plan(bounded=True) == [(0, 0, 6), (1, 0, 3)]
    assert plan(start_from="latest", bounded=True) == [(0, 6, 6), (1, 3, 3)]
    assert plan(start_from=base + 5_000, bounded=True) == [(0, 4, 6), (1, 3, 3)]
    assert plan(start_from=base + 3_600_000, bounded=True) == [(0, 6, 6), (1, 3, 3)]
    # committed: partition 1 has no committed offset, so it starts at the earliest
    assert plan(start_from="committed", consumer_group=group) == [
        (0, 3, UNBOUNDED_STOP), (1, 0, UNBOUNDED_STOP)]
    # a committed offset past the end: the partition was re-created, read it all
    assert plan(start_from="committed", consumer_group=past_end, bounded=True) == [
        (0, 0, 6), (1, 0, 3)]


def test_reader_notices_a_log_that_ends_before_its_offset_and_resets_per_policy(
    kafka_bootstrap, topic_factory
):
    topic = topic_factory("kio")
    produce(kafka_bootstrap, topic, [(0, b"k%d" % i, b"v") for i in range(3)])
    reader = _PartitionReader(KafkaReadConfig(kafka_bootstrap, topic), TopicPartition(topic, 0))
    try:
        # Offset 50 is past the end, as after a broker that lost its log (Tansu answers
        # nothing, Kafka OFFSET_OUT_OF_RANGE).
        with pytest.raises(LogReset) as reset:
            for _ in range(20):
                reader.poll(50, 100)
        assert reset.value.offset == 50
        assert reader.reset("earliest", reset.value.why) == 0
        assert reader.reset("latest", reset.value.why) == 3
        with pytest.raises(PartitionResetError, match="offset_reset is 'none'"):
            reader.reset("none", reset.value.why)
        assert [r.offset for r in reader.poll(0, 1000)] == [0, 1, 2]
    finally:
        reader.close()


def _recreate(bootstrap: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics([topic])
        deadline = time.monotonic() + 30
        while topic in admin.list_topics():
            assert time.monotonic() < deadline, f"{topic} was not deleted within 30 s"
            time.sleep(0.2)
    finally:
        admin.close()
    deadline = time.monotonic() + 30
    while True:  # Kafka may refuse to create it again while the deletion completes
        try:
            ensure_topics(bootstrap, [topic])
            return
        except KafkaError:
            assert time.monotonic() < deadline, f"{topic} could not be created again within 30 s"
            time.sleep(0.5)


def test_a_running_read_follows_a_recreated_topic_from_its_earliest_offset(
    kafka_bootstrap, topic_factory, caplog
):
    """The in-flight case: the reader is at offset 3 of the old log when the topic is
    re-created and its new log grows to 5 records, past that offset. Nothing of the new log
    may be skipped (the offsets alone cannot show it; the topic id does)."""
    topic = topic_factory("kio")
    produce(kafka_bootstrap, topic, [(0, b"old%d" % i, b"v") for i in range(3)])
    config = KafkaReadConfig(kafka_bootstrap, topic, consumer_group=f"reset.{topic}",
                             poll_timeout_ms=100)
    reader = _ReadPartitionsUnbounded(config, max_bundle_ms=500)
    reader.setup()
    outputs, position = [], 0

    def bundle() -> None:
        nonlocal position
        tracker = ThreadsafeRestrictionTracker(
            PartitionOffsetTracker(OffsetRange(position, UNBOUNDED_STOP)))
        finalizer = beam.DoFn.BundleFinalizerParam()
        reader.start_bundle()
        outputs.extend(o.value for o in reader._read(
            PartitionRead(topic, 0, 0, UNBOUNDED_STOP, 1000), finalizer,
            RestrictionTrackerView(tracker), PartitionWatermarkEstimator((None, 1000))))
        residual, _delay = tracker.deferred_status()
        position = residual.start
        finalizer.finalize_bundle()

    try:
        while len(outputs) < 3:
            bundle()
        _recreate(kafka_bootstrap, topic)
        produce(kafka_bootstrap, topic, [(0, b"new%d" % i, b"v") for i in range(5)])
        deadline = time.monotonic() + 60
        with caplog.at_level(logging.WARNING, logger="pipeline.kafkaio.offsets"):
            while [r.key for r in outputs[-5:]] != [b"new%d" % i for i in range(5)] and (
                    time.monotonic() < deadline):
                bundle()
        # Records of the new log fetched before its id was seen may come twice (at least
        # once); none may be missing.
        assert [(r.key, r.offset) for r in outputs[:3]] == [(b"old%d" % i, i) for i in range(3)]
        assert [(r.key, r.offset) for r in outputs[-5:]] == [(b"new%d" % i, i) for i in range(5)]
        assert "OFFSET RESET to the earliest offset 0" in caplog.text
        assert "re-created" in caplog.text or "ends at offset" in caplog.text
        assert committed(kafka_bootstrap, config.consumer_group, topic, 1) == {0: 5}
    finally:
        reader.teardown()


# ---------------------------------------------------------------- pipelines on the DirectRunner


def _event_time_matches(record: KafkaRecord, timestamp=beam.DoFn.TimestampParam):
    return (record.partition, record.offset, record.key, record.value, record.headers,
            timestamp == Timestamp(micros=record.timestamp_ms * 1000))


def test_bounded_read_gives_exactly_the_records_with_their_timestamps(
    kafka_bootstrap, topic_factory
):
    topic = topic_factory("kio", partitions=3)
    metadata = produce(kafka_bootstrap, topic,
                       [(i % 3, b"k%d" % i, b"v%d" % i) for i in range(300)])
    expected = [(m.partition, m.offset, b"k%d" % i, b"v%d" % i, (("n", b"k%d" % i),), True)
                for i, m in enumerate(metadata)]
    pipeline = direct_pipeline()
    records = pipeline | ReadFromKafka(KafkaReadConfig(kafka_bootstrap, topic, bounded=True))
    assert isinstance(beam.coders.registry.get_coder(records.element_type), KafkaRecordCoder)
    shuffled = records | beam.Reshuffle()  # records cross a stage boundary: encoded, decoded
    assert_that(shuffled | beam.Map(_event_time_matches), equal_to(expected))
    run(pipeline)


def test_bounded_read_from_a_timestamp(kafka_bootstrap, topic_factory):
    topic = topic_factory("kio")
    base = int(time.time() * 1000) - 60_000
    produce(kafka_bootstrap, topic, [(0, b"old%d" % i, b"v", base) for i in range(5)])
    produce(kafka_bootstrap, topic, [(0, b"new%d" % i, b"v", base + 30_000) for i in range(5)])
    pipeline = direct_pipeline()
    keys = (pipeline
            | ReadFromKafka(KafkaReadConfig(kafka_bootstrap, topic, bounded=True,
                                            start_from=base + 1))
            | beam.Map(lambda record: record.key))
    assert_that(keys, equal_to([b"new%d" % i for i in range(5)]))
    run(pipeline)


def test_bounded_read_commits_and_resumes_from_committed(kafka_bootstrap, topic_factory):
    topic = topic_factory("kio", partitions=2)
    group = f"resume.{topic}"
    produce(kafka_bootstrap, topic, [(i % 2, b"first%d" % i, b"v") for i in range(10)])
    config = KafkaReadConfig(kafka_bootstrap, topic, consumer_group=group,
                             start_from="committed", bounded=True)
    pipeline = direct_pipeline()
    assert_that(pipeline | ReadFromKafka(config) | beam.Map(lambda r: r.key),
                equal_to([b"first%d" % i for i in range(10)]))
    run(pipeline)
    assert committed(kafka_bootstrap, group, topic, 2) == {0: 5, 1: 5}

    produce(kafka_bootstrap, topic, [(i % 2, b"second%d" % i, b"v") for i in range(4)])
    pipeline = direct_pipeline()
    assert_that(pipeline | ReadFromKafka(config) | beam.Map(lambda r: r.key),
                equal_to([b"second%d" % i for i in range(4)]))
    run(pipeline)
    assert committed(kafka_bootstrap, group, topic, 2) == {0: 7, 1: 7}


class _FailBundle(beam.DoFn):
    """Stands for a sink whose flush fails in finish_bundle."""

    def process(self, record):
        return ()

    def finish_bundle(self):
        raise RuntimeError("the sink could not flush")


def test_offsets_are_not_committed_when_a_downstream_bundle_fails(kafka_bootstrap, topic_factory):
    topic = topic_factory("kio")
    group = f"fail.{topic}"
    produce(kafka_bootstrap, topic, [(0, b"k%d" % i, b"v") for i in range(5)])
    pipeline = direct_pipeline()
    (pipeline
     | ReadFromKafka(KafkaReadConfig(kafka_bootstrap, topic, consumer_group=group, bounded=True))
     | beam.ParDo(_FailBundle()))
    with pytest.raises(Exception, match="the sink could not flush"):
        run(pipeline)
    assert committed(kafka_bootstrap, group, topic, 1) == {0: None}


class _CheckNotYetCommitted(beam.DoFn):
    """Fused behind the reader: at the end of each bundle, none of the bundle's records may
    be committed yet (their commit must wait until this bundle is finished)."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._bootstrap, self._group = bootstrap, group

    def setup(self):
        self._consumer = make_consumer(self._bootstrap, group_id=self._group)

    def start_bundle(self):
        self._first = {}

    def process(self, record):
        tp = TopicPartition(record.topic, record.partition)
        self._first.setdefault(tp, record.offset)
        yield record.offset

    def finish_bundle(self):
        for tp, first in self._first.items():
            offset = self._consumer.committed(tp)
            if offset is not None and offset > first:
                raise AssertionError(f"{tp} committed up to {offset} before the bundle of "
                                     f"offset {first} finished")

    def teardown(self):
        self._consumer.close()


def test_offsets_are_committed_after_the_downstream_bundle(kafka_bootstrap, topic_factory):
    topic = topic_factory("kio", partitions=2)
    group = f"after.{topic}"
    produce(kafka_bootstrap, topic, [(i % 2, b"k%d" % i, b"v") for i in range(2000)])
    pipeline = direct_pipeline()
    offsets = (pipeline
               | ReadFromKafka(KafkaReadConfig(kafka_bootstrap, topic, consumer_group=group,
                                               bounded=True, max_poll_records=100),
                               max_bundle_ms=20)
               | beam.ParDo(_CheckNotYetCommitted(kafka_bootstrap, group)))
    assert_that(offsets | beam.combiners.Count.Globally(), equal_to([2000]))
    run(pipeline)
    assert committed(kafka_bootstrap, group, topic, 2) == {0: 1000, 1: 1000}


def test_write_reports_deliveries_and_routes_refused_records(kafka_bootstrap, topic_factory):
    topic = topic_factory("kio")
    config = KafkaWriteConfig(kafka_bootstrap, topic, producer_config={"max_request_size": 2000})
    elements = [(b"k%d" % i, b"v%d" % i, [("h", b"x")]) for i in range(20)]
    elements.append((b"big", b"x" * 5000))
    pipeline = direct_pipeline()
    written = pipeline | beam.Create(elements) | WriteToKafka(config)
    assert_that(written.delivered | beam.Map(lambda d: (d.topic, d.key)),
                equal_to([(topic, b"k%d" % i) for i in range(20)]), label="delivered")
    assert_that(written.failed | beam.Map(lambda f: (f.key, f.error_type, len(f.value))),
                equal_to([(b"big", "MessageSizeTooLargeError", 5000)]), label="failed")
    run(pipeline)
    records = read_topic(kafka_bootstrap, topic, expect=20)
    assert sorted((r.key, r.value, r.headers) for r in records) == sorted(
        (b"k%d" % i, b"v%d" % i, [("h", b"x")]) for i in range(20))


def test_write_isolates_records_the_broker_refuses(tmp_path):
    """The embedded broker validating news.raw refuses a whole batch for one bad record; the
    good records of the batch, and those after it, must still be delivered."""
    good = (REPO / "schemas" / "examples" / "seed-raw.json").read_bytes()
    elements = [(b"good1", good), (b"bad", b"not a story"), (b"good2", good)]
    with EmbeddedBroker(port=0, topics=("news.raw",), validate_schemas=True) as broker:
        pipeline = direct_pipeline()
        written = (pipeline
                   | beam.Create(elements, reshuffle=False)
                   | WriteToKafka(KafkaWriteConfig(broker.bootstrap, "news.raw")))
        assert_that(written.delivered | beam.Map(lambda d: d.key),
                    equal_to([b"good1", b"good2"]), label="delivered")
        assert_that(written.failed | beam.Map(lambda f: (f.key, f.error_type)),
                    equal_to([(b"bad", "InvalidRecordError")]), label="failed")
        run(pipeline)


@pytest.mark.parametrize(("producer_config", "sent_mid_bundle"), [({}, False), ({"linger_ms": 0}, True)])
def test_sink_holds_a_partial_batch_until_the_bundle_ends(
        kafka_bootstrap, topic_factory, producer_config, sent_mid_bundle):
    """By default a batch leaves when it is full or the bundle ends (finish_bundle flushes),
    not every few milliseconds; producer_config can still set linger_ms."""
    topic = topic_factory("kio")
    sink = _WriteFn(KafkaWriteConfig(kafka_bootstrap, topic, producer_config=producer_config))
    sink.setup()
    window = beam.transforms.window.GlobalWindow()
    try:
        sink.start_bundle()
        for i in range(5):
            list(sink.process((b"k%d" % i, b"v"), Timestamp(0), window))
        time.sleep(0.5)
        assert all(p.future.is_done for p in sink._pending) is sent_mid_bundle
        assert sorted(d.value.offset for d in sink.finish_bundle()) == [0, 1, 2, 3, 4]
    finally:
        sink.teardown()


def test_write_waits_out_a_frozen_broker_and_says_so(caplog):
    """The broker process is stopped (SIGSTOP) for 8 s mid-bundle, then resumed: the bundle
    waits (each flush of 1 s logged as a wait) and finishes with every record acknowledged."""
    broker = make_test_broker().start()  # this session's engine: Tansu, or Apache Kafka
    ensure_topics(broker.bootstrap, ["frozen"])
    sink = _WriteFn(KafkaWriteConfig(broker.bootstrap, "frozen", flush_timeout_s=1.0))
    sink.setup()
    window = beam.transforms.window.GlobalWindow()
    try:
        sink.start_bundle()  # a first bundle goes through and warms the producer's metadata
        list(sink.process((b"k", b"first"), Timestamp(0), window))
        assert [d.value.offset for d in sink.finish_bundle()] == [0]
        os.kill(broker._process.pid, signal.SIGSTOP)
        thaw = threading.Timer(8.0, os.kill, (broker._process.pid, signal.SIGCONT))
        thaw.start()
        sink.start_bundle()
        for i in range(40):
            list(sink.process((b"k%d" % i, b"during"), Timestamp(0), window))
        with caplog.at_level(logging.WARNING, logger="pipeline.kafkaio.sink"):
            started = time.monotonic()
            delivered = list(sink.finish_bundle())
        thaw.join()
        assert time.monotonic() - started >= 5  # it did wait for the broker
        assert len(delivered) == 40
        assert "has not acknowledged 40 records for topic 'frozen'" in caplog.text
        assert "after a stall of" in caplog.text
        assert sorted({r.offset for r in read_topic(broker.bootstrap, "frozen", expect=41)}) == list(range(41))
    finally:
        if broker._process is not None:
            os.kill(broker._process.pid, signal.SIGCONT)
        broker.stop()
        sink.teardown()


def test_write_gives_up_after_give_up_after_s_when_set():
    broker = EmbeddedBroker(port=0, topics=("lost",)).start()
    # Records expire 2 s after they are sent, so teardown can close the producer cleanly.
    sink = _WriteFn(KafkaWriteConfig(
        broker.bootstrap, "lost", flush_timeout_s=1.0, give_up_after_s=3.0,
        producer_config={"request_timeout_ms": 1000, "delivery_timeout_ms": 2000},
    ))
    sink.setup()
    window = beam.transforms.window.GlobalWindow()
    try:
        sink.start_bundle()
        list(sink.process((b"k", b"first"), Timestamp(0), window))
        assert [d.value.offset for d in sink.finish_bundle()] == [0]
        broker.stop()
        sink.start_bundle()
        list(sink.process((b"k", b"second"), Timestamp(0), window))
        with pytest.raises(KafkaWriteError, match="not acknowledged within give_up_after_s=3.0"):
            list(sink.finish_bundle())
    finally:
        broker.stop()
        time.sleep(1.0)
        sink.teardown()


# ---------------------------------------------------------------- continuous reading


def test_idle_partition_advances_the_watermark(kafka_bootstrap, topic_factory):
    """Drive the reader's process() by hand (as a runner would) on a real partition."""
    topic = topic_factory("kio")
    old = int(time.time() * 1000) - 3_600_000
    produce(kafka_bootstrap, topic, [(0, b"k%d" % i, b"v", old + i) for i in range(3)])
    config = KafkaReadConfig(kafka_bootstrap, topic, consumer_group=f"idle.{topic}",
                             poll_timeout_ms=100, watermark_lag_ms=1000)
    reader = _ReadPartitionsUnbounded(config, max_bundle_ms=1000)
    reader.setup()
    try:
        estimator = PartitionWatermarkEstimator((None, config.watermark_lag_ms))
        position, outputs, finalizer = 0, [], beam.DoFn.BundleFinalizerParam()
        before_idle = None
        for _ in range(20):  # bundles until the reader has caught up and found nothing
            tracker = ThreadsafeRestrictionTracker(
                PartitionOffsetTracker(OffsetRange(position, UNBOUNDED_STOP)))
            before_idle = Timestamp.now()
            reader.start_bundle()
            for output in reader._read(PartitionRead(topic, 0, 0, UNBOUNDED_STOP, 1000),
                                       finalizer, RestrictionTrackerView(tracker), estimator):
                estimator.observe_timestamp(output.timestamp)  # as Beam does for each output
                outputs.append(output)
            residual, _delay = tracker.deferred_status()  # the reader checkpointed
            position = residual.start
            current = estimator.current_watermark()  # None until a record or idleness seen
            if current is not None and current >= before_idle - Duration(seconds=1):
                break
        assert [o.value.offset for o in outputs] == [0, 1, 2]
        assert [o.timestamp for o in outputs] == [
            Timestamp(micros=(old + i) * 1000) for i in range(3)]
        # Records alone would leave the watermark an hour back; idleness moved it to now - lag.
        assert estimator.current_watermark() >= before_idle - Duration(seconds=1)
        assert committed(kafka_bootstrap, config.consumer_group, topic, 1) == {0: None}
        finalizer.finalize_bundle()  # what the runner does once the outputs are durable
        assert committed(kafka_bootstrap, config.consumer_group, topic, 1) == {0: 3}
    finally:
        reader.teardown()


def _start_copy(bootstrap, source, target, group, linger_ms, log_path):
    command = [
        sys.executable, "-m", "pipeline.kafkaio.copy_topic", "--bootstrap-servers", bootstrap,
        "--input-topic", source, "--output-topic", target, "--consumer-group", group,
        "--start-from", "committed", "--linger-ms", str(linger_ms), "--runner=DirectRunner",
    ]
    with open(log_path, "ab") as out:
        return subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def test_continuous_copy_commits_only_what_reached_the_sink(
    kafka_bootstrap, topic_factory, tmp_path
):
    """Kill -9 a running copy mid-stream: every committed offset's record is in the output;
    a restart from the committed offsets completes the output (nothing lost)."""
    source, target = topic_factory("kio.in", partitions=2), topic_factory("kio.out")
    group, log_path = f"copy.{source}", tmp_path / "copy.log"
    # linger 300 ms: the sink holds records until its flush, which widens the window in
    # which an offset committed too early would point past records not yet written.
    job = _start_copy(kafka_bootstrap, source, target, group, 300, log_path)
    try:
        keys, sent = [], 0
        producer = make_producer(kafka_bootstrap)
        for burst in range(12):  # produced while the job runs
            for _ in range(25):
                key = b"r%04d" % sent
                producer.send(source, key=key, value=b"v", partition=sent % 2)
                keys.append(key)
                sent += 1
            producer.flush()
            time.sleep(0.25)
        producer.close()
        # On a busy machine the job may still be starting: kill it once it has committed on
        # both partitions (while records may still be in flight), not after a fixed time.
        deadline = time.monotonic() + 90
        while not all(committed(kafka_bootstrap, group, source, 2).values()):
            assert job.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"nothing committed\n{log_path.read_text()}"
            time.sleep(0.2)
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
    offsets = committed(kafka_bootstrap, group, source, 2)
    copied = {r.key for r in read_topic(kafka_bootstrap, target, expect=0, timeout_s=1)}
    inputs = read_topic(kafka_bootstrap, source, expect=sent)
    committed_keys = {r.key for r in inputs if r.offset < offsets[r.partition]}
    assert committed_keys <= copied, sorted(committed_keys - copied)[:10]

    job = _start_copy(kafka_bootstrap, source, target, group, 5, log_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not set(keys) <= copied:
            copied = {r.key for r in read_topic(kafka_bootstrap, target, expect=sent, timeout_s=2)}
        assert set(keys) <= copied, f"lost {sorted(set(keys) - copied)[:10]}"
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    log.info("copy: %d inputs, %d committed before the kill", sent, sum(offsets.values()))
