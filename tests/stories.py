"""Raw stories and Kafka records for pipeline tests, built from the seed example
(schemas/examples/seed-raw.json, the canonical JAKARTA/SEOUL Reuters story)."""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources

import orjson

from pipeline.kafkaio import KafkaRecord


@cache
def _seed() -> dict:
    return json.loads(resources.files("schemas").joinpath("examples/seed-raw.json").read_text("utf-8"))


def raw_story(n: int = 0, revision: int = 1, **changes) -> dict:
    """The seed story as story number ``n``: its own story_id, the same text."""
    story = copy.deepcopy(_seed())
    story.update(story_id=f"{n:032x}", revision=revision, title=f"{story['title']} #{n}")
    story.update(changes)
    return story


def raw_value(n: int = 0, revision: int = 1, **changes) -> bytes:
    return orjson.dumps(raw_story(n, revision, **changes))


def kafka_record(value: bytes | None, offset: int = 0, key: bytes | None = None,
                 topic: str = "news.raw", partition: int = 0) -> KafkaRecord:
    return KafkaRecord(topic, partition, offset, 1_697_533_512_000 + offset, key, value, ())
