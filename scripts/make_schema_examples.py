"""Regenerate schemas/examples/seed-enriched.json from seed-raw.json, and page-enriched.json
from page-raw.json (a summary-only entry with its article page), with the real extractors.

The worked example in schemas/README.md must be what the pipeline really produces;
tests/schemas/test_examples.py fails when it is not. Run after changing the extractors:

    .venv/bin/python -m scripts.make_schema_examples
"""

from __future__ import annotations

import json
from pathlib import Path

from transforms.extract import enrich_record

EXAMPLES = Path(__file__).resolve().parents[1] / "schemas" / "examples"
# Fixed processing metadata, so the file changes only when the extraction does.
PROCESSING = {
    "pipeline_version": "0.1.0",
    "processed_at": "2023-10-17T09:05:13Z",
    "input": {"topic": "news.raw", "partition": 0, "offset": 0},
}


def enriched(name: str) -> dict:
    """The enriched record of ``examples/<name>-raw.json``."""
    raw = json.loads((EXAMPLES / f"{name}-raw.json").read_text("utf-8"))
    return enrich_record(raw, **PROCESSING)


def seed_enriched() -> dict:
    return enriched("seed")


def main() -> None:
    for name in ("seed", "page"):
        path = EXAMPLES / f"{name}-enriched.json"
        path.write_text(json.dumps(enriched(name), indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
