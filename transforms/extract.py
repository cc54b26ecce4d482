"""Extraction of one story: clean text → dateline → attribution, as plain functions.

    extract(html=..., published_at=...) -> Extraction        # one call, for code and tests
    to_fields(extraction) -> dict                            # the JSON shape of the enriched record
    enrich_record(raw, pipeline_version=..., processed_at=...) -> dict   # raw story → enriched story

The same work is also exposed as steps over a working dict, so a pipeline can run (and
count, and dead-letter) each stage on its own:

    work = start(raw)            # {"raw", "html", "text", "published_at"}
    work = clean_step(work)      # + "cleaned": Cleaned
    work = dateline_step(work)   # + "dateline": Dateline | None, "paragraphs": the body without it
    work = attribution_step(work)  # + "text": final text, "attribution": Attribution
    record = finish(work, pipeline_version=..., processed_at=..., input=...)

A step never changes the dict it is given; it returns a new one. A step raises
:class:`ExtractionError` (naming the stage) for input it cannot handle; the callers route it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import SCHEMA_VERSION
from schemas.timefmt import parse_rfc3339, to_rfc3339
from transforms.agencies import default_registry
from transforms.attribution import Attribution, find_attribution
from transforms.clean import Cleaned, HtmlTooDeepError, clean_html, clean_text
from transforms.dateline import Dateline, find_dateline, strip_dateline
from transforms.gazetteer import default_gazetteer
from transforms.page import PageArticle, clean_page, page_fields

# Raw-record fields that the enriched record does not carry (it has the cleaned text instead).
_RAW_ONLY = ("html", "text", "page")
_TAG = re.compile(r"<[^>]*>")


class ExtractionError(ValueError):
    """Input a stage cannot handle. ``stage``: "decode" (:func:`start`), "clean", "dateline",
    "attribution", or "extraction"/"finish" when steps were run out of order."""

    def __init__(self, stage: str, reason: str) -> None:
        self.stage = stage
        self.reason = reason
        super().__init__(f"{stage}: {reason}")


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything extracted from one story."""

    text: str  # cleaned text with the dateline cut, paragraphs separated by a blank line
    cleaned: Cleaned  # the cleaning result before the dateline was cut (paragraphs, removed)
    dateline: Dateline | None
    attribution: Attribution
    page: PageArticle | None = None  # what the story's web page gave, when it had one
    body: str = "feed"  # where the text came from: "page" or "feed"


def extract(*, html: str | None = None, text: str | None = None,
            published_at: datetime | None = None, page_html: str | None = None,
            url: str | None = None) -> Extraction:
    """Clean, find the dateline and the attribution of one story.

    Give ``html`` (preferred when a story has both) or ``text``, and/or the story's whole web
    page as ``page_html`` (its address as ``url``): the page's article body is used when it
    has one. ``published_at`` (an aware datetime) resolves the year of a dateline date such
    as "Dec 31".
    """
    page = None if page_html is None else {"html": page_html, "url": url}
    work = {"html": html, "text": text, "page": page, "published_at": published_at}
    return extraction_of(attribution_step(dateline_step(clean_step(work))))


def load_data() -> None:
    """Load the agency registry and the gazetteer now rather than with the first story
    (either way, once per process)."""
    default_registry()
    default_gazetteer()


def start(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The working dict for a raw story record (already validated against its schema)."""
    published = raw.get("published_at")
    try:
        published_at = parse_rfc3339(published) if published is not None else None
    except (TypeError, ValueError) as exc:
        raise ExtractionError("decode", f"published_at {published!r} is not RFC 3339: {exc}") from exc
    return {"raw": raw, "html": raw.get("html"), "text": raw.get("text"),
            "page": raw.get("page"), "published_at": published_at}


def clean_step(work: Mapping[str, Any]) -> dict[str, Any]:
    """Adds ``cleaned``: readable paragraphs and the boilerplate removed, from the article
    body of the story's web page when it has one (see transforms/page.py), else from html or
    text; and ``page_article``: what the page gave, or None."""
    html, text = work.get("html"), work.get("text")
    page = work.get("page")
    if page is not None:
        _require_str("clean", "page.html", page.get("html"))
        feed_chars = len(_TAG.sub("", html)) if isinstance(html, str) else len(text or "")
        cleaned, article = clean_page(page["html"], page.get("url"), feed_chars)
        work = {**work, "page_article": article}
        if cleaned is not None:
            return {**work, "cleaned": cleaned, "body": "page"}
    if html is not None:
        _require_str("clean", "html", html)
        try:
            cleaned = clean_html(html)
        except HtmlTooDeepError as exc:
            raise ExtractionError("clean", str(exc)) from None
    elif text is not None:
        _require_str("clean", "text", text)
        cleaned = clean_text(text)
    else:
        raise ExtractionError("clean", "the story has neither html nor text: nothing to extract")
    return {**work, "cleaned": cleaned}


def dateline_step(work: Mapping[str, Any]) -> dict[str, Any]:
    """Adds ``dateline`` (or None) and ``paragraphs``: the cleaned paragraphs without it."""
    paragraphs = _needs(work, "cleaned", "dateline", "clean_step").paragraphs
    dateline = find_dateline(paragraphs, work.get("published_at"))
    if dateline is not None:
        paragraphs = tuple(p for p in strip_dateline(paragraphs, dateline) if p)
    return {**work, "dateline": dateline, "paragraphs": paragraphs}


def attribution_step(work: Mapping[str, Any]) -> dict[str, Any]:
    """Adds ``text`` (the final text) and ``attribution`` found in it, in what cleaning
    removed and in the dateline."""
    paragraphs = _needs(work, "paragraphs", "attribution", "dateline_step")
    text = "\n\n".join(paragraphs)
    cleaned: Cleaned = work["cleaned"]
    attribution = find_attribution(text, cleaned.removed, work["dateline"])
    return {**work, "text": text, "attribution": attribution}


def extraction_of(work: Mapping[str, Any]) -> Extraction:
    """The :class:`Extraction` held by a working dict that went through all three steps."""
    _needs(work, "attribution", "extraction", "attribution_step")
    return Extraction(text=work["text"], cleaned=work["cleaned"], dateline=work["dateline"],
                      attribution=work["attribution"], page=work.get("page_article"),
                      body=work.get("body", "feed"))


def to_fields(extraction: Extraction) -> dict[str, Any]:
    """The extraction as the JSON-ready fields of an enriched record."""
    return _fields(extraction.text, extraction.cleaned, extraction.dateline,
                   extraction.attribution)


def _fields(text: str, cleaned: Cleaned, dateline: Dateline | None,
            attribution: Attribution) -> dict[str, Any]:
    """``to_fields`` from the parts of an extraction (``finish`` makes no Extraction)."""
    return {
        "text": text,
        "cleaning": {"removed": [{"kind": r.kind, "text": r.text} for r in cleaned.removed]},
        "dateline": None if dateline is None else {
            "raw": dateline.raw,
            "locations": [
                {"name": p.name, "normalized": p.normalized, "country": p.country,
                 "lat": p.lat, "lon": p.lon, "geonameid": p.geonameid, "admin1": p.admin1}
                for p in dateline.places
            ],
            "date": None if dateline.date_raw is None else {
                "raw": dateline.date_raw, "iso": dateline.date_iso},
        },
        "attribution": {
            "credit": list(attribution.credit),
            "cited": list(attribution.cited),
            "photo": list(attribution.photo),
            "contributors": [{"name": c.name, "role": c.role} for c in attribution.contributors],
            "findings": [
                {"agency": f.agency, "role": f.role, "rule": f.rule, "field": f.field,
                 "index": f.index, "start": f.start, "end": f.end,
                 "photographer": f.photographer}
                for f in attribution.findings
            ],
        },
    }


def finish(work: Mapping[str, Any], *, pipeline_version: str, processed_at: datetime | str,
           input: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The enriched record for a working dict made by :func:`start` and the three steps.

    ``processed_at`` is an aware datetime or an RFC 3339 string; ``input`` is where the raw
    record was read ({"topic", "partition", "offset"}) or None.
    """
    raw = _needs(work, "raw", "finish", "start")
    attribution = _needs(work, "attribution", "extraction", "attribution_step")
    record = {key: value for key, value in raw.items() if key not in _RAW_ONLY}
    record["schema_version"] = SCHEMA_VERSION  # the enriched schema's, whatever the raw's was
    record.update(page_fields(raw, work.get("page_article"), work.get("body") == "page"))
    record.update(_fields(work["text"], work["cleaned"], work["dateline"], attribution))
    record["processing"] = {
        "pipeline_version": pipeline_version,
        "processed_at": to_rfc3339(processed_at) if isinstance(processed_at, datetime)
        else processed_at,
        "input": None if input is None else dict(input),
    }
    return record


def enrich_record(raw: Mapping[str, Any], *, pipeline_version: str, processed_at: datetime | str,
                  input: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Raw story record → enriched story record (schemas/enriched_story.schema.json).

    The raw record's ``published_at`` resolves the dateline date; html is used when present,
    else text. Raises :class:`ExtractionError` for a story it cannot extract.
    """
    work = attribution_step(dateline_step(clean_step(start(raw))))
    return finish(work, pipeline_version=pipeline_version, processed_at=processed_at, input=input)


def _require_str(stage: str, field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ExtractionError(stage, f"{field} must be a string, not {type(value).__name__}")


def _needs(work: Mapping[str, Any], key: str, stage: str, producer: str) -> Any:
    try:
        return work[key]
    except KeyError:
        raise ExtractionError(
            stage, f"the working dict has no {key!r}: run {producer}() before this step"
        ) from None
