"""The orchestrator: steps over a working dict, the Extraction, and raw → enriched records.
(Accuracy is test_corpus.py's job; this checks the wiring.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import schemas
from schemas import ENRICHED_STORY
from schemas.timefmt import parse_rfc3339
from transforms.extract import (
    ExtractionError,
    attribution_step,
    clean_step,
    dateline_step,
    enrich_record,
    extract,
    extraction_of,
    finish,
    start,
    to_fields,
)

SEED = (Path(__file__).parents[1] / "fixtures" / "seed-story.txt").read_text(encoding="utf-8")
SEED_RAW = json.loads((Path(schemas.__file__).parent / "examples" / "seed-raw.json").read_text())
PUBLISHED = parse_rfc3339("2023-10-17T08:00:00Z")


def test_extract_seed_story():
    extraction = extract(text=SEED, published_at=PUBLISHED)
    assert [(p.name, p.country) for p in extraction.dateline.places] == [
        ("JAKARTA", "ID"), ("SEOUL", "KR")]
    assert extraction.attribution.credit == ("Reuters",)
    assert extraction.attribution.cited == ("TASS", "KCNA")
    assert extraction.attribution.photo == ("AFP",)
    assert "Sign up now" not in extraction.text
    assert "JAKARTA/SEOUL" not in extraction.text
    assert "\n\n\n" not in extraction.text and extraction.text == extraction.text.strip()


def test_text_is_the_paragraphs_without_the_dateline_and_findings_point_into_it():
    extraction = extract(text="LONDON, Oct 17 (Reuters) - Prices rose.\nShares fell, Interfax "
                         "reported.", published_at=PUBLISHED)
    assert extraction.text == "Prices rose.\n\nShares fell, Interfax reported."
    for finding in extraction.attribution.findings:
        if finding.field == "text":
            assert extraction.text[finding.start:finding.end] == "Interfax"


def test_steps_return_new_dicts_and_leave_their_input_alone():
    work = {"html": "<p>PARIS (AFP) - Hello.</p>", "text": None, "published_at": None}
    before = dict(work)
    cleaned = clean_step(work)
    dated = dateline_step(cleaned)
    done = attribution_step(dated)
    assert work == before and "dateline" not in cleaned and "attribution" not in dated
    assert to_fields(extraction_of(done)) == to_fields(extract(html=work["html"]))


def test_html_is_used_when_a_story_has_both():
    extraction = extract(html="<p>SEOUL (Yonhap) -- From html.</p>", text="TOKYO - From text.")
    assert extraction.text == "From html."


@pytest.mark.parametrize(("work", "stage", "words"), [
    ({"html": None, "text": None}, "clean", "neither html nor text"),
    ({"html": 42}, "clean", "html must be a string"),
    ({"text": "x"}, "dateline", "run clean_step()"),
])
def test_steps_name_the_stage_and_the_problem(work, stage, words):
    step = clean_step if stage == "clean" else dateline_step
    with pytest.raises(ExtractionError) as info:
        step(work)
    assert info.value.stage == stage and words in str(info.value)


def test_enrich_record_builds_a_valid_enriched_record():
    processed = parse_rfc3339("2023-10-17T09:30:00Z")
    record = enrich_record(SEED_RAW, pipeline_version="0.1.0", processed_at=processed,
                           input={"topic": "news.raw", "partition": 0, "offset": 42})
    ENRICHED_STORY.validate(record)
    assert "html" not in record
    assert record["story_id"] == SEED_RAW["story_id"] and record["title"] == SEED_RAW["title"]
    assert record["processing"] == {"pipeline_version": "0.1.0",
                                    "processed_at": "2023-10-17T09:30:00Z",
                                    "input": {"topic": "news.raw", "partition": 0, "offset": 42}}
    assert [loc["name"] for loc in record["dateline"]["locations"]] == ["JAKARTA", "SEOUL"]


def test_finish_takes_an_rfc3339_string_too():
    work = attribution_step(dateline_step(clean_step(start(SEED_RAW))))
    record = finish(work, pipeline_version="0.1.0", processed_at="2023-10-17T09:30:00Z")
    assert record["processing"]["processed_at"] == "2023-10-17T09:30:00Z"
    assert record["processing"]["input"] is None


def test_published_at_of_the_raw_record_resolves_the_dateline_year():
    raw = {**SEED_RAW, "html": "<p>TOKYO, Dec 31 (Reuters) - Markets closed.</p>",
           "published_at": "2024-01-01T00:20:00Z"}
    record = enrich_record(raw, pipeline_version="0.1.0", processed_at=PUBLISHED)
    assert record["dateline"]["date"] == {"raw": "Dec 31", "iso": "2023-12-31"}


def test_finish_names_the_step_that_was_not_run():
    with pytest.raises(ExtractionError) as info:
        finish(dateline_step(clean_step(start(SEED_RAW))), pipeline_version="0.1.0",
               processed_at="2023-10-17T09:30:00Z")
    assert info.value.stage == "extraction" and "run attribution_step()" in str(info.value)
    with pytest.raises(ExtractionError) as info:
        finish({}, pipeline_version="0.1.0", processed_at="2023-10-17T09:30:00Z")
    assert info.value.stage == "finish" and "run start()" in str(info.value)
