"""What must hold for any bytes a feed server may send, checked by the fuzzers
(scripts/fuzz.py with atheris, test_fuzz_parse.py with hypothesis)."""

from __future__ import annotations

from datetime import datetime, timezone

from pipeline.reader import body, parse
from schemas import RAW_STORY, RecordError

CONTENT_TYPES = ["application/rss+xml", "application/atom+xml; charset=utf-8", "text/xml; charset=iso-8859-1",
                 "application/xml; charset=utf-16", "text/html", "application/rss+xml; charset=shift_jis"]
LIMIT = 256 * 1024
FETCHED = datetime(2024, 1, 1, tzinfo=timezone.utc)


def check_one(data: bytes, content_type: str, coding: str, max_entries: int) -> list[dict]:
    """Decode ``data`` as a response body with these headers and parse it. No exception may
    escape but BodyError (an unusable Content-Encoding, reported as a feed error); the
    decoded body stays within the limit; at most ``max_entries`` entries; every record
    encodes (a refused field is emptied) and stays within a bound proportional to the
    document (entity expansion is defused). Returns the records."""
    try:
        document, truncated = body.decode_limited([data], body.content_codings(coding), LIMIT)
    except body.BodyError:
        return []
    assert len(document) <= LIMIT
    result = parse.parse_feed(document, feed_url="https://fuzz.example.com/feed", fetched_at=FETCHED,
                              headers={"content-type": content_type}, truncated=truncated,
                              max_entries=max_entries)
    assert len(result.entries) <= max_entries
    bound = 64 * len(document) + 4096
    records = []
    for entry in result.entries:
        try:
            value, _notes = parse.encode_repaired({**entry.record, "revision": 1}, RAW_STORY)
        except RecordError as exc:
            raise AssertionError(f"an entry's record cannot be encoded: {exc}") from exc
        assert len(value) <= bound, f"record of {len(value)} bytes from a {len(document)}-byte document"
        records.append(RAW_STORY.decode(value))
    return records
