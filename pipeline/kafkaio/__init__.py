"""Kafka IO for Apache Beam in pure Python (kafka-python): no Java, no expansion service.

    from pipeline.kafkaio import KafkaReadConfig, ReadFromKafka, KafkaWriteConfig, WriteToKafka

    records = p | ReadFromKafka(KafkaReadConfig("127.0.0.1:9092", "news.raw",
                                                consumer_group="enrich"))
    written = pairs | WriteToKafka(KafkaWriteConfig("127.0.0.1:9092", "news.enriched"))
    written.failed  # KafkaSendFailure per record Kafka refused for good (dead-letter it)

``source`` explains the read (a Splittable DoFn per partition, offsets committed after the
outputs are durable, watermarks on idle partitions, bounded mode); ``sink`` the write.
"""

from pipeline.kafkaio.coders import KafkaRecordCoder
from pipeline.kafkaio.config import (
    KafkaDelivery,
    KafkaReadConfig,
    KafkaRecord,
    KafkaSendFailure,
    KafkaWriteConfig,
)
from pipeline.kafkaio.offsets import PartitionResetError, TopicNotFoundError
from pipeline.kafkaio.sink import DELIVERED, FAILED, KafkaWriteError, WriteToKafka
from pipeline.kafkaio.source import (
    METRICS_NAMESPACE,
    ReadFromKafka,
)

__all__ = [
    "DELIVERED",
    "FAILED",
    "METRICS_NAMESPACE",
    "KafkaDelivery",
    "KafkaReadConfig",
    "KafkaRecord",
    "KafkaRecordCoder",
    "KafkaSendFailure",
    "KafkaWriteConfig",
    "KafkaWriteError",
    "PartitionResetError",
    "ReadFromKafka",
    "TopicNotFoundError",
    "WriteToKafka",
]
