"""Target ``feed``: the feed reader's parser path on any bytes a feed server may send:
response body + Content-Type + Content-Encoding → decoded body (size limit) → parse_feed →
encoded raw story records. What must hold is tests/pipeline/reader/fuzzcheck.py."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.reader.fuzzcheck import CONTENT_TYPES, check_one

_REPO = Path(__file__).resolve().parents[2]
_SEED_DIRS = [_REPO / "tests" / "pipeline" / "reader" / "fixtures", _REPO / "pipeline" / "data" / "sample_feeds"]
CODINGS = ["", "identity", "gzip", "deflate", "gzip, gzip", "zstd", "br"]

# Three bytes of choices (content type, coding, entry cap), then the document.
SEEDS = [b"\x00\x00\x14" + path.read_bytes()
         for folder in _SEED_DIRS for path in sorted(folder.iterdir()) if path.is_file()]


def fuzz_one(data: bytes) -> None:
    if len(data) < 3:
        return
    content_type = CONTENT_TYPES[data[0] % len(CONTENT_TYPES)]
    coding = CODINGS[data[1] % len(CODINGS)]
    max_entries = 1 + data[2] % 50
    check_one(data[3:], content_type, coding, max_entries)
