"""Beam's own Kafka IO (Java, cross-language) behind our configuration types. UNTESTED HERE.

``java_read(config)`` / ``java_write(config)`` build ``apache_beam.io.kafka.ReadFromKafka`` /
``WriteToKafka`` from a KafkaReadConfig / KafkaWriteConfig, with the same element types as
the pure-Python transforms (KafkaRecord in; (key, value[, headers]) out). Running them needs
Java and the Beam IO expansion-service jar, which Beam downloads from Maven Central at
pipeline construction; neither is available on the project's machines, so only the mapping
is tested, never a run. Differences from the pure-Python reader:

- ``bounded=True`` has no Java equivalent in the Python wrapper: refused.
- with a consumer_group, Java KafkaIO resumes from the group's committed offsets whatever
  ``start_from`` says; ``earliest``/``latest`` only apply to partitions without one.
- ``consumer_config``/``producer_config`` keys are kafka-python names; they are passed as
  Java names by replacing ``_`` with ``.`` (right for the common ones, such as
  ``fetch_max_wait_ms``; check security settings, whose names differ).
- ``event_time="record"`` uses Java's CreateTime policy; the idle-partition watermark and
  ``watermark_lag_ms`` are Java KafkaIO's own.
"""

import math
from typing import Any, NamedTuple

import apache_beam as beam

from pipeline.kafkaio.config import (
    EVENT_TIME_PROCESSING,
    START_COMMITTED,
    START_EARLIEST,
    START_LATEST,
    KafkaReadConfig,
    KafkaRecord,
    KafkaWriteConfig,
)
from pipeline.kafkaio.sink import unpack_element


def _java_client_config(bootstrap_servers: str, extra: dict[str, Any]) -> dict[str, str]:
    config = {key.replace("_", "."): str(value) for key, value in extra.items()}
    config["bootstrap.servers"] = bootstrap_servers
    return config


def java_read_arguments(config: KafkaReadConfig) -> dict[str, Any]:
    """Keyword arguments of ``apache_beam.io.kafka.ReadFromKafka`` for ``config``."""
    if config.bounded:
        raise ValueError(
            "bounded: the Java ReadFromKafka cannot stop at the end offsets seen at start; use "
            "the pure-Python ReadFromKafka for bounded reads"
        )
    consumer = _java_client_config(config.bootstrap_servers, dict(config.consumer_config))
    if config.consumer_group is not None:
        consumer["group.id"] = config.consumer_group
    arguments: dict[str, Any] = {
        "topics": [config.topic],
        "commit_offset_in_finalize": config.commits,
        "timestamp_policy": "ProcessingTime" if config.event_time == EVENT_TIME_PROCESSING
        else "CreateTime",
        "consumer_polling_timeout": max(1, math.ceil(config.poll_timeout_ms / 1000)),
        "with_metadata": True,
    }
    if config.start_from in (START_EARLIEST, START_COMMITTED):
        consumer["auto.offset.reset"] = "earliest"
    elif config.start_from == START_LATEST:
        consumer["auto.offset.reset"] = "latest"
    else:
        arguments["start_read_time"] = config.start_timestamp_ms
    arguments["consumer_config"] = consumer
    return arguments


def _row_to_record(row) -> KafkaRecord:
    headers = tuple((header.key, header.value) for header in (row.headers or ()))
    return KafkaRecord(
        row.topic, row.partition, row.offset, row.timestamp, row.key, row.value, headers
    )


class _JavaReadFromKafka(beam.PTransform):
    def __init__(self, config: KafkaReadConfig, expansion_service: str | None) -> None:
        super().__init__()
        from apache_beam.io.kafka import ReadFromKafka as JavaReadFromKafka

        self._read = JavaReadFromKafka(
            **java_read_arguments(config), expansion_service=expansion_service
        )

    def expand(self, pbegin):
        return (
            pbegin
            | "JavaReadFromKafka" >> self._read
            | "ToKafkaRecord" >> beam.Map(_row_to_record).with_output_types(KafkaRecord)
        )


def java_read(config: KafkaReadConfig, expansion_service: str | None = None) -> beam.PTransform:
    """Beam's Java ReadFromKafka configured from ``config``: PBegin → PCollection[KafkaRecord].

    Untested on the project's machines (no Java, no Maven); see the module docstring.
    """
    return _JavaReadFromKafka(config, expansion_service)


class JavaHeader(NamedTuple):
    key: str
    value: bytes


class JavaProducerRecord(NamedTuple):
    """The row shape Java's WriteToKafka(with_headers=True) expects."""

    key: bytes
    value: bytes
    headers: list[JavaHeader]


def _to_java_row(element) -> JavaProducerRecord:
    key, value, headers = unpack_element(element)
    if key is None or value is None:
        raise TypeError(
            "java_write: the Java WriteToKafka needs bytes keys and values (no None); use the "
            "pure-Python WriteToKafka for null keys or tombstones"
        )
    return JavaProducerRecord(key, value, [JavaHeader(name, data) for name, data in headers])


def java_write_arguments(config: KafkaWriteConfig) -> dict[str, Any]:
    """Keyword arguments of ``apache_beam.io.kafka.WriteToKafka`` for ``config``."""
    producer = _java_client_config(config.bootstrap_servers, dict(config.producer_config))
    producer.setdefault("acks", "all")
    producer.setdefault("enable.idempotence", "true")
    return {"producer_config": producer, "topic": config.topic, "with_headers": True}


class _JavaWriteToKafka(beam.PTransform):
    def __init__(self, config: KafkaWriteConfig, expansion_service: str | None) -> None:
        super().__init__()
        from apache_beam.io.kafka import WriteToKafka as JavaWriteToKafka

        self._write = JavaWriteToKafka(
            **java_write_arguments(config), expansion_service=expansion_service
        )

    def expand(self, pcoll):
        return (
            pcoll
            | "ToJavaRow" >> beam.Map(_to_java_row).with_output_types(JavaProducerRecord)
            | "JavaWriteToKafka" >> self._write
        )


def java_write(config: KafkaWriteConfig, expansion_service: str | None = None) -> beam.PTransform:
    """Beam's Java WriteToKafka configured from ``config``, for (key, value[, headers])
    elements. Returns nothing useful (Java's PDone). Untested here; see the module docstring."""
    return _JavaWriteToKafka(config, expansion_service)
