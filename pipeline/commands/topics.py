"""`newswire topics create|check`: the three newswire topics with production settings."""

from __future__ import annotations

import argparse
import sys

from pipeline.kafka_clients import check_bootstrap_servers
from pipeline.topics import check_topics, create_topics, newswire_topics

HELP = "create or check the raw, enriched and dead-letter topics with production settings"
DESCRIPTION = (
    "create: make the topics that do not exist yet, with --partitions and "
    "--replication-factor; the raw topic with cleanup.policy=delete and --raw-retention-hours, "
    "the enriched topic compacted (key = story_id: the latest revision of each story stays), "
    "the dead letters with --dead-letter-retention-hours. Existing topics are left alone. "
    "check: say, one line each, what differs from these settings (exit 1), or nothing (exit 0)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["create", "check"])
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", metavar="HOST:PORT",
                        help="Kafka bootstrap servers (default: %(default)s)")
    parser.add_argument("--raw-topic", default="news.raw")
    parser.add_argument("--enriched-topic", default="news.enriched")
    parser.add_argument("--dead-letter-topic", default="news.deadletter")
    parser.add_argument("--partitions", type=int, default=1,
                        help="partitions per topic (default: %(default)s)")
    parser.add_argument("--replication-factor", type=int, default=1,
                        help="replicas per partition (default: %(default)s; 3 in production, "
                        "which also sets min.insync.replicas=2)")
    parser.add_argument("--raw-retention-hours", type=float, default=7 * 24,
                        help="how long raw stories are kept (default: %(default)s; -1: forever)")
    parser.add_argument("--dead-letter-retention-hours", type=float, default=30 * 24,
                        help="how long dead letters are kept (default: %(default)s; -1: forever)")


def _ms(hours: float) -> int:
    return -1 if hours == -1 else int(hours * 3_600_000)


def main(args: argparse.Namespace) -> int:
    try:
        bootstrap = check_bootstrap_servers(args.bootstrap_servers)
        specs = newswire_topics(
            args.raw_topic, args.enriched_topic, args.dead_letter_topic, args.partitions,
            args.replication_factor, _ms(args.raw_retention_hours),
            _ms(args.dead_letter_retention_hours),
        )
    except ValueError as exc:
        print(f"newswire topics: {exc}", file=sys.stderr)
        return 2
    if args.action == "create":
        created = set(create_topics(bootstrap, specs))
        for spec in specs:
            settings = ", ".join(f"{k}={v}" for k, v in spec.configs.items())
            state = "created" if spec.name in created else "exists (left alone)"
            print(f"{spec.name}: {state}; {spec.role}: {spec.partitions} partition(s), "
                  f"replication {spec.replication_factor}, {settings}")
        return 0
    problems = check_topics(bootstrap, specs)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{', '.join(spec.name for spec in specs)}: as wanted")
    return 1 if problems else 0
