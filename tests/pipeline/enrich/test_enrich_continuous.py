"""SLOW (about 25 s): the continuous pipeline in its own process, stopped with SIGTERM and
killed with SIGKILL several times while stories arrive at a steady rate (publishing goes
on until the last stop, so every stop and kill lands mid-stream). Every raw story
must reach the enriched topic and the JSON Lines files (none lost; after dedup by key none
duplicated), and every malformed record the dead-letter topic with its reason.
Runner: FnApiRunner (what the DirectRunner is on this machine)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest
from kafka import TopicPartition
from kafka.errors import KafkaError

from pipeline.kafka_clients import make_consumer, make_producer
from schemas import DEAD_LETTER, ENRICHED_STORY
from tests.pipeline.enrich.support import read_all
from tests.stories import raw_value

REPO = Path(__file__).resolve().parents[3]
RATE = 40  # stories per second
MALFORMED_EVERY = 25


class Publisher(threading.Thread):
    """Publishes RATE stories a second until stopped; every MALFORMED_EVERY-th is not JSON."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic = bootstrap, topic
        self.valid: set[bytes] = set()
        self.malformed: set[bytes] = set()
        self.error: Exception | None = None
        self.done = threading.Event()

    def run(self) -> None:
        producer = make_producer(self.bootstrap)
        try:
            start = time.monotonic()
            i = 0
            while not self.done.is_set():
                time.sleep(max(0.0, start + i / RATE - time.monotonic()))
                if i % MALFORMED_EVERY == MALFORMED_EVERY - 1:
                    key, value = f"bad-{i}".encode(), b'{"truncated": '
                    self.malformed.add(key)
                else:
                    key, value = f"{i:032x}".encode(), raw_value(i)
                    self.valid.add(key)
                producer.send(self.topic, key=key, value=value)
                i += 1
            producer.flush(timeout=30)
        except (KafkaError, OSError) as exc:  # reported by the test
            self.error = exc
        finally:
            producer.close()


def committed(consumer, topic: str) -> list[int]:
    """The consumer's group's committed offset per partition of ``topic`` (0 where none)."""
    partitions = sorted(consumer.partitions_for_topic(topic))
    return [consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions]


def _start(args: list[str], log_path: Path) -> tuple[subprocess.Popen, Path]:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.enrich", *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 60
    while b"enrich: " not in log_path.read_bytes():  # the pipeline is built and starting
        assert proc.poll() is None, log_path.read_text(errors="replace")
        assert time.monotonic() < deadline, "the pipeline did not start within 60 s"
        time.sleep(0.1)
    return proc, log_path


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_continuous_run_loses_nothing_across_stops_and_kills(kafka_bootstrap, topic_factory, tmp_path):
    raw, enriched, dead = topic_factory("raw", partitions=2), topic_factory("enriched"), topic_factory("dead")
    files = tmp_path / "files"
    args = [
        "--bootstrap-servers", kafka_bootstrap, "--input-topic", raw, "--output-topic", enriched,
        "--dead-letter-topic", dead, "--consumer-group", f"group-{raw}", "--runner", "FnApiRunner",
        "--output-path", str(files), "--output-roll-seconds", "2",
    ]
    publisher = Publisher(kafka_bootstrap, raw)
    publisher.start()
    # Each run goes on until it has committed offsets beyond the previous run's (so every
    # restart resumes), then a little longer, and is stopped mid-stream: SIGTERM or SIGKILL.
    group = make_consumer(kafka_bootstrap, group_id=f"group-{raw}")
    resumed_at = [[0, 0]]
    for run, stop in enumerate([signal.SIGTERM, signal.SIGKILL, signal.SIGTERM, signal.SIGKILL]):
        proc, log = _start(args, tmp_path / f"run-{run}.log")
        deadline = time.monotonic() + 60
        while sum(committed(group, raw)) <= sum(resumed_at[-1]):
            assert time.monotonic() < deadline, f"run {run} committed nothing in 60 s"
            time.sleep(0.2)
        time.sleep(0.3)
        assert publisher.is_alive()
        proc.send_signal(stop)
        status = proc.wait(timeout=30)
        assert status == (0 if stop == signal.SIGTERM else -signal.SIGKILL), log.read_text(errors="replace")
        resumed_at.append(committed(group, raw))
    group.close()
    publisher.done.set()
    publisher.join(timeout=30)
    assert publisher.error is None and not publisher.is_alive()
    print(f"committed offsets after each stop: {resumed_at[1:]}")

    proc, log = _start(args, tmp_path / "run-final.log")
    try:
        deadline = time.monotonic() + 60
        while True:
            out = read_all(kafka_bootstrap, enriched, timeout_s=5)
            if {m.key for m in out} >= publisher.valid or time.monotonic() > deadline:
                break
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, log.read_text(errors="replace")

    keys = [m.key for m in out]
    assert set(keys) == publisher.valid, f"lost: {len(publisher.valid - set(keys))} stories"
    for message in out:
        record = ENRICHED_STORY.decode(message.value)
        assert record["story_id"].encode() == message.key
    print(f"{len(publisher.valid)} stories, {len(keys)} enriched records "
          f"({len(keys) - len(set(keys))} redelivered after restarts, removed by key-dedup)")

    letters = read_all(kafka_bootstrap, dead, expect=len(publisher.malformed))
    assert {m.key for m in letters} == publisher.malformed
    assert all(DEAD_LETTER.decode(m.value)["reason"].startswith("not valid JSON") for m in letters)

    assert not list(files.glob(".*")), "in-progress files left after the final SIGTERM"
    stories = {orjson.loads(line)["story_id"].encode()
               for path in files.glob("*.jsonl") for line in path.read_bytes().splitlines()}
    assert stories == publisher.valid
