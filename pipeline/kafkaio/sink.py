"""WriteToKafka: a pure-Python Kafka sink for Beam.

One kafka-python producer per DoFn instance (created in ``setup``, closed in ``teardown``);
``process`` hands each record to it (asynchronous, batched); ``finish_bundle`` flushes
and waits for every acknowledgement. A bundle is finished only when Kafka acknowledged all
of its records, so a source that commits its offsets after the bundle (``ReadFromKafka``)
never commits a record whose output was lost.

Failures are sorted by whether retrying can help:
- the record itself is unacceptable (too large, refused by broker-side validation, bad
  timestamp): it goes to the ``failed`` output as a KafkaSendFailure, for a dead-letter
  topic; the bundle still succeeds. Kafka refuses a whole batch for one bad record, so
  refused records are first sent again one by one (with a new producer: a refusal makes an
  idempotent kafka-python producer fail everything after it); only those refused alone
  are reported;
- anything else (no acknowledgement in time, a broker that stalls, restarts or lost the
  producer's id): ``finish_bundle`` waits it out. It keeps flushing; records that failed
  are sent again with a new producer after a back-off (up to 30 s between tries); each
  wait is logged with how long it has lasted and counted (``kafkaio/send_stalls/<topic>``).
  Failing the bundle instead would end the pipeline on runners that do not retry bundles
  (the FnApiRunner) and gain nothing on those that do: the records must reach Kafka before
  the source may commit. ``give_up_after_s`` (0: never) bounds the wait for bounded jobs
  that should fail rather than wait; then ``KafkaWriteError`` fails the bundle.
"""

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue
from kafka.errors import (
    InvalidRecordError,
    InvalidTimestampError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
)

from pipeline.kafka_clients import make_producer
from pipeline.kafkaio.config import (
    KafkaDelivery,
    KafkaSendFailure,
    KafkaWriteConfig,
    ProducerRecord,
)

log = logging.getLogger(__name__)

DELIVERED = "delivered"
FAILED = "failed"
METRICS_NAMESPACE = "kafkaio"

# The sink's producer waits this long for a batch to fill before sending it (unless set in
# producer_config). finish_bundle flushes whatever is left, so waiting adds no latency past a
# bundle's end; it only keeps the producer from sending mid-bundle every few records. With
# the project's 5 ms, kafka-python's network thread sent a request every few stories and took
# the GIL from the pipeline's thread each time: the bounded pipeline ran ~30% faster with
# batches sent full (benchmarks/enrich_bench.py).
LINGER_MS = 1_000

# Errors that condemn the record, not the attempt: retrying the bundle would fail again.
RECORD_ERRORS = (MessageSizeTooLargeError, InvalidRecordError, InvalidTimestampError)
MAX_BACKOFF_S = 30.0


class KafkaWriteError(RuntimeError):
    """Kafka did not acknowledge records of a bundle; the bundle fails and is retried."""


def _check_bytes(name: str, value: Any, element: Any) -> None:
    if value is not None and not isinstance(value, bytes):
        raise TypeError(
            f"WriteToKafka: {name} must be bytes or None, got {type(value).__name__} in element "
            f"{element!r:.200}; encode it before the sink"
        )


def unpack_element(element: Any) -> tuple[bytes | None, bytes | None, tuple]:
    """(key, value) or (key, value, headers) → (key, value, headers); TypeError otherwise.

    A wrongly shaped element is a bug in the pipeline, not bad data, so it fails loudly.
    """
    if not isinstance(element, (tuple, list)) or len(element) not in (2, 3):
        raise TypeError(
            "WriteToKafka: elements must be (key, value) or (key, value, headers) tuples, got "
            f"{type(element).__name__} {element!r:.200}"
        )
    key, value = element[0], element[1]
    headers: Iterable = element[2] if len(element) == 3 else ()
    _check_bytes("key", key, element)
    _check_bytes("value", value, element)
    headers = tuple(headers or ())
    for header in headers:
        if (
            not isinstance(header, (tuple, list)) or len(header) != 2
            or not isinstance(header[0], str) or not isinstance(header[1], (bytes, type(None)))
        ):
            raise TypeError(
                f"WriteToKafka: headers must be (str, bytes) pairs, got {header!r:.200} in "
                f"element {element!r:.200}"
            )
    return key, value, headers


class _Pending:
    """A record handed to the producer, with what its outputs need."""

    __slots__ = ("future", "headers", "key", "timestamp", "value", "window")

    def __init__(self, future, key, value, headers, timestamp, window) -> None:
        self.future, self.key, self.value, self.headers = future, key, value, headers
        self.timestamp, self.window = timestamp, window


class _WriteFn(beam.DoFn):
    def __init__(self, config: KafkaWriteConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._producer = self._new_producer()
        self._pending: list[_Pending] = []
        topic = self._config.topic
        self._sent = Metrics.counter(METRICS_NAMESPACE, f"records_written/{topic}")
        self._bytes = Metrics.counter(METRICS_NAMESPACE, f"bytes_written/{topic}")
        self._failures = Metrics.counter(METRICS_NAMESPACE, f"send_failures/{topic}")
        self._rejected = Metrics.counter(METRICS_NAMESPACE, f"records_rejected/{topic}")
        self._stalls = Metrics.counter(METRICS_NAMESPACE, f"send_stalls/{topic}")

    def _new_producer(self, **settings):
        return make_producer(
            self._config.bootstrap_servers,
            **{"linger_ms": LINGER_MS, **self._config.producer_config, **settings},
        )

    def _renew_producer(self) -> None:
        # An idempotent kafka-python producer treats a refused batch as fatal and fails every
        # later send (seen with the embedded broker's schema validation), and a restarted
        # broker no longer knows its producer id: start a new one. It is made before the old
        # one is closed, with the broker version the old one found (so it need not ask the
        # broker first): making one right after force-closing another was seen to hang in
        # kafka-python 3.0.12's bootstrap, past its own timeout.
        old = self._producer
        version = old.config.get("api_version") if old is not None else None
        self._producer = self._new_producer(**({"api_version": version} if version else {}))
        if old is not None:
            self._producer, new = old, self._producer
            self._close_producer(timeout_s=0.0)
            self._producer = new

    def start_bundle(self) -> None:
        self._pending = []

    def process(
        self,
        element: ProducerRecord,
        timestamp=beam.DoFn.TimestampParam,
        window=beam.DoFn.WindowParam,
    ) -> Iterator[KafkaDelivery]:
        key, value, headers = unpack_element(element)
        try:
            future = self._send(key, value, headers)
        except RECORD_ERRORS as exc:  # refused before sending, e.g. larger than allowed
            self._rejected.inc()
            yield beam.pvalue.TaggedOutput(FAILED, self._failure(key, value, headers, exc))
            return
        self._pending.append(_Pending(future, key, value, headers, timestamp, window))

    def _send(self, key, value, headers):
        return self._producer.send(self._config.topic, key=key, value=value, headers=list(headers))

    def _deliver(self, pending: list[_Pending]) -> None:
        """Return once every record of ``pending`` was acknowledged or refused for good.

        Waits out a broker that does not answer (flushing again) and sends records that
        failed again with a new producer (a broker restart makes an idempotent producer's
        id unknown to it), backing off, logging and counting each wait. Raises
        KafkaWriteError only once ``give_up_after_s`` (if set) has passed.
        """
        started = time.monotonic()
        backoff = 1.0
        resend: list[_Pending] = []
        while True:
            if resend:
                try:
                    self._renew_producer()  # unfinished records of the old one go with it
                    for item in resend:
                        item.future = self._send(item.key, item.value, item.headers)
                    resend = []
                except KafkaError as exc:  # the broker is still away: wait again
                    cause = f"no producer could connect: {type(exc).__name__}: {exc}"
                    resend = [p for p in pending if not p.future.succeeded() and not (
                        p.future.failed() and isinstance(p.future.exception, RECORD_ERRORS))]
                    self._stalled(resend, started, cause, backoff)
                    time.sleep(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
            try:
                self._producer.flush(timeout=self._config.flush_timeout_s)
            except KafkaTimeoutError:
                pass  # some records not acknowledged yet: looked at below
            waiting = [p for p in pending if not p.future.is_done]
            failed = [p for p in pending if p.future.failed()
                      and not isinstance(p.future.exception, RECORD_ERRORS)]
            if not waiting and not failed:
                if time.monotonic() - started > self._config.flush_timeout_s:
                    log.warning("Kafka acknowledged the %d records for topic %r after a stall "
                                "of %.0f s", len(pending), self._config.topic,
                                time.monotonic() - started)
                return
            if not failed:
                cause = f"no acknowledgement within {self._config.flush_timeout_s} s"
                self._stalled(waiting, started, cause, None)
                continue
            first = failed[0].future.exception
            resend = failed + waiting
            self._stalled(resend, started, f"{type(first).__name__}: {first}", backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _stalled(self, records: list[_Pending], started: float, cause: str,
                 retry_in: float | None) -> None:
        """Log and count a wait for Kafka; KafkaWriteError once give_up_after_s has passed."""
        self._stalls.inc()
        waited = time.monotonic() - started
        give_up = self._config.give_up_after_s
        if give_up and waited >= give_up:
            self._failures.inc(len(records))
            raise KafkaWriteError(
                f"{len(records)} records to topic {self._config.topic!r} were not acknowledged "
                f"within give_up_after_s={give_up} ({cause}); is the broker at "
                f"{self._config.bootstrap_servers} up?"
            )
        if retry_in is None:
            log.warning(
                "Kafka at %s has not acknowledged %d records for topic %r for %.0f s (%s); "
                "waiting (the source commits nothing of them until it does)",
                self._config.bootstrap_servers, len(records), self._config.topic, waited, cause,
            )
        else:
            log.warning(
                "%d records for topic %r not acknowledged after %.0f s (%s); sending them again "
                "with a new producer in %.0f s", len(records), self._config.topic, waited, cause,
                retry_in,
            )

    def _failure(self, key, value, headers, exc: BaseException) -> KafkaSendFailure:
        log.warning(
            "Kafka refused a record for topic %r (key %r): %s: %s", self._config.topic,
            key[:80] if key else key, type(exc).__name__, exc,
        )
        return KafkaSendFailure(
            self._config.topic, key, value, headers, type(exc).__name__,
            f"Kafka refused the record for topic {self._config.topic!r}: {exc}",
        )

    def _resend_alone(self, refused: list[_Pending]) -> list[_Pending]:
        """Send each refused record again, alone, with a new producer.

        Kafka refuses a whole batch for one bad record, and the refusal poisons an idempotent
        producer for the records sent after it; alone, a record is refused only for itself.
        Returns the records refused again (the others are acknowledged now).
        """
        refused_again = []
        self._renew_producer()
        for item in refused:
            item.future = self._send(item.key, item.value, item.headers)
            self._deliver([item])
            if item.future.failed() and isinstance(item.future.exception, RECORD_ERRORS):
                refused_again.append(item)
                self._renew_producer()
        return refused_again

    def finish_bundle(self) -> Iterator:
        pending, self._pending = self._pending, []
        if not pending:
            return
        self._deliver(pending)
        refused = [p for p in pending
                   if p.future.failed() and isinstance(p.future.exception, RECORD_ERRORS)]
        refused_again = self._resend_alone(refused) if refused else []
        outputs = []
        size = delivered = 0
        for item in pending:
            if item.future.succeeded():
                meta = item.future.value
                delivered += 1
                size += len(item.value or b"") + len(item.key or b"")
                outputs.append(WindowedValue(
                    KafkaDelivery(meta.topic, meta.partition, meta.offset, meta.timestamp,
                                  item.key),
                    item.timestamp, (item.window,),
                ))
        for item in refused_again:
            outputs.append(beam.pvalue.TaggedOutput(FAILED, WindowedValue(
                self._failure(item.key, item.value, item.headers, item.future.exception),
                item.timestamp, (item.window,),
            )))
        self._rejected.inc(len(refused_again))
        self._sent.inc(delivered)
        self._bytes.inc(size)
        yield from outputs

    def _close_producer(self, timeout_s: float) -> None:
        producer, self._producer = getattr(self, "_producer", None), None
        if producer is not None:
            try:
                producer.close(timeout=timeout_s)
            except KafkaError as exc:
                log.warning("closing the producer for topic %r failed: %s", self._config.topic, exc)

    def teardown(self) -> None:
        self._close_producer(timeout_s=self._config.flush_timeout_s)


class WriteToKafka(beam.PTransform):
    """Write (key, value) or (key, value, headers) elements to a Kafka topic.

    Keys and values are bytes (or None); headers are (str, bytes) pairs. Returns a
    ``DoOutputsTuple`` with two PCollections:

    - ``.delivered``: a KafkaDelivery (topic, partition, offset, timestamp) per record Kafka
      acknowledged, emitted once the bundle is flushed, in the input's window and timestamp;
    - ``.failed``: a KafkaSendFailure per record Kafka refused for good (route it to a
      dead-letter topic). Retriable failures fail the bundle instead.
    """

    def __init__(self, config: KafkaWriteConfig) -> None:
        super().__init__()
        if not isinstance(config, KafkaWriteConfig):
            raise TypeError(f"config: expected a KafkaWriteConfig, got {type(config).__name__}")
        self.config = config

    def expand(self, pcoll: beam.PCollection):
        return pcoll | "Produce" >> beam.ParDo(_WriteFn(self.config)).with_outputs(
            FAILED, main=DELIVERED
        )
