"""The newswire topics as production wants them, created and checked.

- raw stories (``news.raw``): ``cleanup.policy=delete`` with a retention (default 7 days):
  the pipeline reads them within minutes, a backfill within the retention;
- enriched stories (``news.enriched``): ``cleanup.policy=compact`` (key = ``story_id``): the
  latest revision of each story stays, whatever its age;
- dead letters (``news.deadletter``): ``delete`` with a longer retention (default 30 days),
  time to fix the cause and ``newswire replay`` them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.kafka_clients import check_topic_name, ensure_topics, make_admin

DAY_MS = 86_400_000
RAW_RETENTION_MS = 7 * DAY_MS
DEAD_LETTER_RETENTION_MS = 30 * DAY_MS


@dataclass(frozen=True)
class TopicSpec:
    name: str
    role: str  # raw, enriched or dead letters: what the settings are for
    partitions: int = 1
    replication_factor: int = 1
    configs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_topic_name(self.name, f"the {self.role} topic")
        if self.partitions < 1:
            raise ValueError(f"--partitions: {self.partitions} must be >= 1")
        if self.replication_factor < 1:
            raise ValueError(f"--replication-factor: {self.replication_factor} must be >= 1")


def newswire_topics(
    raw: str = "news.raw",
    enriched: str = "news.enriched",
    dead_letters: str = "news.deadletter",
    partitions: int = 1,
    replication_factor: int = 1,
    raw_retention_ms: int = RAW_RETENTION_MS,
    dead_letter_retention_ms: int = DEAD_LETTER_RETENTION_MS,
) -> list[TopicSpec]:
    for option, value in (("--raw-retention-hours", raw_retention_ms),
                          ("--dead-letter-retention-hours", dead_letter_retention_ms)):
        if value < 1 and value != -1:
            raise ValueError(f"{option}: must be > 0 (or -1: keep forever)")
    common = {"partitions": partitions, "replication_factor": replication_factor}
    with_isr = {"min.insync.replicas": "2"} if replication_factor >= 3 else {}
    return [
        TopicSpec(raw, "raw stories", configs={
            "cleanup.policy": "delete", "retention.ms": str(raw_retention_ms), **with_isr},
            **common),
        TopicSpec(enriched, "enriched stories", configs={
            "cleanup.policy": "compact", **with_isr}, **common),
        TopicSpec(dead_letters, "dead letters", configs={
            "cleanup.policy": "delete", "retention.ms": str(dead_letter_retention_ms),
            **with_isr}, **common),
    ]


def create_topics(bootstrap_servers: str, specs: Sequence[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet, each with its settings; return those created.
    Topics that exist are left alone (``check_topics`` says how they differ)."""
    created = []
    for spec in specs:  # one call per topic: partitions and replication may differ
        created += ensure_topics(
            bootstrap_servers, [spec.name], spec.partitions, {spec.name: dict(spec.configs)},
            replication_factor=spec.replication_factor,
        )
    return created


def check_topics(bootstrap_servers: str, specs: Sequence[TopicSpec]) -> list[str]:
    """What differs between the cluster and ``specs``, one line per problem ([] = all good).

    Fewer partitions or replicas than asked, or another setting, is a problem; more
    partitions are not (they only add parallelism)."""
    admin = make_admin(bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        problems = [f"{spec.name} ({spec.role}): missing; create it with `newswire topics create`"
                    for spec in specs if spec.name not in existing]
        present = [spec for spec in specs if spec.name in existing]
        if not present:
            return problems
        described = {t["name"]: t for t in admin.describe_topics([s.name for s in present])}
        configs = admin.describe_configs([
            ConfigResource(ConfigResourceType.TOPIC, spec.name, None) for spec in present
        ]).get("topic", {})
    finally:
        admin.close()
    for spec in present:
        partitions = described[spec.name]["partitions"]
        if len(partitions) < spec.partitions:
            problems.append(f"{spec.name} ({spec.role}): {len(partitions)} partition(s), "
                            f"{spec.partitions} wanted")
        replicas = min((len(p["replica_nodes"]) for p in partitions), default=0)
        if replicas < spec.replication_factor:
            problems.append(f"{spec.name} ({spec.role}): replication factor {replicas}, "
                            f"{spec.replication_factor} wanted")
        actual = {key: entry["value"] for key, entry in configs.get(spec.name, {}).items()}
        for key, wanted in spec.configs.items():
            if actual.get(key, _BROKER_DEFAULTS.get(key)) != wanted:
                problems.append(
                    f"{spec.name} ({spec.role}): {key}={actual.get(key, '(broker default)')}, "
                    f"{wanted} wanted (kafka-configs --alter --entity-type topics "
                    f"--entity-name {spec.name} --add-config {key}={wanted})"
                )
    return problems


# Kafka's own defaults, for a topic whose setting was never changed (describe_configs then
# reports nothing for it with the default "modified" filter).
_BROKER_DEFAULTS = {"cleanup.policy": "delete", "retention.ms": str(7 * DAY_MS),
                    "min.insync.replicas": "1"}
