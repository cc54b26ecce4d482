"""No entry is lost when the reader is killed (SIGKILL) right after Kafka acknowledged a batch,
nor across broker outages, whether the reader rides them out or is killed during one.

What these tests can prove, and what not: each broker here starts empty (the embedded one keeps
data in memory only; on Apache Kafka each start gets a new data directory), so each broker's
records are counted (with confluent-kafka) while it is up, before it is stopped. That proves the reader's side: whatever Kafka did not acknowledge stays in the store
and reaches the next broker, with or without a restart of the reader. That acknowledged
records survive a broker kill -9 is shown on Apache Kafka in tests/pipeline/test_broker_restart.py."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from pipeline.broker import free_port
from tests.conftest import make_test_broker
from tests.pipeline.reader.harness import (
    counts,
    expected_ids,
    ingest_args,
    read_topic,
    run_ingest,
    start_ingest,
    write_feed_list,
)
from tests.pipeline.reader.test_reader import rss


def _pending(store: Path) -> int:
    with sqlite3.connect(store, timeout=30) as db:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


def _wait_until(condition, what: str, timeout: float = 30.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def _items(prefix: str, n: int) -> list[tuple[str, str]]:
    return [(f"{prefix}-{i}", f"Story {prefix} {i}") for i in range(n)]


def test_killed_between_kafka_ack_and_store_update(feed_server, kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("raw")
    body = rss(_items("k", 30))
    feed_server.put("/desk.xml", body)
    url = feed_server.url("/desk.xml")
    wanted = expected_ids(url, body)
    store = tmp_path / "reader.sqlite3"
    args = ingest_args(write_feed_list(tmp_path, [url]), store, kafka_bootstrap, topic, "--once")

    log = tmp_path / "killed.log"
    process = start_ingest(args, log, kill_after_ack=True)
    assert process.wait(60) == -signal.SIGKILL, log.read_text()
    assert "KILLED after ack of 30 records" in log.read_text()
    assert {r.story_id for r in read_topic(kafka_bootstrap, topic, expect=30)} == wanted  # Kafka has them...
    assert _pending(store) == 30  # ...the store does not know: they are sent again

    assert run_ingest(args) == 0
    assert _pending(store) == 0
    assert run_ingest(args) == 0  # and nothing more after that
    records = read_topic(kafka_bootstrap, topic, expect=60)
    assert {r.story_id for r in records} == wanted
    assert set(counts(records).values()) == {2}  # duplicates (same key, same revision), no loss


@pytest.mark.slow
@pytest.mark.kafka  # the session's engine (tests/conftest.py)
def test_broker_outages_lose_nothing(feed_server, tmp_path):
    topic = "news.raw"
    port = free_port()
    url = feed_server.url("/desk.xml")
    store = tmp_path / "reader.sqlite3"
    log = tmp_path / "reader.log"
    args = ingest_args(write_feed_list(tmp_path, [url]), store, f"127.0.0.1:{port}", topic,
                       "--interval", "0.3", "--min-interval", "0.1", "--kafka-timeout", "2")
    batches = [_items("a", 5), _items("b", 7), _items("c", 6)]
    ids = []
    served: list[tuple[str, str]] = []
    for batch in batches:
        before = expected_ids(url, rss(served)) if served else set()
        served = served + batch
        ids.append(expected_ids(url, rss(served)) - before)

    def serve(upto: int) -> None:
        feed_server.put("/desk.xml", rss([item for batch in batches[:upto] for item in batch], str(upto)))

    serve(1)
    broker = make_test_broker(port=port, topics=(topic,)).start()
    reader = start_ingest(args, log)
    try:
        # 1. broker up: the first entries arrive
        assert {r.story_id for r in read_topic(broker.bootstrap, topic, expect=5)} == ids[0]
        _wait_until(lambda: _pending(store) == 0, "the first entries to be marked published", log=log)
        broker.stop()
        # 2. outage, the reader keeps running: new entries are polled and kept in the store
        serve(2)
        _wait_until(lambda: _pending(store) == 7, "the outage's entries in the store", log=log)
        _wait_until(lambda: "unavailable" in log.read_text(), "the reader to report the outage", log=log)
        broker = make_test_broker(port=port, topics=(topic,)).start()
        # ...and resumes by itself when a broker is back
        records = read_topic(broker.bootstrap, topic, expect=7)
        assert {r.story_id for r in records} == ids[1] and len(records) == 7
        _wait_until(lambda: _pending(store) == 0, "publishing to resume", log=log)
        assert "publishing resumes" in log.read_text()
        broker.stop()
        # 3. another outage, and the reader is killed during it
        serve(3)
        _wait_until(lambda: _pending(store) == 6, "the second outage's entries in the store", log=log)
        reader.send_signal(signal.SIGKILL)
        reader.wait(10)
        broker = make_test_broker(port=port, topics=(topic,)).start()
        assert run_ingest([*args, "--once"]) == 0
        records = read_topic(broker.bootstrap, topic, expect=6)
        assert {r.story_id for r in records} == ids[2] and len(records) == 6
    finally:
        reader.kill()
        reader.wait(10)
        broker.stop()
