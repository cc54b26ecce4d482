"""Throughput of the pure-Python Kafka IO for Beam against bare kafka-python, same run.

N records (values of --value-bytes random-ish JSON-like bytes) are produced into a topic of
--partitions partitions on an embedded broker (or --bootstrap-servers). Then, in order:

1. bare read:  kafka-python consumer, manual assignment, read to the end (baseline for 2)
2. Beam read:  ReadFromKafka(bounded) → a counting DoFn, on --runner (DirectRunner)
3. bare copy:  kafka-python consume + produce to a new topic + flush (baseline for 4)
4. Beam copy:  ReadFromKafka(bounded) → WriteToKafka to a new topic (pipeline.kafkaio.copy_topic)

Beam figures include pipeline start-up (planning the partitions, about 0.3 s). Every step
checks it moved exactly N records. The four steps run in interleaved rounds (--repeat) and
the median of each is printed; ratios compare each Beam step with its baseline.

    .venv/bin/python benchmarks/kafkaio_bench.py [--records 50000] [--value-bytes 2400]
        [--partitions 1] [--repeat 3] [--bootstrap-servers HOST:PORT] [--runner DirectRunner]
"""

import argparse
import logging
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apache_beam as beam
from apache_beam.metrics import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from kafka import TopicPartition

from pipeline.broker import EmbeddedBroker
from pipeline.kafka_clients import ensure_topics, make_consumer, make_producer
from pipeline.kafkaio import KafkaReadConfig, KafkaWriteConfig, ReadFromKafka
from pipeline.kafkaio.copy_topic import build_copy, runner_name
from pipeline.kafkaio.offsets import end_offsets


def make_value(i: int, size: int) -> bytes:
    head = b'{"story_id":"%032x","text":"' % i
    body = (b"lorem ipsum dolor sit amet %d " % i) * (size // 20 + 1)
    return (head + body)[: size - 2] + b'"}'


def produce(bootstrap: str, topic: str, records: int, size: int, partitions: int) -> float:
    producer = make_producer(bootstrap)
    start = time.perf_counter()
    for i in range(records):
        producer.send(topic, key=b"%032x" % i, value=make_value(i, size), partition=i % partitions)
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return elapsed


def bare_read(bootstrap: str, topic: str, records: int) -> float:
    consumer = make_consumer(bootstrap, max_poll_records=500)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    start = time.perf_counter()
    ends = end_offsets(consumer, partitions)
    consumer.seek_to_beginning(*partitions)
    seen = 0
    while seen < records:
        for batch in consumer.poll(timeout_ms=500).values():
            seen += len(batch)
    elapsed = time.perf_counter() - start
    consumer.close()
    assert seen == records == sum(ends.values()), (seen, records, ends)
    return elapsed


def bare_copy(bootstrap: str, source: str, target: str, records: int) -> float:
    consumer = make_consumer(bootstrap, max_poll_records=500)
    producer = make_producer(bootstrap)  # as WriteToKafka's
    partitions = [TopicPartition(source, p) for p in sorted(consumer.partitions_for_topic(source))]
    start = time.perf_counter()
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen = 0
    while seen < records:
        for batch in consumer.poll(timeout_ms=500).values():
            for record in batch:
                producer.send(target, key=record.key, value=record.value, headers=record.headers)
            seen += len(batch)
            producer.flush()  # as the Beam sink does per bundle: acknowledged before going on
    elapsed = time.perf_counter() - start
    consumer.close()
    producer.close()
    return elapsed


class _Count(beam.DoFn):
    def __init__(self):
        self.records = beam.metrics.Metrics.counter("bench", "records")

    def process(self, record):
        self.records.inc()


def counter(result, name: str) -> int:
    found = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    return sum(item.committed or item.attempted for item in found)


def run_pipeline(pipeline: beam.Pipeline) -> tuple[float, object]:
    start = time.perf_counter()
    result = pipeline.run()
    result.wait_until_finish()
    return time.perf_counter() - start, result


def beam_read(bootstrap: str, topic: str, records: int, beam_args: list[str]) -> tuple[float, str]:
    pipeline = beam.Pipeline(options=PipelineOptions(beam_args))
    (pipeline
     | ReadFromKafka(KafkaReadConfig(bootstrap, topic, bounded=True))
     | beam.ParDo(_Count()))
    elapsed, result = run_pipeline(pipeline)
    assert counter(result, "records") == records, counter(result, "records")
    return elapsed, runner_name(result)


def beam_copy(
    bootstrap: str, source: str, target: str, records: int, beam_args: list[str]
) -> float:
    pipeline = beam.Pipeline(options=PipelineOptions(beam_args))
    build_copy(pipeline, KafkaReadConfig(bootstrap, source, bounded=True),
               KafkaWriteConfig(bootstrap, target))
    elapsed, result = run_pipeline(pipeline)
    written = counter(result, f"records_written/{target}")
    assert written == records, written
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--value-bytes", type=int, default=2400)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--bootstrap-servers", default=None,
                        help="an existing broker (default: start an embedded one)")
    parser.add_argument("--runner", default="DirectRunner")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (median)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    beam_args = [f"--runner={args.runner}"]
    broker = None
    bootstrap = args.bootstrap_servers
    if bootstrap is None:
        broker = EmbeddedBroker(port=0, topics=()).start()
        bootstrap = broker.bootstrap
    try:
        tag = f"{os.getpid()}.{int(time.time())}"
        source, copy_bare, copy_beam = (f"bench.{name}.{tag}" for name in ("in", "bare", "beam"))
        ensure_topics(bootstrap, [source], partitions=args.partitions)
        n = args.records
        print(f"command: {' '.join([sys.executable, *sys.argv])}")
        print(f"{n} records of {args.value_bytes} B, {args.partitions} partition(s), "
              f"broker {bootstrap}{' (embedded Tansu)' if broker else ''}")
        produced = produce(bootstrap, source, n, args.value_bytes, args.partitions)
        print(f"produce (kafka-python)        {n / produced:9.0f} records/s")
        times: dict[str, list[float]] = {"bare read": [], "Beam read": [],
                                         "bare copy": [], "Beam copy": []}
        runner = ""
        for round_ in range(args.repeat):  # interleaved, so machine noise hits all alike
            times["bare read"].append(bare_read(bootstrap, source, n))
            elapsed, runner = beam_read(bootstrap, source, n, beam_args)
            times["Beam read"].append(elapsed)
            target = f"{copy_bare}.{round_}"
            ensure_topics(bootstrap, [target], partitions=args.partitions)
            times["bare copy"].append(bare_copy(bootstrap, source, target, n))
            target = f"{copy_beam}.{round_}"
            ensure_topics(bootstrap, [target], partitions=args.partitions)
            times["Beam copy"].append(beam_copy(bootstrap, source, target, n, beam_args))
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"median of {args.repeat} interleaved round(s); Beam on {runner}")
        print(f"1 bare read (kafka-python)    {n / median['bare read']:9.0f} records/s")
        print(f"2 Beam read (ReadFromKafka)   {n / median['Beam read']:9.0f} records/s   "
              f"{median['bare read'] / median['Beam read']:5.2f} x bare read")
        print(f"3 bare copy (kafka-python)    {n / median['bare copy']:9.0f} records/s")
        print(f"4 Beam copy (Read→Write)      {n / median['Beam copy']:9.0f} records/s   "
              f"{median['bare copy'] / median['Beam copy']:5.2f} x bare copy")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
