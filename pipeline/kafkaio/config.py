"""What the Kafka IO reads and writes, and how it is configured: plain, validated data.

Configurations are frozen dataclasses checked when they are built, so a typo fails at
pipeline construction with a message naming the option, not on a worker an hour later.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from kafka import KafkaConsumer, KafkaProducer

from pipeline.kafka_clients import check_bootstrap_servers, check_topic_name, client_security
from schemas.timefmt import parse_rfc3339

# No `from __future__ import annotations` here: Beam reads these NamedTuple hints at runtime.


class KafkaRecord(NamedTuple):
    """One record read from Kafka, with where it came from."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int  # CreateTime or LogAppendTime as the broker gave it; -1 if none
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


# What WriteToKafka takes: (key, value) or (key, value, headers), headers (name, value) pairs.
ProducerRecord = (
    tuple[bytes | None, bytes | None]
    | tuple[bytes | None, bytes | None, Iterable[tuple[str, bytes | None]]]
)


class KafkaDelivery(NamedTuple):
    """Where Kafka stored a record written by ``WriteToKafka`` (after its acknowledgement)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None


class KafkaSendFailure(NamedTuple):
    """A record Kafka refused for good (retrying cannot help), with the reason.

    ``WriteToKafka`` routes these to its ``failed`` output instead of failing the bundle, so
    a pipeline can dead-letter them; errors that a retry may cure fail the bundle instead.
    """

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    error_type: str
    reason: str


START_EARLIEST = "earliest"
START_LATEST = "latest"
START_COMMITTED = "committed"
_START_NAMES = (START_EARLIEST, START_LATEST, START_COMMITTED)
# What a reader does when its offset is no longer in the partition's log (Kafka's
# auto.offset.reset): go to the earliest or the latest offset, or fail ("none").
RESET_EARLIEST = "earliest"
RESET_LATEST = "latest"
RESET_NONE = "none"
_RESET_POLICIES = (RESET_EARLIEST, RESET_LATEST, RESET_NONE)
EVENT_TIME_RECORD = "record"
EVENT_TIME_PROCESSING = "processing"
_EVENT_TIMES = (EVENT_TIME_RECORD, EVENT_TIME_PROCESSING)

# Consumer settings the reader owns; setting them through consumer_config would break it.
_READER_OWNED_CONSUMER_KEYS = {
    "bootstrap_servers": "set bootstrap_servers instead",
    "group_id": "set consumer_group instead",
    "enable_auto_commit": "offsets are committed after the outputs are durable (commit_offsets)",
    "max_poll_records": "set max_poll_records instead",
    "key_deserializer": "keys are delivered as bytes; decode them downstream",
    "value_deserializer": "values are delivered as bytes; decode them downstream",
    "consumer_timeout_ms": "the reader paces itself with poll_timeout_ms",
    "auto_offset_reset": "set offset_reset instead (the reader applies it, logs and counts it)",
}
_WRITER_OWNED_PRODUCER_KEYS = {
    "bootstrap_servers": "set bootstrap_servers instead",
    "key_serializer": "the writer takes keys as bytes; encode them upstream",
    "value_serializer": "the writer takes values as bytes; encode them upstream",
    "transactional_id": "transactions are not supported by this writer",
}


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}: {value!r} must be an integer from {low} to {high}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: {value!r} must be True or False")


def _check_client_config(
    name: str, config: Any, known: Mapping[str, Any], owned: Mapping[str, str], client: str
) -> Mapping[str, Any]:
    """The settings, checked, over the process's security settings (``newswire
    --kafka-config`` / NEWSWIRE_KAFKA_*): they become part of the config, so they travel
    with it to remote workers (secrets as ``Secret``, files as ``ShippedFile``: see
    pipeline/kafka_security.py)."""
    if not isinstance(config, Mapping):
        raise TypeError(f"{name}: expected a mapping of kafka-python {client} settings, "
                         f"got {type(config).__name__}")
    config = {**client_security(), **config}
    unknown = sorted(key for key in config if key not in known)
    if unknown:
        raise ValueError(
            f"{name}: unknown kafka-python {client} setting(s) {unknown}; accepted keys are "
            f"those of {client}.DEFAULT_CONFIG (snake_case, e.g. 'fetch_max_wait_ms')"
        )
    for key in sorted(config):
        if key in owned:
            raise ValueError(f"{name}: {key!r} cannot be set here: {owned[key]}")
    return MappingProxyType(dict(config))


def parse_start_timestamp_ms(start_from: str | int) -> int | None:
    """Epoch milliseconds of a timestamp ``start_from``; None for earliest/latest/committed.

    Accepts an RFC 3339 timestamp (``2023-10-17T08:00:00Z``) or epoch milliseconds (an int
    or a string of digits). Raises ValueError naming the option otherwise.
    """
    if isinstance(start_from, bool):
        raise TypeError(f"start_from: {start_from!r} is not a start position")
    if isinstance(start_from, int):
        millis = start_from
    elif isinstance(start_from, str) and start_from in _START_NAMES:
        return None
    elif isinstance(start_from, str) and start_from.strip().isdigit():
        millis = int(start_from.strip())
    elif isinstance(start_from, str):
        try:
            millis = int(parse_rfc3339(start_from).timestamp() * 1000)
        except ValueError as exc:
            raise ValueError(
                f"start_from: {start_from!r} is not one of {', '.join(_START_NAMES)}, an RFC 3339 "
                f"timestamp (e.g. 2023-10-17T08:00:00Z) or epoch milliseconds ({exc})"
            ) from None
    else:
        raise ValueError(f"start_from: {start_from!r} must be a string or epoch milliseconds")
    if millis < 0:
        raise ValueError(f"start_from: {start_from!r} is before 1970 (epoch ms must be >= 0)")
    return millis


@dataclass(frozen=True)
class KafkaReadConfig:
    """Where and how ``ReadFromKafka`` reads.

    - ``start_from``: ``earliest``, ``latest``, ``committed`` (the consumer group's offsets;
      partitions without one start at the earliest offset, with a log line), or a timestamp
      (RFC 3339 or epoch ms: the first record at or after it).
    - ``bounded``: read up to the end offsets seen at start, then finish (backfills, tests).
    - ``event_time``: ``record`` (the record's CreateTime/LogAppendTime) or ``processing``.
    - ``offset_reset``: where to go when a committed or in-flight offset is no longer in
      the partition's log (truncated by retention, topic re-created, a broker that lost
      its log): ``earliest`` (default), ``latest``, or ``none`` (fail the read), as Kafka's
      ``auto.offset.reset``. Each reset is logged as a warning with the offsets and
      counted (``kafkaio/offset_resets``).
    - ``commit_offsets``: with a ``consumer_group``, commit each bundle's offsets once its
      outputs are durable (Beam bundle finalization). No effect without a group.
    - ``watermark_lag_ms``: the watermark trails the newest record timestamp by this much
      (tolerated disorder within a partition) and, on a partition with nothing to read,
      trails processing time by this much (so idle partitions do not hold windows back).
    - ``consumer_config``: extra kafka-python ``KafkaConsumer`` settings.
    """

    bootstrap_servers: str
    topic: str
    consumer_group: str | None = None
    start_from: str | int = START_EARLIEST
    bounded: bool = False
    offset_reset: str = RESET_EARLIEST
    event_time: str = EVENT_TIME_RECORD
    commit_offsets: bool = True
    poll_timeout_ms: int = 200
    max_poll_records: int = 500
    watermark_lag_ms: int = 2000
    consumer_config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "bootstrap_servers",
            check_bootstrap_servers(self.bootstrap_servers, "bootstrap_servers"),
        )
        check_topic_name(self.topic, "topic")
        if self.consumer_group is not None and (
            not isinstance(self.consumer_group, str) or not self.consumer_group.strip()
        ):
            raise ValueError(
                f"consumer_group: {self.consumer_group!r} must be a non-empty string or None"
            )
        parse_start_timestamp_ms(self.start_from)
        if self.start_from == START_COMMITTED and self.consumer_group is None:
            raise ValueError(
                "start_from: 'committed' needs consumer_group (the group whose offsets to resume)"
            )
        _check_bool("bounded", self.bounded)
        _check_bool("commit_offsets", self.commit_offsets)
        if self.offset_reset not in _RESET_POLICIES:
            raise ValueError(
                f"offset_reset: {self.offset_reset!r} is not one of {', '.join(_RESET_POLICIES)}"
            )
        if self.event_time not in _EVENT_TIMES:
            raise ValueError(
                f"event_time: {self.event_time!r} is not one of {', '.join(_EVENT_TIMES)}"
            )
        _check_int("poll_timeout_ms", self.poll_timeout_ms, 1, 60_000)
        _check_int("max_poll_records", self.max_poll_records, 1, 100_000)
        _check_int("watermark_lag_ms", self.watermark_lag_ms, 0, 86_400_000)
        object.__setattr__(
            self, "consumer_config",
            _check_client_config(
                "consumer_config", self.consumer_config, KafkaConsumer.DEFAULT_CONFIG,
                _READER_OWNED_CONSUMER_KEYS, "KafkaConsumer",
            ),
        )

    @property
    def start_timestamp_ms(self) -> int | None:
        """The start position as epoch ms when ``start_from`` is a timestamp, else None."""
        return parse_start_timestamp_ms(self.start_from)

    @property
    def commits(self) -> bool:
        """True when the reader commits offsets to the consumer group."""
        return self.commit_offsets and self.consumer_group is not None

    def __reduce__(self):
        # MappingProxyType does not pickle; rebuild (and re-validate) from plain values.
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["consumer_config"] = dict(self.consumer_config)
        return (_rebuild, (type(self), values))


@dataclass(frozen=True)
class KafkaWriteConfig:
    """Where ``WriteToKafka`` writes. ``flush_timeout_s`` is how long one flush at the end of
    a bundle waits for acknowledgements before the wait is logged and the flush repeated;
    ``give_up_after_s`` (0: never, the default) fails the bundle once Kafka has not
    acknowledged its records for that long; ``producer_config`` adds kafka-python
    ``KafkaProducer`` settings to the project defaults (acks=all, idempotence)."""

    bootstrap_servers: str
    topic: str
    producer_config: Mapping[str, Any] = field(default_factory=dict)
    flush_timeout_s: float = 30.0
    give_up_after_s: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "bootstrap_servers",
            check_bootstrap_servers(self.bootstrap_servers, "bootstrap_servers"),
        )
        check_topic_name(self.topic, "topic")
        if (
            isinstance(self.flush_timeout_s, bool)
            or not isinstance(self.flush_timeout_s, (int, float))
            or not 0 < self.flush_timeout_s <= 3600
        ):
            raise ValueError(
                f"flush_timeout_s: {self.flush_timeout_s!r} must be a number of seconds "
                "in (0, 3600]"
            )
        if (
            isinstance(self.give_up_after_s, bool)
            or not isinstance(self.give_up_after_s, (int, float))
            or not 0 <= self.give_up_after_s <= 86_400
        ):
            raise ValueError(
                f"give_up_after_s: {self.give_up_after_s!r} must be a number of seconds in "
                "[0, 86400] (0: wait for the broker as long as it takes)"
            )
        object.__setattr__(
            self, "producer_config",
            _check_client_config(
                "producer_config", self.producer_config, KafkaProducer.DEFAULT_CONFIG,
                _WRITER_OWNED_PRODUCER_KEYS, "KafkaProducer",
            ),
        )

    def __reduce__(self):
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["producer_config"] = dict(self.producer_config)
        return (_rebuild, (type(self), values))


def _rebuild(cls, values):
    return cls(**values)
