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
# A test that uses one of these talks to the session's broker: it gets the `kafka` marker, so
# `pytest -m kafka` runs the Kafka-protocol tests alone (CI's Apache Kafka pass).
KAFKA_FIXTURES = {"kafka_bootstrap", "topic_factory", "apache_kafka"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kafka: talks to a Kafka broker of the session's engine (NEWSWIRE_TEST_BROKER)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if KAFKA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.kafka)


def broker_engine() -> str:
    """``tansu`` or ``kafka``: the broker engine this session's Kafka tests run on."""
    engine = os.environ.get("NEWSWIRE_TEST_BROKER", "tansu")
    if engine not in TEST_BROKERS:
        raise pytest.UsageError(f"NEWSWIRE_TEST_BROKER={engine!r}: expected one of {TEST_BROKERS}")
    return engine


def make_test_broker(port: int = 0, topics: tuple[str, ...] = (), **options) -> BrokerProcess:
    """A broker of this session's engine (not started); port 0 picks a free one."""
    if broker_engine() == "kafka":
        return KafkaServer(port=port, topics=topics, **options)
    return EmbeddedBroker(port=port, topics=topics, **options)


@pytest.fixture
def apache_kafka() -> Iterator[Callable[..., KafkaServer]]:
    """``apache_kafka(**options)``: an Apache Kafka of this test's own (``KafkaServer``, not
    started), stopped at the end of the test. Runs with NEWSWIRE_TEST_BROKER=kafka only
    (what CI's Apache Kafka pass sets): each broker takes seconds and needs Java."""
    if broker_engine() != "kafka":
        pytest.skip("an Apache Kafka test: runs with NEWSWIRE_TEST_BROKER=kafka")
    servers: list[KafkaServer] = []

    def make(**options) -> KafkaServer:
        options.setdefault("port", 0)
        options.setdefault("topics", ())
        servers.append(KafkaServer(**options))
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


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

