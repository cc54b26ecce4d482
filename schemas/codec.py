"""orjson codec with JSON Schema validation for the three record kinds.

``Codec.encode`` validates before it serialises, so a producer can never put a record on a
topic that its consumers would reject; ``Codec.decode`` parses and validates, raising
:class:`RecordError` that names the offending field and why.
"""

from __future__ import annotations

import json
from functools import cached_property
from importlib import resources
from typing import Any

import fastjsonschema
import orjson

SCHEMA_VERSION = "1.0"


class RecordError(ValueError):
    """A record that is not valid JSON or breaks its schema. Not retriable: the same bytes
    fail the same way, so the record belongs in a dead-letter topic, not in a retry loop."""

    retriable = False

    def __init__(self, field: str, reason: str, schema: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.schema = schema
        super().__init__(f"{field}: {reason}")


def _field_path(path: list[str | int]) -> str:
    """fastjsonschema's ['data', 'dateline', 'locations', 0, 'country'] → 'dateline.locations[0].country'."""
    out = ""
    for part in path[1:]:
        if isinstance(part, int) or (isinstance(part, str) and part.isdigit()):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "$"


def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema document ``schemas/<name>.schema.json`` as a dict."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


class Codec:
    """Encode/decode/validate one record kind against its JSON Schema."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Codec({self.name!r})"

    def __reduce__(self):  # Beam pickles DoFns holding codecs; rebuild the validator lazily
        return (Codec, (self.name,))

    @cached_property
    def schema(self) -> dict[str, Any]:
        return load_schema(self.name)

    @cached_property
    def _validator(self):
        return fastjsonschema.compile(self.schema)

    def validate(self, record: Any) -> None:
        try:
            self._validator(record)
        except fastjsonschema.JsonSchemaValueException as exc:
            path = list(exc.path)
            if exc.rule == "required" and isinstance(exc.value, dict):
                missing = [key for key in exc.rule_definition if key not in exc.value]
                path.append(missing[0])
                reason = "is required but missing"
                if len(missing) > 1:
                    reason += f" (so are: {', '.join(missing[1:])})"
            else:
                # fastjsonschema says "data.x.y must be ..."; keep only the "must be ..." part.
                reason = exc.message
                if exc.name and reason.startswith(exc.name):
                    reason = reason[len(exc.name):].strip()
            raise RecordError(_field_path(path), reason, self.name) from None

    def encode(self, record: dict[str, Any]) -> bytes:
        self.validate(record)
        return orjson.dumps(record)

    def decode(self, data: bytes | bytearray | memoryview | str) -> dict[str, Any]:
        try:
            record = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise RecordError("$", f"not valid JSON: {exc}", self.name) from None
        self.validate(record)
        return record


RAW_STORY = Codec("raw_story")
ENRICHED_STORY = Codec("enriched_story")
DEAD_LETTER = Codec("dead_letter")
