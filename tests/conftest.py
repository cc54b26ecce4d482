"""Session-wide fixtures: one Kafka broker per test session, a unique topic per test.

The broker is chosen by NEWSWIRE_TEST_BROKER: ``tansu`` (default: the embedded broker, no
Java needed) or ``kafka`` (Apache Kafka from Maven jars, pipeline/kafka_server.py; needs Java
17 and Maven, or the jars already cached). NEWSWIRE_TEST_BOOTSTRAP=host:port uses a broker
you started yourself instead."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.broker import BrokerProcess, EmbeddedBroker
from pipeline.kafka_clients import ensure_topics
from pipeline.kafka_server import KafkaServer

FIXTURES = Path(__file__).parent / "fixtures"


TEST_BROKERS = ("tansu", "kafka")


def broker_engine() -> str:
    """``tansu`` or ``kafka``: the broker engine this session's Kafka tests run on."""
    engine = os.environ.get("NEWSWIRE_TEST_BROKER", "tansu")
    if engine not in TEST_BROKERS:
        raise pytest.UsageError(f"NEWSWIRE_TEST_BROKER={engine!r}: expected one of {TEST_BROKERS}")
    return engine


def make_test_broker(**options) -> BrokerProcess:
    """A broker of this session's engine on a free port (not started), without topics."""
    if broker_engine() == "kafka":
        return KafkaServer(port=0, topics=(), **options)
    return EmbeddedBroker(port=0, topics=(), **options)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka-protocol broker started for this session (Tansu or
    Apache Kafka: NEWSWIRE_TEST_BROKER), or NEWSWIRE_TEST_BOOTSTRAP's."""
    external = os.environ.get("NEWSWIRE_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    with make_test_broker() as broker:
        yield broker.bootstrap


_topic_counter = itertools.count()
_session_tag = uuid.uuid4().hex[:8]


@pytest.fixture
def topic_factory(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Callable[..., str]:
    """``topic_factory(prefix="t", partitions=1)`` creates a topic no other test uses."""
    test_name = "".join(ch if ch.isalnum() else "-" for ch in request.node.name)[:60]

    def make(prefix: str = "t", partitions: int = 1) -> str:
        name = f"{prefix}.{test_name}.{_session_tag}.{next(_topic_counter)}"
        ensure_topics(kafka_bootstrap, [name], partitions=partitions)
        return name

    return make


@pytest.fixture(scope="session")
def seed_story() -> str:
    """The canonical example: a real republished Reuters story (plain text)."""
    return (FIXTURES / "seed-story.txt").read_text("utf-8")
