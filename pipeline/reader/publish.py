"""Move records from the store's outbox to Kafka; a record leaves the outbox only after
Kafka acknowledged it (acks=all).

The publisher runs in its own thread with its own store connection. It sends the oldest
pending records in batches (key = story_id, value = the encoded raw story), waits for the
acknowledgements, and marks the acknowledged ones published. When Kafka cannot be reached
it says so once, keeps the records in the store, retries with a growing pause (up to
``kafka_timeout``), and says so again when Kafka is back. A record can therefore be sent
twice (a crash between the acknowledgement and the store update), never lost.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

from kafka.errors import KafkaError

from pipeline import metrics
from pipeline.kafka_clients import (
    check_bootstrap_servers,
    check_topic_name,
    ensure_topics,
    make_producer,
)
from pipeline.reader.store import OutboxRow, Store

log = logging.getLogger(__name__)


@dataclass
class PublisherStats:
    published: int = 0
    connected: bool = False
    last_error: str | None = None


class Publisher:
    """Drains the outbox of the store at ``store_path`` into ``topic``.

    ``kafka_timeout`` bounds each wait on Kafka (metadata, one batch's acknowledgements).
    """

    def __init__(
        self,
        store_path: str,
        bootstrap_servers: str,
        topic: str,
        *,
        batch_size: int = 500,
        kafka_timeout: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size: {batch_size} must be >= 1")
        if kafka_timeout <= 0:
            raise ValueError(f"kafka_timeout: {kafka_timeout} must be > 0 seconds")
        self.store_path = store_path
        self.bootstrap_servers = check_bootstrap_servers(bootstrap_servers)
        self.topic = check_topic_name(topic)
        self.batch_size = batch_size
        self.kafka_timeout = kafka_timeout
        self.stats = PublisherStats()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._drained = threading.Condition()
        self._thread: threading.Thread | None = None
        self._producer = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Publisher:
        self._thread = threading.Thread(target=self._run, name="newswire-publisher", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """New records are in the outbox."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_drained(self, timeout: float) -> bool:
        """Block until the outbox is empty (True) or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        with Store(self.store_path) as store:
            while store.pending_count():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wake.set()
                with self._drained:
                    self._drained.wait(min(remaining, 0.5))
        return True

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        pause = 0.5
        with Store(self.store_path) as store:
            while not self._stop.is_set():
                try:
                    rows = store.pending(self.batch_size)
                    if not rows:
                        with self._drained:
                            self._drained.notify_all()
                        self._wake.wait(1.0)
                        self._wake.clear()
                        continue
                    self._publish(store, rows)
                    pause = 0.5
                    continue
                except (KafkaError, OSError) as exc:
                    self._fail(exc, store, pause)
                except sqlite3.Error as exc:  # disk full, locked too long: the records stay put
                    log.error("the store %s failed (%s); retrying in %.1f s", self.store_path, exc, pause)
                self._stop.wait(pause)
                pause = min(pause * 2, self.kafka_timeout)
            self._close_producer(self.kafka_timeout)

    def _connect(self) -> None:
        timeout_ms = int(self.kafka_timeout * 1000)
        # The producer first: its bootstrap is bounded by kafka_timeout, the admin client's
        # (inside ensure_topics) is not, and is quick once a broker answered.
        producer = make_producer(
            self.bootstrap_servers,
            bootstrap_timeout_ms=timeout_ms,
            max_block_ms=timeout_ms,
            request_timeout_ms=min(timeout_ms, 10_000),
            delivery_timeout_ms=max(timeout_ms, 11_000),
            reconnect_backoff_max_ms=2_000,
            # raw records may carry article pages (up to 700 KiB of HTML): gzip (zlib, in C)
            # shrinks them several times on the wire and on the broker's disk
            compression_type="gzip",
        )
        try:
            ensure_topics(self.bootstrap_servers, [self.topic])
        except BaseException:
            producer.close(timeout=0)
            raise
        self._producer = producer
        if not self.stats.connected:
            if self.stats.last_error:
                log.warning("Kafka at %s is reachable again: publishing resumes", self.bootstrap_servers)
            self.stats.connected = True
            self.stats.last_error = None

    def _publish(self, store: Store, rows: list[OutboxRow]) -> None:
        if self._producer is None:
            self._connect()
        sent = []
        error: KafkaError | None = None
        for row in rows:
            try:
                future = self._producer.send(
                    self.topic, key=row.story_id.encode("ascii"), value=row.value
                )
            except KafkaError as exc:  # no metadata within kafka_timeout, buffer full, ...
                error = exc
                break
            sent.append((row, future))
        try:
            self._producer.flush(timeout=self.kafka_timeout)
        except KafkaError as exc:  # not everything acknowledged in time: mark what was
            error = error or exc
        acked = [row for row, future in sent if future.succeeded()]
        if acked:
            store.mark_published(acked)
            self.stats.published += len(acked)
            revisions = sum(1 for row in acked if row.revision > 1)
            metrics.record_published("new", len(acked) - revisions)
            metrics.record_published("revision", revisions)
        metrics.set_outbox_pending(store.pending_count())
        if len(acked) < len(rows):
            metrics.record_publish_failure(len(rows) - len(acked))
            failed = next((future.exception for _row, future in sent if future.failed()), None)
            raise error or failed or KafkaError(
                f"{len(rows) - len(acked)} records not acknowledged within {self.kafka_timeout:g} s"
            )

    def _fail(self, exc: BaseException, store: Store, pause: float) -> None:
        text = str(exc)
        reason = text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"
        waiting = store.pending_count()
        if self.stats.connected or self.stats.last_error is None:
            log.error(
                "Kafka at %s unavailable (%s): %d records wait in the store %s; retrying "
                "(polling goes on until the outbox limit is reached)",
                self.bootstrap_servers, reason, waiting, self.store_path,
            )
        else:
            log.info("Kafka still unavailable (%s); %d records waiting; next try in %.1f s",
                     reason, waiting, pause)
        self.stats.connected = False
        self.stats.last_error = reason
        # A fresh producer after a failure: the old one's buffered batches are dropped
        # (they are still in the outbox) instead of piling up beside the retried ones.
        self._close_producer(0)

    def _close_producer(self, timeout: float) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=timeout)
            except KafkaError as exc:
                log.debug("closing the Kafka producer: %s", exc)
