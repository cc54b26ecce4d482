"""Article pages: the body trafilatura finds, what we put back, the page's metadata, and the
pipeline's path for a raw record holding a page (pages written for these tests)."""

from __future__ import annotations

import copy
import json

import pytest
from trafilatura.utils import load_html

from schemas import ENRICHED_STORY, SCHEMA_VERSION
from scripts.make_schema_examples import EXAMPLES
from tests.pages import PAYWALL_STUB, SCRIPT_ONLY, article_page, raw_with_page
from transforms.extract import enrich_record, extract
from transforms.metadata import page_metadata
from transforms.page import MIN_BODY_CHARS, extract_page

PROCESSING = {"pipeline_version": "test", "processed_at": "2026-12-01T08:00:00Z"}


def test_the_body_keeps_byline_caption_credit_dateline_and_signoff():
    article = extract_page(article_page("Port reopens"), "https://herald.example.org/p")
    body = article.body_html
    assert body.index("PHOTO: AFP") < body.index("HARBOUR CITY (Reuters)")
    assert "Ana Lima" not in body  # a byline by its markup: removed as such
    assert body.rstrip().endswith("<p>REUTERS</p>")
    assert "Port reopens</p>" not in body  # the headline is metadata, not body
    assert "window.tracking" not in body and "Storm closes port" not in body
    assert [(r.kind, r.text) for r in article.removed][:1] == [("byline", "By Ana Lima")]
    assert [r.kind for r in article.removed][1:] == ["navigation", "related", "footer"]
    assert article.text_chars > MIN_BODY_CHARS


def test_page_metadata_from_json_ld_and_open_graph():
    tree = load_html(article_page("Port reopens", free=False))
    meta = page_metadata(tree, "https://herald.example.org/news/p")
    assert meta.headline == "Port reopens"
    assert meta.authors == ("Ana Lima",)
    assert meta.published_at == "2026-12-01T06:30:00Z"  # +01:00 turned into UTC
    assert meta.section == "Business" and meta.language == "en"
    assert meta.accessible_for_free is False
    assert meta.canonical_url is None  # the page names none


@pytest.mark.parametrize(
    ("head", "field", "value"),
    [
        ('<link rel="canonical" href="/world/p">', "canonical_url", "https://herald.example.org/world/p"),
        ('<meta property="og:url" content="https://herald.example.org/og">', "canonical_url",
         "https://herald.example.org/og"),
        ('<meta property="article:modified_time" content="2026-12-01T09:00:00Z">', "modified_at",
         "2026-12-01T09:00:00Z"),
    ],
)
def test_page_metadata_from_meta_tags(head, field, value):
    tree = load_html(article_page("Port reopens", extra_head=head))
    assert getattr(page_metadata(tree, "https://herald.example.org/news/p"), field) == value


def test_json_ld_in_a_graph_and_broken_json_ld():
    page = ('<html><head><script type="application/ld+json">{not json</script>'
            '<script type="application/ld+json">{"@graph": [{"@type": "WebPage"}, {"@type": '
            '["NewsArticle"], "headline": "In a graph", "author": ["Jo Bloggs", {"name": "Kim Lee"}], '
            '"datePublished": "2026-12-01T10:00:00", "isAccessibleForFree": "False"}]}</script>'
            "</head><body><p>x</p></body></html>")
    meta = page_metadata(load_html(page))
    assert meta.headline == "In a graph" and meta.authors == ("Jo Bloggs", "Kim Lee")
    assert meta.published_at is None  # no zone: ambiguous, left out
    assert meta.accessible_for_free is False


def test_a_raw_record_with_a_page_is_enriched_from_the_page():
    record = enrich_record(raw_with_page(article_page("Port reopens")), **PROCESSING)
    ENRICHED_STORY.validate(record)
    assert record["article"]["body"] == "page" and record["article"]["outcome"] == "fetched"
    assert record["dateline"]["raw"] == "HARBOUR CITY (Reuters)"
    assert record["attribution"]["credit"] == ["Reuters"] and record["attribution"]["photo"] == ["AFP"]
    assert record["text"].startswith("The port authority reopened")
    assert record["title"] == "Port reopens" and record["authors"] == ["Ana Lima"]  # from the page
    assert record["published_at"] == "2026-12-01T06:30:00Z"
    assert record["page"]["accessible_for_free"] is True
    kinds = [r["kind"] for r in record["cleaning"]["removed"]]
    assert kinds[:3] == ["caption", "photo_credit", "byline"] and "navigation" in kinds
    assert record["attribution"]["contributors"] == [{"name": "Ana Lima", "role": "byline"}]
    assert "page" not in record["processing"] and "html" not in record


@pytest.mark.parametrize("page", [PAYWALL_STUB, SCRIPT_ONLY], ids=["paywall", "script-only"])
def test_a_page_without_an_article_leaves_the_feed_text(page):
    record = enrich_record(raw_with_page(page, outcome="too_little_text"), **PROCESSING)
    ENRICHED_STORY.validate(record)
    assert record["article"]["body"] == "feed" and record["text"] == "The port reopened."


def test_an_old_raw_record_enriches_as_before():
    raw = json.loads((EXAMPLES / "seed-raw.json").read_text("utf-8"))
    raw = {k: v for k, v in raw.items() if k not in ("article", "page")} | {"schema_version": "1.0"}
    record = enrich_record(copy.deepcopy(raw), **PROCESSING)
    assert "article" not in record and "page" not in record
    assert record["schema_version"] == SCHEMA_VERSION  # what the pipeline writes now


def test_extract_takes_a_whole_page():
    extraction = extract(page_html=article_page("Port reopens"), url="https://herald.example.org/p")
    assert extraction.body == "page" and extraction.dateline.raw == "HARBOUR CITY (Reuters)"
    assert extraction.page.metadata.headline == "Port reopens"
