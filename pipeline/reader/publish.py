"""Move records from the store's outbox to Kafka; a record leaves the outbox only after
Kafka acknowledged it (acks=all).

The publisher runs in its own thread with its own store connection. It sends the oldest
pending records in batches (key = story_id, value = the encoded raw story), waits for the
acknowledgements, and marks the acknowledged ones published. When Kafka cannot be reached
it says so once, keeps the records in the store, retries with a growing pause (up to
``kafka_timeout``), and says so again when Kafka is back. A record can therefore be sent
twice (a crash between the acknowledgement and the store update), never lost.

A record Kafka refuses for good (larger than ``max_record_bytes`` or than the broker takes,
invalid for the broker) would otherwise sit at the head of the outbox forever and hold up
every record behind it: it is parked instead (``Store.park``, with the reason), logged, and
the others go on. When a batch is refused, its records are retried one by one first, so
only the record at fault is parked.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

from kafka.errors import (
    CorruptRecordError,
    InvalidRecordError,
    InvalidTimestampError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)

from pipeline import metrics
from pipeline.kafka_clients import (
    check_bootstrap_servers,
    check_topic_name,
    ensure_topics,
    make_producer,
)
from pipeline.reader.store import OutboxRow, Store

log = logging.getLogger(__name__)

DEFAULT_MAX_RECORD_BYTES = 1_000_000  # under Apache Kafka's default message.max.bytes (1,048,588)
# Errors about the record itself: sending it again cannot help.
_REFUSED_FOR_GOOD = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidRecordError,
                     CorruptRecordError, InvalidTimestampError)


def _refused_for_good(exc: BaseException | None) -> bool:
    return isinstance(exc, _REFUSED_FOR_GOOD)


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"


@dataclass
class PublisherStats:
    published: int = 0
    parked: int = 0
    connected: bool = False
    last_error: str | None = None


class Publisher:
    """Drains the outbox of the store at ``store_path`` into ``topic``.

    ``kafka_timeout`` bounds each wait on Kafka (metadata, one batch's acknowledgements).
    ``max_record_bytes`` is the largest key + value sent; larger records are parked.
    """

    def __init__(
        self,
        store_path: str,
        bootstrap_servers: str,
        topic: str,
        *,
        batch_size: int = 500,
        kafka_timeout: float = 30.0,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size: {batch_size} must be >= 1")
        if kafka_timeout <= 0:
            raise ValueError(f"kafka_timeout: {kafka_timeout} must be > 0 seconds")
        if max_record_bytes < 1024:
            raise ValueError(f"max_record_bytes: {max_record_bytes} must be >= 1024")
        self.store_path = store_path
        self.bootstrap_servers = check_bootstrap_servers(bootstrap_servers)
        self.topic = check_topic_name(topic)
        self.batch_size = batch_size
        self.kafka_timeout = kafka_timeout
        self.max_record_bytes = max_record_bytes
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
            max_request_size=self.max_record_bytes + 4096,  # room for the batch's own headers
            # raw records may carry article pages (up to 500 KB of HTML): gzip (zlib, in C)
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
        sent, refused = [], []
        error: KafkaError | None = None
        for row in rows:
            size = len(row.value) + len(row.story_id)
            if size > self.max_record_bytes:
                reason = (f"record of {size} bytes is larger than the record size limit "
                          f"({self.max_record_bytes} bytes, --max-record-bytes)")
                refused.append((row, reason))
                continue
            try:
                future = self._producer.send(
                    self.topic, key=row.story_id.encode("ascii"), value=row.value
                )
            except KafkaError as exc:  # no metadata within kafka_timeout, buffer full, too large...
                if _refused_for_good(exc):
                    refused.append((row, _reason(exc)))
                    continue
                error = exc
                break
            sent.append((row, future))
        try:
            self._producer.flush(timeout=self.kafka_timeout)
        except KafkaError as exc:  # not everything acknowledged in time: mark what was
            error = error or exc
        acked = [row for row, future in sent if future.succeeded()]
        rejected = [row for row, future in sent if future.failed() and _refused_for_good(future.exception)]
        if len(rejected) == 1 and len(sent) == 1:
            refused.append((rejected[0], _reason(sent[0][1].exception)))
        elif rejected:  # the broker refuses a whole batch for one record: find that record
            self._close_producer(0)
            for row in rejected:
                if self._publish_alone(row, refused):
                    acked.append(row)
        self._record(store, acked, refused)
        failed = len(rows) - len(acked) - len(refused)
        if failed:
            metrics.record_publish_failure(failed)
            first = next((future.exception for _row, future in sent if future.failed()), None)
            raise error or first or KafkaError(
                f"{failed} records not acknowledged within {self.kafka_timeout:g} s"
            )

    def _publish_alone(self, row: OutboxRow, refused: list[tuple[OutboxRow, str]]) -> bool:
        """Send one record on a fresh producer: True when acknowledged; a refusal for good
        is added to ``refused``; anything else raises."""
        self._connect()
        try:
            future = self._producer.send(self.topic, key=row.story_id.encode("ascii"), value=row.value)
            self._producer.flush(timeout=self.kafka_timeout)
        except KafkaError as exc:
            if not _refused_for_good(exc):
                raise
            refused.append((row, _reason(exc)))
            return False
        if future.succeeded():
            return True
        if _refused_for_good(future.exception):
            refused.append((row, _reason(future.exception)))
            self._close_producer(0)  # an idempotent producer may refuse everything after it
            return False
        raise future.exception or KafkaError("record not acknowledged")

    def _record(self, store: Store, acked: list[OutboxRow], refused: list[tuple[OutboxRow, str]]) -> None:
        if acked:
            store.mark_published(acked)
            self.stats.published += len(acked)
            revisions = sum(1 for row in acked if row.revision > 1)
            metrics.record_published("new", len(acked) - revisions)
            metrics.record_published("revision", revisions)
        if refused:
            store.park(refused)
            self.stats.parked += len(refused)
            for row, reason in refused:
                log.error("Kafka refused record %s revision %d for good (%s): parked in the store %s; "
                          "`newswire feeds parked` lists it, `newswire feeds retry` queues it again",
                          row.story_id, row.revision, reason, self.store_path,
                          extra={"story_id": row.story_id, "topic": self.topic})
        metrics.set_outbox_pending(store.pending_count())

    def _fail(self, exc: BaseException, store: Store, pause: float) -> None:
        reason = _reason(exc)
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
