"""Test harness for the reader end to end: serve the fixture feeds, run `newswire ingest`
(in this process or as a subprocess that can be killed), read the topic back with an
independent client (confluent-kafka / librdkafka)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from pipeline.commands import ingest
from pipeline.reader.parse import parse_feed
from schemas import RAW_STORY
from tests.peak import measured, peak_mb
from tests.pipeline.reader.feedfixtures import FeedFixture, all_fixtures
from tests.pipeline.reader.feedserver import FeedServer

REPO = Path(__file__).parents[3]


@dataclass(frozen=True)
class Published:
    story_id: str
    revision: int
    title: str | None
    feed_url: str


def serve_fixtures(server: FeedServer) -> dict[str, FeedFixture]:
    """Serve every fixture at /fixtures/NAME; returns {url: fixture}."""
    served = {}
    for fixture in all_fixtures():
        path = f"/fixtures/{fixture.name}"
        server.put(path, fixture.body, content_type=fixture.headers["Content-Type"])
        served[server.url(path)] = fixture
    return served


def expected_ids(url: str, body: bytes) -> set[str]:
    """The story ids the reader must publish for the document ``body`` listed as ``url``."""
    parsed = parse_feed(body, feed_url=url, fetched_at=datetime.now(timezone.utc))
    return {entry.story_id for entry in parsed.entries}


def write_feed_list(directory: Path, urls: list[str]) -> Path:
    path = directory / "feeds.txt"
    path.write_text("# test feeds\n" + "\n".join(urls) + "\n", "utf-8")
    return path


def ingest_args(feeds: Path, store: Path, bootstrap: str, topic: str, *extra: str) -> list[str]:
    return ["--feeds", str(feeds), "--store", str(store), "--bootstrap-servers", bootstrap,
            "--topic", topic, "--allow-private-addresses", "--read-timeout", "2",
            "--kafka-timeout", "5", "--fetch-articles", "never", *extra]  # a later one wins


def run_ingest(argv: list[str]) -> int:
    """`newswire ingest ARGV` in this process; returns its exit status."""
    parser = argparse.ArgumentParser(prog="newswire ingest")
    ingest.configure(parser)
    return ingest.main(parser.parse_args(argv))


# A `newswire ingest` subprocess. With NEWSWIRE_TEST_KILL_AFTER_ACK=1 it kills itself (SIGKILL)
# at the first moment Kafka has acknowledged a batch and the store was not yet updated: the
# fault is injected around the real Store.mark_published, nothing else changes.
_SUBPROCESS = """
import os, signal, sys, logging
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
if os.environ.get("NEWSWIRE_TEST_KILL_AFTER_ACK"):
    from pipeline.reader import store
    def killed(self, rows):
        print(f"KILLED after ack of {len(list(rows))} records", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    store.Store.mark_published = killed
from tests.pipeline.reader.harness import run_ingest
sys.exit(run_ingest(sys.argv[1:]))
"""


def start_ingest(argv: list[str], log_path: Path, kill_after_ack: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if kill_after_ack:
        env["NEWSWIRE_TEST_KILL_AFTER_ACK"] = "1"
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-c", _SUBPROCESS, *argv], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def read_records(bootstrap: str, topic: str, *, expect: int = 0, settle: float = 1.5,
                 timeout: float = 30.0) -> list[dict]:
    """Every record of ``topic`` (decoded raw stories), read with confluent-kafka from the
    beginning: at least ``expect`` records, then until nothing new arrived for ``settle``
    seconds (so duplicates show). End offsets are not used: the embedded broker reports the
    high watermark as the last batch's base offset + 1, short of the truth when that batch
    held several records."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex}",
        "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 100,
    })
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = time.monotonic() + timeout
        last_new = time.monotonic()
        records: list[dict] = []
        while time.monotonic() < deadline:
            if len(records) >= expect and time.monotonic() - last_new >= settle:
                break
            message = consumer.poll(0.1)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            value = RAW_STORY.decode(message.value())
            assert message.key() == value["story_id"].encode()
            records.append(value)
            last_new = time.monotonic()
        return records
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, **kwargs) -> list[Published]:
    """``read_records`` as (story_id, revision, title, feed_url)."""
    return [Published(value["story_id"], value["revision"], value["title"],
                      value["source"]["feed_url"])
            for value in read_records(bootstrap, topic, **kwargs)]


def counts(records: list[Published]) -> Counter:
    return Counter((record.story_id, record.revision) for record in records)


@dataclass(frozen=True)
class IngestRun:
    status: int
    peak_rss_mb: float  # peak resident memory of the `newswire ingest` process
    output: str




def run_ingest_measured(argv: list[str], *, timeout: float = 120.0, log_level: str = "INFO") -> IngestRun:
    """Run the real `newswire ingest ARGV` command in a subprocess: its exit status, its
    peak RSS and its output (stdout and stderr)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = measured("pipeline.cli", "--log-level", log_level, "ingest", *argv)
    try:
        done = subprocess.run(command, check=False, cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        output = (exc.output or b"").decode(errors="replace")
        raise AssertionError(f"newswire ingest did not exit within {timeout:g} s:\n{output[-3000:]}") from None
    output = done.stdout.decode(errors="replace")
    return IngestRun(done.returncode, peak_mb(output), output)
