"""Target ``decode``: the raw-record decoder (``schemas.RAW_STORY``), on any bytes.

The contract the pipeline relies on: a value either raises RecordError (a dead letter of
stage decode or validate) or is a record the later steps can carry: Beam can pickle it (no
recursion error), the dedup state coder can hold its revision (a 64-bit integer), and
``transforms.extract.start`` takes it or raises ExtractionError.
"""

from __future__ import annotations

import pickle

import orjson
from apache_beam.coders import VarIntCoder

from schemas import RAW_STORY, RecordError
from tests.stories import raw_story
from transforms.extract import ExtractionError, start

_REVISIONS = VarIntCoder()

SEEDS = [
    orjson.dumps(raw_story(1)),
    orjson.dumps(raw_story(2, html=None, text="LONDON (Reuters) - A story.")),
    orjson.dumps(raw_story(3, revision=2**53 - 1, extra=[[{"a": [1.5, None]}]])),
    b'{"schema_version": "1.0", "story_id": ',
    b"[" * 40 + b"]" * 40,
]


def fuzz_one(data: bytes) -> None:
    try:
        record = RAW_STORY.decode(data)
    except RecordError:
        return
    pickle.dumps(record)
    assert _REVISIONS.decode(_REVISIONS.encode(record["revision"])) == record["revision"]
    try:
        start(record)
    except ExtractionError:
        pass
