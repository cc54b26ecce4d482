"""Apache Kafka killed (kill -9) in the middle of an ingest and of a continuous enrich, then
restarted on the same port and data directory: nothing Kafka acknowledged is lost and every
story comes out (duplicates allowed: same key, removed by dedup downstream). Counted with
confluent-kafka, a client nobody here wrote.

What kill -9 of the broker process shows: records acknowledged with acks=all are in the
broker's log (page cache) and survive the process; a power loss of a one-node cluster is
another matter (that is what replication factor 3 and min.insync.replicas=2 are for).
Runs with NEWSWIRE_TEST_BROKER=kafka (the `apache_kafka` fixture)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kafka.errors import KafkaError

from pipeline.kafka_clients import make_producer
from schemas import ENRICHED_STORY
from tests.pipeline.enrich.support import read_all
from tests.pipeline.reader.feedserver import FeedServer
from tests.pipeline.reader.harness import (
    expected_ids,
    ingest_args,
    read_topic,
    start_ingest,
    write_feed_list,
)
from tests.pipeline.reader.test_crash import _items, _pending, _wait_until
from tests.pipeline.reader.test_reader import rss
from tests.stories import raw_value

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def feed_server():
    with FeedServer("127.0.0.1") as server:
        yield server


def test_broker_killed_during_an_ingest(apache_kafka, feed_server, tmp_path):
    topic = "news.raw"
    kafka = apache_kafka(topics=(topic,), data_dir=tmp_path / "kafka").start()
    url = feed_server.url("/desk.xml")
    store = tmp_path / "reader.sqlite3"
    log = tmp_path / "reader.log"
    args = ingest_args(write_feed_list(tmp_path, [url]), store, kafka.bootstrap, topic,
                       "--interval", "0.3", "--min-interval", "0.1", "--kafka-timeout", "2")
    first, second = _items("a", 50), _items("b", 3000)  # the reader sends 500 at a time
    feed_server.put("/desk.xml", rss(first, "1"))
    reader = start_ingest(args, log)
    try:
        assert len(read_topic(kafka.bootstrap, topic, expect=len(first))) == len(first)
        _wait_until(lambda: _pending(store) == 0, "the first stories to be marked published",
                    log=log)
        feed_server.put("/desk.xml", rss(first + second, "2"))
        _wait_until(lambda: 0 < _pending(store) < len(second), "publishing to be under way",
                    timeout=60, log=log)
        kafka.kill()  # kill -9, mid-stream
        pending_at_kill = _pending(store)
        wanted = expected_ids(url, rss(first + second))
        print(f"broker killed with {pending_at_kill} of {len(second)} new stories not yet "
              "marked acknowledged")
        assert pending_at_kill > 0
        time.sleep(2)
        kafka.start()  # same port, same data directory
        _wait_until(lambda: _pending(store) == 0, "the rest to be published after the restart",
                    timeout=90, log=log)
        records = read_topic(kafka.bootstrap, topic, expect=len(wanted))
    finally:
        reader.send_signal(signal.SIGTERM)
        reader.wait(30)
    got = {r.story_id for r in records}
    # Everything acknowledged before the kill (the store deleted those outbox rows only after
    # Kafka's acknowledgement) is there after the restart, and so is everything else.
    assert got == wanted, f"lost: {len(wanted - got)}"
    print(f"{len(wanted)} stories, {len(records)} records after the restart "
          f"({len(records) - len(got)} duplicates)")


class AckedPublisher(threading.Thread):
    """Publishes ``rate`` raw stories a second; remembers those Kafka acknowledged."""

    def __init__(self, bootstrap: str, topic: str, rate: int = 40) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.rate = bootstrap, topic, rate
        self.acked: set[bytes] = set()
        self.failed: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        producer = make_producer(self.bootstrap, delivery_timeout_ms=120_000,
                                 reconnect_backoff_max_ms=1000)
        start, i = time.monotonic(), 0
        while not self.done.is_set():
            time.sleep(max(0.0, start + i / self.rate - time.monotonic()))
            key = f"{i:032x}".encode()
            try:
                future = producer.send(self.topic, key=key, value=raw_value(i))
            except KafkaError as exc:  # the buffer is full while the broker is down
                self.failed.append(f"{key!r}: {exc}")
                continue
            future.add_callback(lambda _meta, key=key: self.acked.add(key))
            future.add_errback(lambda exc, key=key: self.failed.append(f"{key!r}: {exc}"))
            i += 1
        producer.flush(timeout=120)
        producer.close()


def _start_enrich(args: list[str], log_path: Path) -> subprocess.Popen:
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "pipeline.enrich", *args], cwd=REPO,
                                stdout=log, stderr=subprocess.STDOUT)


def test_broker_killed_during_a_continuous_enrich(apache_kafka, tmp_path):
    raw, enriched, dead = "news.raw", "news.enriched", "news.deadletter"
    kafka = apache_kafka(topics=(raw, enriched, dead), partitions=2,
                         data_dir=tmp_path / "kafka").start()
    args = ["--bootstrap-servers", kafka.bootstrap, "--input-topic", raw,
            "--output-topic", enriched, "--dead-letter-topic", dead,
            "--consumer-group", "restart-test", "--start-from", "earliest",
            "--runner", "FnApiRunner"]
    publisher = AckedPublisher(kafka.bootstrap, raw)
    publisher.start()
    log = tmp_path / "enrich.log"
    pipeline = _start_enrich(args, log)
    restarts = 0
    try:
        deadline = time.monotonic() + 90
        while len(read_all(kafka.bootstrap, enriched, timeout_s=2)) < 100:
            assert pipeline.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no enriched stories within 90 s"
        enriched_before = {m.key for m in read_all(kafka.bootstrap, enriched, timeout_s=2)}
        acked_before = set(publisher.acked)
        kafka.kill()  # kill -9 while stories are published and enriched
        time.sleep(3)
        kafka.start()
        time.sleep(3)  # stories go on arriving after the restart
        publisher.done.set()
        publisher.join(timeout=150)
        assert not publisher.is_alive()
        deadline = time.monotonic() + 120
        while True:
            if pipeline.poll() is not None:  # it may give up during the outage: restart it,
                restarts += 1                # as its supervisor would; it resumes committed
                pipeline = _start_enrich(args, log)
            out = read_all(kafka.bootstrap, enriched, timeout_s=3)
            if {m.key for m in out} >= publisher.acked or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        pipeline.send_signal(signal.SIGTERM)
        pipeline.wait(30)
    keys = {m.key for m in out}
    raw_keys = {m.key for m in read_all(kafka.bootstrap, raw, timeout_s=3)}
    print(f"{len(publisher.acked)} stories acknowledged ({len(acked_before)} before the kill), "
          f"{len(out)} enriched records, {len(out) - len(keys)} duplicates, "
          f"{restarts} pipeline restart(s), {len(publisher.failed)} sends refused")
    assert acked_before <= raw_keys, "raw stories acknowledged before the kill were lost"
    assert publisher.acked <= raw_keys
    assert enriched_before <= keys, "enriched stories acknowledged before the kill were lost"
    assert publisher.acked <= keys, f"not enriched: {len(publisher.acked - keys)}"
    for message in out:
        assert ENRICHED_STORY.decode(message.value)["story_id"].encode() == message.key
