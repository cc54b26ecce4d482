"""kafka-python clients with the settings every part of newswire shares.

One place decides how we talk to Kafka: producers wait for all in-sync replicas and are
idempotent (a retry cannot duplicate a record), consumers never auto-commit (offsets are
committed by the code that knows the records are durably processed) and join groups with
short timeouts (see README: "Kafka client settings").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    # kafka-python's default 16 KiB batches hold ~6 stories; 256 KiB batches produced
    # 2.4 KB values ~5x faster on the embedded broker.
    "batch_size": 256 * 1024,
    "client_id": "newswire",
}
CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    # Default group timeouts make a group join take ~20 s; these take a few seconds.
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "max_poll_interval_ms": 60000,
    "client_id": "newswire",
}


def check_topic_name(name: str, option: str = "topic") -> str:
    """Return ``name`` if Kafka accepts it as a topic name, else raise ValueError naming the
    option. Brokers may create a misspelled topic silently, so names are checked up front."""
    if not isinstance(name, str) or not _TOPIC_NAME.match(name) or name in (".", ".."):
        raise ValueError(
            f"{option}: {name!r} is not a valid Kafka topic name "
            "(1-249 characters of letters, digits, '.', '_' and '-')"
        )
    return name


def check_bootstrap_servers(value: str, option: str = "--bootstrap-servers") -> str:
    """Return ``value`` if it is a comma-separated list of HOST:PORT, else raise ValueError."""
    servers = [part.strip() for part in str(value).split(",") if part.strip()]
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{option}: {server!r} is not HOST:PORT (e.g. 127.0.0.1:9092)")
    if not servers:
        raise ValueError(f"{option}: empty; give HOST:PORT[,HOST:PORT...]")
    return ",".join(servers)


def _checked(kind: str, allowed: dict[str, Any], overrides: dict[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {kind} setting(s) {unknown}: see kafka-python's {kind} docs")


def make_producer(bootstrap_servers: str, **overrides: Any) -> KafkaProducer:
    _checked("KafkaProducer", KafkaProducer.DEFAULT_CONFIG, overrides)
    return KafkaProducer(bootstrap_servers=bootstrap_servers, **{**PRODUCER_DEFAULTS, **overrides})


def make_consumer(bootstrap_servers: str, *topics: str, **overrides: Any) -> KafkaConsumer:
    _checked("KafkaConsumer", KafkaConsumer.DEFAULT_CONFIG, overrides)
    return KafkaConsumer(
        *topics, bootstrap_servers=bootstrap_servers, **{**CONSUMER_DEFAULTS, **overrides}
    )


def ensure_topics(bootstrap_servers: str, names: Iterable[str], partitions: int = 1) -> list[str]:
    """Create the topics that do not exist yet; return the names created."""
    names = [check_topic_name(name) for name in names]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="newswire-admin")
    try:
        existing = set(admin.list_topics())
        missing = [name for name in names if name not in existing]
        if missing:
            try:
                admin.create_topics(
                    {name: {"num_partitions": partitions, "replication_factor": 1} for name in missing},
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                log.info("topics %s were created concurrently", missing)
        return missing
    finally:
        admin.close()
