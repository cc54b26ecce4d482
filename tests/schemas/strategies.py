"""Hypothesis strategies that build records valid under our schemas."""

from __future__ import annotations

import base64
from datetime import datetime, timezone

from hypothesis import strategies as st

from schemas.timefmt import to_rfc3339

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
maybe_text = st.none() | text
story_ids = st.text("0123456789abcdef", min_size=32, max_size=32)
timestamps = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
).map(to_rfc3339)
agencies = st.lists(st.sampled_from(["Reuters", "AP", "AFP", "TASS", "KCNA", "Xinhua", "dpa"]), unique=True)

sources = st.fixed_dictionaries(
    {
        "feed_url": st.from_regex(r"https://[a-z]{1,10}\.example/[a-z]{0,10}\.xml", fullmatch=True),
        "feed_title": maybe_text,
        "publisher": st.from_regex(r"[a-z]{1,10}\.example", fullmatch=True),
        "entry_id": maybe_text,
        "link": st.none() | st.from_regex(r"https://[a-z]{1,10}\.example/[a-z0-9/-]{0,30}", fullmatch=True),
    }
)
story_fields = {
    "schema_version": st.sampled_from(["1.0", "1.3"]),
    "story_id": story_ids,
    "revision": st.integers(1, 1000),
    "source": sources,
    "title": maybe_text,
    "authors": st.lists(text, max_size=3),
    "categories": st.lists(text, max_size=3),
    "language": st.none() | st.sampled_from(["en", "fr", "de-DE"]),
    "published_at": st.none() | timestamps,
    "updated_at": st.none() | timestamps,
    "fetched_at": timestamps,
}
raw_stories = st.fixed_dictionaries({**story_fields, "html": maybe_text, "text": maybe_text})

places = st.fixed_dictionaries(
    {
        "name": text.filter(bool),
        "normalized": maybe_text,
        "country": st.none() | st.from_regex(r"[A-Z]{2}", fullmatch=True),
        "lat": st.none() | st.floats(-90, 90),
        "lon": st.none() | st.floats(-180, 180),
        "geonameid": st.none() | st.integers(1, 10**8),
        "admin1": st.none() | st.from_regex(r"[A-Z0-9]{1,3}", fullmatch=True),
    }
)
datelines = st.none() | st.fixed_dictionaries(
    {
        "raw": text.filter(bool),
        "locations": st.lists(places, max_size=3),
        "date": st.none() | st.fixed_dictionaries(
            {"raw": text, "iso": st.none() | st.dates().map(lambda d: d.isoformat()).filter(lambda s: len(s) == 10)}
        ),
    }
)
findings = st.fixed_dictionaries(
    {
        "agency": st.sampled_from(["Reuters", "AP", "AFP"]),
        "role": st.sampled_from(["credit", "cited", "photo"]),
        "rule": st.sampled_from(["signoff", "dateline", "cited_verb", "photo_credit"]),
        "field": st.sampled_from(["text", "dateline", "removed"]),
        "index": st.none() | st.integers(0, 5),
        "start": st.integers(0, 5000),
        "end": st.integers(0, 5000),
        "photographer": maybe_text,
    }
)
enriched_stories = st.fixed_dictionaries(
    {
        **story_fields,
        "text": text,
        "cleaning": st.fixed_dictionaries(
            {"removed": st.lists(st.fixed_dictionaries(
                {"kind": st.sampled_from(["promo", "caption", "photo_credit", "byline"]), "text": text}), max_size=3)}
        ),
        "dateline": datelines,
        "attribution": st.fixed_dictionaries(
            {
                "credit": agencies, "cited": agencies, "photo": agencies,
                "contributors": st.lists(st.fixed_dictionaries({"name": text, "role": st.sampled_from(["reporting", "editing"])}), max_size=2),
                "findings": st.lists(findings, max_size=3),
            }
        ),
        "processing": st.fixed_dictionaries(
            {
                "pipeline_version": st.just("0.1.0"),
                "processed_at": timestamps,
                "input": st.none() | st.fixed_dictionaries(
                    {"topic": st.just("news.raw"), "partition": st.integers(0, 50), "offset": st.integers(0, 2**62)}
                ),
            }
        ),
    }
)
dead_letters = st.fixed_dictionaries(
    {
        "schema_version": st.just("1.0"),
        "stage": st.sampled_from(["decode", "validate", "clean", "dateline", "attribution", "encode"]),
        "reason": text.filter(bool),
        "error_type": st.sampled_from(["RecordError", "ValueError"]),
        "pipeline_version": st.just("0.1.0"),
        "failed_at": timestamps,
        "story_id": st.none() | story_ids,
        "source": st.none() | st.fixed_dictionaries(
            {
                "topic": st.just("news.raw"), "partition": st.integers(0, 50), "offset": st.integers(0, 2**62),
                "timestamp_ms": st.none() | st.integers(0, 2**45),
                "key_base64": st.none() | st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
            }
        ),
        "value_base64": st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    }
)
window_counts = st.fixed_dictionaries(
    {
        "schema_version": st.sampled_from(["1.0", "1.2"]),
        "window_start": timestamps,
        "window_end": timestamps,
        "dimension": st.sampled_from(["country", "credit", "cited"]),
        "value": text.filter(bool),
        "count": st.integers(1, 2**40),
        "pane": st.fixed_dictionaries(
            {"index": st.integers(0, 10_000), "timing": st.sampled_from(["early", "on_time", "late", "unknown"])}
        ),
        "pipeline_version": st.just("0.1.0"),
        "emitted_at": timestamps,
    }
)
