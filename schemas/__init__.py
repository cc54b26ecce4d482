"""The record contract: JSON Schema files, their Python types, and the orjson codec.

This package imports nothing else of ours, so any consumer can depend on it alone.
"""

from schemas.codec import (
    DEAD_LETTER,
    ENRICHED_STORY,
    RAW_STORY,
    SCHEMA_VERSION,
    STATS,
    Codec,
    RecordError,
)
from schemas.types import DeadLetter, EnrichedStory, RawStory, WindowCount

__all__ = [
    "DEAD_LETTER",
    "ENRICHED_STORY",
    "RAW_STORY",
    "SCHEMA_VERSION",
    "STATS",
    "Codec",
    "DeadLetter",
    "EnrichedStory",
    "RawStory",
    "RecordError",
    "WindowCount",
]
