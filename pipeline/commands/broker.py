"""`newswire broker`: run the embedded Kafka-protocol broker in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys

from kafka.errors import KafkaError

from pipeline.broker import DEFAULT_TOPICS, BrokerError, EmbeddedBroker
from pipeline.commands.argtypes import positive_int, tcp_port
from pipeline.kafka_clients import check_topic_name
from pipeline.logging_setup import quiet

HELP = "run the embedded Kafka-protocol broker for development (memory only)"
DESCRIPTION = (
    "Run the embedded Kafka-protocol broker (Tansu) on loopback for development and tests, "
    "with the newswire topics created. It keeps data in memory only: everything is lost when "
    "it stops. Production uses Apache Kafka (any broker reachable with --bootstrap-servers)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=tcp_port, default=9092, help="TCP port on 127.0.0.1 (default: %(default)s; 0 = any free port)")
    parser.add_argument(
        "--topics", default=",".join(DEFAULT_TOPICS),
        help="comma-separated topics to create (default: %(default)s)",
    )
    parser.add_argument("--partitions", type=positive_int, default=1, help="partitions per topic (default: %(default)s)")
    parser.add_argument(
        "--validate-schemas", action="store_true",
        help="make the broker refuse records that break the JSON Schema of news.raw, "
        "news.enriched and news.deadletter (off by default: Apache Kafka does not validate)",
    )


def main(args: argparse.Namespace) -> int:
    topics = [name.strip() for name in args.topics.split(",") if name.strip()]
    try:
        for name in topics:
            check_topic_name(name, "--topics")
        broker = EmbeddedBroker(
            port=args.port, topics=topics, partitions=args.partitions,
            validate_schemas=args.validate_schemas,
        )
        with quiet("kafka", "pipeline.broker"):  # what start-up logs, the lines below say
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
        print("memory only: data is lost when the broker stops. Ctrl-C to stop.", flush=True)
        status = broker.wait()
    except KeyboardInterrupt:
        print("stopping broker", flush=True)
        return 0
    finally:
        broker.stop()
    return 0 if status in (0, -signal.SIGTERM) else status
