"""Helpers of the enrichment tests: publish raw records (kafka-python, the project's client)
and read outputs back with confluent-kafka (librdkafka), a client nobody here wrote."""

from __future__ import annotations

import time
from typing import NamedTuple

import confluent_kafka

from pipeline.kafka_clients import make_producer


class Message(NamedTuple):
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    timestamp_ms: int


def publish(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes | None]],
            **producer_config) -> None:
    """Send (key, value) pairs and wait for every acknowledgement (``producer_config`` goes to
    the producer, e.g. a larger ``max_request_size``)."""
    producer = make_producer(bootstrap, **producer_config)
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records]
        producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=10)
    finally:
        producer.close()


def _fetched_high_watermark(consumer: confluent_kafka.Consumer, topic: str, partition: int) -> float:
    """The high watermark of the last fetch response (inf until there was one). Not a
    ListOffsets query: the embedded broker under-reports that one after batched writes."""
    _, high = consumer.get_watermark_offsets(confluent_kafka.TopicPartition(topic, partition), cached=True)
    return high if high >= 0 else float("inf")


def read_all(bootstrap: str, topic: str, expect: int = 0, timeout_s: float = 30.0) -> list[Message]:
    """Every record of ``topic`` from the beginning (all partitions, no consumer group), up
    to the high watermarks; waits up to ``timeout_s`` for at least ``expect`` records."""
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "newswire-tests-unused",  # required by librdkafka; nothing is committed
        "enable.auto.commit": False,
    })
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        partitions = sorted(metadata.partitions)
        consumer.assign([
            confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
            for p in partitions
        ])
        messages: list[Message] = []
        next_offset = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and message.error() is None:
                messages.append(Message(
                    message.partition(), message.offset(), message.key(), message.value(),
                    dict(message.headers() or ()), message.timestamp()[1],
                ))
                next_offset[message.partition()] = message.offset() + 1
            elif len(messages) >= expect and all(
                next_offset[p] >= _fetched_high_watermark(consumer, topic, p) for p in partitions
            ):
                break
        return messages
    finally:
        consumer.close()
