"""Session-wide fixtures: one embedded Kafka broker per test session, a unique topic per test."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.broker import EmbeddedBroker
from pipeline.kafka_clients import ensure_topics

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """Bootstrap address of a real Kafka-protocol broker (Tansu) started for this session.

    Set NEWSWIRE_TEST_BOOTSTRAP to run the Kafka tests against another broker instead
    (an Apache Kafka you started yourself, say)."""
    external = os.environ.get("NEWSWIRE_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    with EmbeddedBroker(port=0, topics=()) as broker:
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
