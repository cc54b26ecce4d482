"""The record contract: JSON Schema files, their Python types, and the orjson codec.

This package imports nothing else of ours, so any consumer can depend on it alone.
"""

from schemas.codec import DEAD_LETTER, ENRICHED_STORY, RAW_STORY, SCHEMA_VERSION, Codec, RecordError
from schemas.types import DeadLetter, EnrichedStory, RawStory

__all__ = [
    "DEAD_LETTER",
    "ENRICHED_STORY",
    "RAW_STORY",
    "SCHEMA_VERSION",
    "Codec",
    "DeadLetter",
    "EnrichedStory",
    "RawStory",
    "RecordError",
]
