"""Every fuzz target on its seeds and on input hypothesis generates (bounded: a few hundred
examples each), and what the fuzzers found, kept as tests (see tests/fuzz/README.md)."""

from __future__ import annotations

import importlib
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ENRICHED_STORY, RAW_STORY, RecordError
from schemas.codec import TOO_LARGE
from tests.stories import raw_story
from transforms.clean import MAX_BLOCK_DEPTH
from transforms.extract import ExtractionError, enrich_record

TARGETS = ["decode", "extract"]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _target(name: str):
    return importlib.import_module(f"tests.fuzz.{name}")


@pytest.mark.parametrize("name", TARGETS)
def test_each_target_passes_its_seeds(name):
    target = _target(name)
    for seed in target.SEEDS:
        target.fuzz_one(seed)


@pytest.mark.parametrize("name", TARGETS)
@FUZZ
@given(data=st.binary(max_size=4000))
def test_each_target_on_arbitrary_bytes(name, data):
    _target(name).fuzz_one(data)


# Structured input: valid raw records around hostile values, which random bytes rarely reach.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=40,
)
_FIELDS = ["revision", "title", "html", "text", "published_at", "authors", "source", "extra"]


@FUZZ
@given(field=st.sampled_from(_FIELDS), value=json_values)
def test_decode_on_raw_stories_with_one_hostile_field(field, value):
    _target("decode").fuzz_one(orjson.dumps(raw_story(1) | {field: value}))


html_pieces = st.sampled_from([
    "<p>", "</p>", "<div>", "</div>", "<br>", "<figure>", "<figcaption>", "</figure>", "<table><tr><td>",
    "<blockquote>", "<img src=x>", "<script>", "</script>", "&amp;", "&nbsp;", "&#xD800;", "&#99999999;",
    "JAKARTA/SEOUL (Reuters) - ", "PHOTO: AFP", "the TASS news agency said", "Reporting by A; Editing by B",
    "LONDON, Oct 17 (AP) —", "\x00", "\x1b[2J", "\u202e", "\r\n", "é", "(", ")", " ", "\n\n",
])


@FUZZ
@given(pieces=st.lists(html_pieces, max_size=200), as_html=st.booleans())
def test_extractors_on_stories_assembled_from_hostile_pieces(pieces, as_html):
    content = "".join(pieces)
    data = (b"\x00" if as_html else b"\x01") + content.encode("utf-8", "surrogatepass")
    _target("extract").fuzz_one(data)


# Findings (tests/fuzz/README.md), each kept as a test.

def test_finding_deeply_nested_block_elements_are_refused_not_parsed_for_minutes():
    depth = MAX_BLOCK_DEPTH + 1
    html = "<div>" * depth + "JAKARTA (Reuters) - x" + "</div>" * depth
    with pytest.raises(ExtractionError, match="nest more than 512 deep"):
        enrich_record(raw_story(1, html=html), pipeline_version="0", processed_at="2023-10-17T09:05:13Z")
    ok = "<div>" * (MAX_BLOCK_DEPTH - 1) + "JAKARTA (Reuters) - x" + "</div>" * (MAX_BLOCK_DEPTH - 1)
    enrich_record(raw_story(1, html=ok), pipeline_version="0", processed_at="2023-10-17T09:05:13Z")
    siblings = "<div>x</div>" * 5000  # many blocks, shallow: fine
    enrich_record(raw_story(1, html=siblings), pipeline_version="0", processed_at="2023-10-17T09:05:13Z")


def test_finding_a_story_within_the_raw_limit_can_make_an_enriched_record_over_its_limit():
    """A story citing agencies tens of thousands of times: every mention is a finding, so the
    enriched record outgrows the raw one. Encode refuses it (the pipeline dead-letters it at
    stage encode, in every sink alike) rather than writing what consumers would refuse."""
    text = "According to Reuters, AFP and TASS. " * 15_000
    raw = raw_story(1, html=None, text=text)
    assert len(orjson.dumps(raw)) <= RAW_STORY.limits.max_record_bytes
    record = enrich_record(raw, pipeline_version="0", processed_at="2023-10-17T09:05:13Z")
    with pytest.raises(RecordError) as error:
        ENRICHED_STORY.encode(record)
    assert error.value.kind == TOO_LARGE


FINDINGS = Path(__file__).parent / "findings"


@pytest.mark.parametrize("path", sorted(FINDINGS.glob("*.bin")), ids=lambda path: path.stem)
def test_finding_inputs_the_fuzzers_found_now_pass(path):
    """Inputs atheris found (``<target>-<what>.bin``, replayed as they were found): the feed
    target's was our sample TASS feed mutated until the loose parser returned more entries
    than --max-entries, which the cut of the text by tags had not seen as entries."""
    target = importlib.import_module(f"tests.fuzz.{path.stem.split('-', 1)[0]}")
    target.fuzz_one(path.read_bytes())
