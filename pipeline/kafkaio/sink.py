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
- anything else (timeouts, broker unavailable, authorization): ``finish_bundle`` raises,
  the bundle fails and the runner retries it; nothing of it is committed upstream.
"""

import logging
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

    def _new_producer(self):
        return make_producer(
            self._config.bootstrap_servers,
            **{"linger_ms": LINGER_MS, **self._config.producer_config},
        )

    def _renew_producer(self) -> None:
        # An idempotent kafka-python producer treats a refused batch as fatal and fails every
        # later send (seen with the embedded broker's schema validation): start a new one.
        self._close_producer(timeout_s=0.0)
        self._producer = self._new_producer()

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

    def _flush(self, count: int) -> None:
        try:
            self._producer.flush(timeout=self._config.flush_timeout_s)
        except KafkaTimeoutError as exc:
            self._failures.inc(count)
            raise KafkaWriteError(
                f"{count} records to topic {self._config.topic!r} were not acknowledged "
                f"within flush_timeout_s={self._config.flush_timeout_s} ({exc}); is the broker "
                f"at {self._config.bootstrap_servers} reachable? The bundle will be retried"
            ) from exc

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
            self._flush(1)
            if item.future.failed() and isinstance(item.future.exception, RECORD_ERRORS):
                refused_again.append(item)
                self._renew_producer()
        return refused_again

    def finish_bundle(self) -> Iterator:
        pending, self._pending = self._pending, []
        if not pending:
            return
        self._flush(len(pending))
        refused = [p for p in pending
                   if p.future.failed() and isinstance(p.future.exception, RECORD_ERRORS)]
        refused_again = self._resend_alone(refused) if refused else []
        retry_errors = [p.future.exception for p in pending if p.future.failed()
                        and not isinstance(p.future.exception, RECORD_ERRORS)]
        if retry_errors:
            self._failures.inc(len(retry_errors))
            first = retry_errors[0]
            raise KafkaWriteError(
                f"{len(retry_errors)} of {len(pending)} records to topic {self._config.topic!r} "
                f"failed ({type(first).__name__}: {first}); the bundle will be retried"
            ) from first
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
