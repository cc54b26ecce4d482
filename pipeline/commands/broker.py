"""`newswire broker`: run a Kafka broker on loopback in the foreground (Tansu or Apache Kafka)."""

from __future__ import annotations

import argparse
import signal
import sys

from kafka.errors import KafkaError

from pipeline.broker import DEFAULT_TOPICS, BrokerError, EmbeddedBroker
from pipeline.commands.argtypes import positive_int, tcp_port
from pipeline.kafka_clients import check_topic_name
from pipeline.kafka_server import KAFKA_VERSION, KafkaServer
from pipeline.logging_setup import quiet
from pipeline.topics import newswire_topics

HELP = "run a Kafka broker on loopback for development (Tansu, memory only; or Apache Kafka)"
DESCRIPTION = (
    "Run a Kafka broker on loopback, with the newswire topics created (the enriched topic "
    "compacted, raw stories and dead letters with a retention). --engine tansu (default): "
    "the embedded broker, no Java needed, data in memory only, lost when it stops. "
    f"--engine kafka: Apache Kafka {KAFKA_VERSION} (KRaft, one node) from Maven Central's jars, "
    "resolved once into ~/.cache/newswire (needs Java 17+ and Maven), data kept in --data-dir "
    "across restarts. Production uses a Kafka cluster reached with --bootstrap-servers."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=["tansu", "kafka"], default="tansu",
                        help="tansu (embedded, memory only) or kafka (Apache Kafka, needs Java; "
                        "default: %(default)s)")
    parser.add_argument("--port", type=tcp_port, default=9092, help="TCP port on 127.0.0.1 (default: %(default)s; 0 = any free port)")
    parser.add_argument(
        "--topics", default=",".join(DEFAULT_TOPICS),
        help="comma-separated topics to create (default: %(default)s)",
    )
    parser.add_argument("--partitions", type=positive_int, default=1, help="partitions per topic (default: %(default)s)")
    parser.add_argument("--data-dir", default="newswire-data/kafka", metavar="DIR",
                        help="--engine kafka: where the broker keeps its logs (default: %(default)s)")
    parser.add_argument(
        "--validate-schemas", action="store_true",
        help="--engine tansu: make the broker refuse records that break the JSON Schema of "
        "news.raw, news.enriched and news.deadletter (Apache Kafka does not validate)",
    )


def main(args: argparse.Namespace) -> int:
    topics = [name.strip() for name in args.topics.split(",") if name.strip()]
    topic_configs = {spec.name: spec.configs for spec in newswire_topics()}
    try:
        for name in topics:
            check_topic_name(name, "--topics")
        if args.engine == "kafka":
            if args.validate_schemas:
                raise ValueError("--validate-schemas: only --engine tansu validates records")
            broker = KafkaServer(port=args.port, topics=topics, partitions=args.partitions,
                                 data_dir=args.data_dir, topic_configs=topic_configs)
        else:
            broker = EmbeddedBroker(
                port=args.port, topics=topics, partitions=args.partitions,
                validate_schemas=args.validate_schemas, topic_configs=topic_configs,
            )
        with quiet("pipeline.broker", "pipeline.kafka_server"):  # the lines below say it
            broker.start()
    except (ValueError, BrokerError, KafkaError) as exc:
        print(f"newswire broker: {exc}", file=sys.stderr)
        return 2
    # SIGTERM stops the broker like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        print(f"bootstrap servers: {broker.bootstrap}", flush=True)
        print(f"topics: {', '.join(topics) or '(none)'}  partitions: {args.partitions}  "
              f"schema validation: {'on' if args.validate_schemas else 'off'}", flush=True)
        print(f"{broker.describe()}. Ctrl-C to stop.", flush=True)
        status = broker.wait()
    except KeyboardInterrupt:
        print("stopping broker", flush=True)
        return 0
    finally:
        broker.stop()
    return 0 if status in (0, -signal.SIGTERM) else status
