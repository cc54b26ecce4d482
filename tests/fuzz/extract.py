"""Target ``extract``: the extractors (``transforms.extract``: clean, dateline,
attribution), on a raw story whose html or text, title and publication time come from the
fuzzer's bytes.

The contract: ``enrich_record`` returns a record valid under the enriched schema (or one
over its size limit, which the pipeline dead-letters at encode with that reason), or raises
ExtractionError (a dead letter with its reason). Anything else is a bug the pipeline would
dead-letter as a crash of the step.
"""

from __future__ import annotations

from schemas import ENRICHED_STORY, RecordError
from schemas.codec import TOO_LARGE
from tests.stories import raw_story
from transforms.extract import ExtractionError, enrich_record

SEEDS = [
    b"\x00<p>JAKARTA/SEOUL (Reuters) - North Korea said on Tuesday ...</p><p>PHOTO: AFP</p>",
    b"\x01PARIS, Oct 17 (AFP) - Talks resumed, the TASS news agency reported.\n\nReporting by X",
    b"\x02<div><p>WASHINGTON &#8212; The <b>AP</b> said</p><figure>Photo: Xinhua</figure></div>",
    b"\x00<p>&amp;nbsp;</p><script>x</script><p>\xed\xa0\x80</p>",
]
_PUBLISHED = [None, "2023-10-17T09:02:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]


def story_from(data: bytes) -> dict:
    """A raw story from fuzz bytes: the first byte picks html or text and the publication
    time; the rest, decoded as UTF-8 with replacement, is the content (title: its first
    line)."""
    selector = data[0] if data else 0
    content = data[1:].decode("utf-8", "replace")
    as_html = selector % 2 == 0
    return raw_story(
        7,
        title=content.split("\n", 1)[0][:200] or None,
        html=content if as_html else None,
        text=None if as_html else content,
        published_at=_PUBLISHED[(selector // 2) % len(_PUBLISHED)],
    )


def fuzz_one(data: bytes) -> None:
    try:
        record = enrich_record(story_from(data), pipeline_version="0.0.0",
                               processed_at="2023-10-17T09:05:13Z")
    except ExtractionError:
        return
    try:
        ENRICHED_STORY.encode(record)
    except RecordError as exc:  # any other RecordError is a finding: the steps made a bad record
        if exc.kind != TOO_LARGE:
            raise
