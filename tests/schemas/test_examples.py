"""The worked example in schemas/README.md is what the extractors really produce."""

from __future__ import annotations

import json

from schemas import ENRICHED_STORY, RAW_STORY
from scripts.make_schema_examples import EXAMPLES, enriched, seed_enriched


def test_seed_enriched_example_is_current():
    committed = json.loads((EXAMPLES / "seed-enriched.json").read_text("utf-8"))
    fresh = seed_enriched()
    ENRICHED_STORY.validate(fresh)
    assert fresh == committed, "run `.venv/bin/python -m scripts.make_schema_examples` and review the diff"


def test_seed_example_has_the_canonical_fields():
    record = seed_enriched()
    places = [(p["name"], p["country"]) for p in record["dateline"]["locations"]]
    assert places == [("JAKARTA", "ID"), ("SEOUL", "KR")]
    assert record["attribution"]["credit"] == ["Reuters"]
    assert record["attribution"]["cited"] == ["TASS", "KCNA"]
    assert record["attribution"]["photo"] == ["AFP"]
    assert [r["kind"] for r in record["cleaning"]["removed"]] == ["promo", "caption", "photo_credit"]
    assert record["text"].startswith("Mr Sung Kim, the US special representative")


def test_page_example_is_current_and_enriched_from_its_page():
    committed = json.loads((EXAMPLES / "page-enriched.json").read_text("utf-8"))
    fresh = enriched("page")
    ENRICHED_STORY.validate(fresh)
    assert fresh == committed, "run `.venv/bin/python -m scripts.make_schema_examples` and review the diff"
    raw = json.loads((EXAMPLES / "page-raw.json").read_text("utf-8"))
    RAW_STORY.validate(raw)
    assert raw["schema_version"] == fresh["schema_version"] == "1.1"
    assert len(raw["html"]) < 200 and "<script>" not in raw["page"]["html"]  # a summary; a stripped page
    assert fresh["article"]["body"] == "page" and fresh["dateline"]["raw"] == "VALLETTA, Oct 17 (Reuters)"
    assert fresh["attribution"]["credit"] == ["Reuters"] and fresh["attribution"]["photo"] == ["AFP"]
    assert fresh["page"]["accessible_for_free"] is True
