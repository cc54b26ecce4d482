"""The embedded broker: real produce/consume round trips, readable by an independent client,
and broker-side schema validation."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaError

from pipeline.broker import BrokerError, EmbeddedBroker, free_port
from pipeline.kafka_clients import (
    check_bootstrap_servers,
    check_topic_name,
    make_consumer,
    make_producer,
)
from schemas import ENRICHED_STORY, RAW_STORY

EXAMPLES = Path(__file__).parents[2] / "schemas" / "examples"


def _seed_raw() -> dict:
    return json.loads((EXAMPLES / "seed-raw.json").read_text("utf-8"))


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = make_producer(bootstrap)
    try:
        futures = [producer.send(topic, key=key, value=value, headers=[("schema_version", b"1.0")]) for key, value in records]
        producer.flush(30)
        for future in futures:
            future.get(0)
    finally:
        producer.close()


def _records(n: int) -> list[tuple[bytes, bytes]]:
    out = []
    for i in range(n):
        record = _seed_raw()
        record["story_id"] = f"{i:032x}"
        record["title"] = f"story {i}"
        out.append((record["story_id"].encode(), RAW_STORY.encode(record)))
    return out


def test_kafka_python_round_trip(kafka_bootstrap, topic_factory):
    topic = topic_factory("raw", partitions=3)
    sent = _records(30)
    _produce(kafka_bootstrap, topic, sent)

    consumer = make_consumer(kafka_bootstrap)
    partitions = [TopicPartition(topic, p) for p in range(3)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    got: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + 20
    while len(got) < len(sent) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            got.extend((m.key, m.value) for m in batch)
    consumer.close()
    # Not compared: end_offsets. Tansu 0.6 reports a partition's high watermark as the last
    # batch's base offset + 1, so it under-counts whenever a batch holds several records.
    assert sorted(got) == sorted(sent)
    assert {RAW_STORY.decode(value)["title"] for _, value in got} == {f"story {i}" for i in range(30)}


def test_independent_client_reads_what_kafka_python_wrote(kafka_bootstrap, topic_factory):
    confluent_kafka = pytest.importorskip("confluent_kafka")
    topic = topic_factory("raw")
    sent = _records(10)
    _produce(kafka_bootstrap, topic, sent)

    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": f"check-{topic}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < len(sent) and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            got.append(message)
    consumer.close()
    assert [(m.key(), m.value()) for m in got] == sent
    assert got[0].headers() == [("schema_version", b"1.0")]
    assert RAW_STORY.decode(got[0].value())["story_id"] == f"{0:032x}"


def test_validating_broker_refuses_a_record_that_breaks_the_enriched_schema():
    enriched = json.loads((EXAMPLES / "seed-enriched.json").read_text("utf-8"))
    with EmbeddedBroker(port=0, validate_schemas=True) as broker:
        producer = make_producer(broker.bootstrap, retries=0, enable_idempotence=False, max_in_flight_requests_per_connection=1)
        try:
            ok = producer.send("news.enriched", key=b"k", value=ENRICHED_STORY.encode(enriched)).get(15)
            assert ok.offset == 0
            broken = dict(enriched, dateline={"raw": "JAKARTA", "locations": "JAKARTA", "date": None})
            with pytest.raises(KafkaError) as info:
                producer.send("news.enriched", key=b"k", value=json.dumps(broken).encode()).get(15)
            assert type(info.value).__name__ == "InvalidRecordError"
            with pytest.raises(KafkaError):
                producer.send("news.enriched", key=b"k", value=b"not json").get(15)
        finally:
            producer.close()


def test_missing_binary_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSWIRE_BROKER_BIN", str(tmp_path / "no-such-tansu"))
    with pytest.raises(BrokerError, match="not an executable file"):
        EmbeddedBroker(port=0).start()


def test_port_in_use_is_reported(kafka_bootstrap):
    port = int(kafka_bootstrap.rsplit(":", 1)[1])
    with pytest.raises(BrokerError, match="already in use"):
        EmbeddedBroker(port=port).start()


@pytest.mark.parametrize("name", ["", "bad topic", "a/b", "..", "x" * 250])
def test_bad_topic_names_are_refused(name):
    with pytest.raises(ValueError, match="not a valid Kafka topic name"):
        check_topic_name(name)


@pytest.mark.parametrize("value", ["", "localhost", "host:port", "host:70000"])
def test_bad_bootstrap_servers_are_refused(value):
    with pytest.raises(ValueError, match="--bootstrap-servers"):
        check_bootstrap_servers(value)


def test_unknown_client_setting_is_refused():
    with pytest.raises(ValueError, match="unknown KafkaProducer setting"):
        make_producer("127.0.0.1:1", ackz="all")


def test_broker_command_prints_bootstrap_and_stops_on_sigterm():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "broker", "--port", str(port), "--topics", "a.b,c"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.strip() == f"bootstrap servers: 127.0.0.1:{port}"
        consumer = make_consumer(f"127.0.0.1:{port}")
        assert {"a.b", "c"} <= consumer.topics()
        consumer.close()
        process.terminate()
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_broker_command_starts_quietly():
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "broker", "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        assert lines[2].startswith("Tansu, memory only:"), lines
        process.terminate()
        assert process.wait(15) == 0
        # kafka-python's "connection refused" while the broker starts, and a log line that
        # repeats what the command prints, are noise
        assert process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize(("argv", "message"), [
    (["--port", "99999"], "argument --port: '99999' is not a TCP port (1-65535, or 0 for any free port)"),
    (["--port", "x"], "argument --port: 'x' is not a TCP port"),
    (["--partitions", "0"], "argument --partitions: '0' must be a whole number >= 1"),
    (["--topics", "news.raw,bad/name"], "newswire broker: --topics: 'bad/name' is not a valid Kafka topic name"),
    (["--port", "PORT-IN-USE"], "newswire broker: port PORT on 127.0.0.1 is already in use"),
])
def test_broker_command_refuses_bad_options_in_one_line(argv, message):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        argv = [port if arg == "PORT-IN-USE" else arg for arg in argv]
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", "broker", *argv],
                              check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert message.replace("PORT", port) in done.stderr
    problem = [line for line in done.stderr.splitlines() if not line.startswith(("usage:", " "))]
    assert len(problem) == 1, done.stderr
