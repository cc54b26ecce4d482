"""The worked example in schemas/README.md is what the extractors really produce."""

from __future__ import annotations

import json

from schemas import ENRICHED_STORY
from scripts.make_schema_examples import EXAMPLES, seed_enriched


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
