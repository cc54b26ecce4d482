"""The bundled sample feeds keep what their header comments promise, and the local server
that `newswire run` serves them from answers like a real publisher's (conditional GET)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import formatdate
from pathlib import Path

import feedparser
import httpx
import pytest

from pipeline.reader.feedlist import load_feed_list
from pipeline.reader.parse import parse_feed
from pipeline.sample_feeds import SAMPLE_DIR, SAMPLE_OPML, FeedServer, served_feed_list
from transforms.extract import ExtractionError, enrich_record

FEEDS = sorted(p for p in SAMPLE_DIR.iterdir() if p.suffix in (".rss", ".atom", ".rdf"))
MALFORMED = SAMPLE_DIR / "bernama-malformed.rss"
SEED_LINK = ("https://www.straitstimes.com/asia/east-asia/"
             "us-envoy-calls-alleged-north-korea-russia-weapons-delivery-dangerous")
_EXPECTED = re.compile(r"Expected: (\d+) well-formed entries, all enriched(?:; credit (\w+) on every one)?")


def header(path: Path) -> str:
    text = path.read_text("utf-8")
    match = re.match(r'<\?xml[^>]*\?>\s*<!--(.*?)-->', text, re.DOTALL)
    assert match, f"{path.name}: no header comment right after the XML declaration"
    return match.group(1)


def parsed(path: Path):
    return parse_feed(path.read_bytes(), feed_url=f"http://127.0.0.1/{path.name}",
                      fetched_at=datetime(2023, 10, 17, 10, 0, tzinfo=timezone.utc))


def enriched(record: dict) -> dict:
    return enrich_record(record, pipeline_version="test", processed_at="2023-10-17T10:00:00Z")


def test_the_sample_is_big_and_varied_enough():
    documents = {p.name: feedparser.parse(p.read_bytes()) for p in FEEDS if p != MALFORMED}
    assert {d.version for d in documents.values()} >= {"rss20", "rss10", "atom10"}
    entries = [e for d in documents.values() for e in d.entries]
    assert len(entries) >= 50
    publishers = {parsed(p).entries[0].record["source"]["publisher"] for p in FEEDS}
    assert len(publishers) >= 5


@pytest.mark.parametrize("path", [p for p in FEEDS if p != MALFORMED], ids=lambda p: p.name)
def test_well_formed_feed_keeps_the_promise_of_its_header(path):
    text = header(path)
    assert text.strip().startswith("newswire sample feed:")
    expected = _EXPECTED.search(" ".join(text.split()))
    assert expected, f"{path.name}: the header does not state 'Expected: N well-formed entries ...'"
    assert not feedparser.parse(path.read_bytes()).bozo, f"{path.name} is not well-formed"
    feed = parsed(path)
    assert not feed.problems and len(feed.entries) == int(expected.group(1))
    for entry in feed.entries:
        story = enriched(entry.record)
        if expected.group(2):
            assert expected.group(2) in story["attribution"]["credit"], entry.record["title"]


def test_malformed_feed_is_reported_and_what_can_be_saved_is_kept():
    text = " ".join(header(MALFORMED).split())
    assert "DELIBERATELY MALFORMED" in text
    assert feedparser.parse(MALFORMED.read_bytes()).bozo
    feed = parsed(MALFORMED)
    assert feed.malformed and feed.error is None
    assert any("not well-formed" in problem for problem in feed.problems)
    assert any("1 unfinished entry skipped" in problem for problem in feed.problems)
    titles = [entry.record["title"] for entry in feed.entries]
    assert len(titles) == 3
    stories = [enriched(entry.record) for entry in feed.entries[:2]]
    assert [s["attribution"]["credit"] for s in stories] == [["Bernama"], ["Bernama"]]
    empty = feed.entries[2].record
    assert empty["title"].startswith("URGENT:") and empty["html"] is None and empty["text"] is None
    with pytest.raises(ExtractionError, match="clean: the story has neither html nor text"):
        enriched(empty)


def test_the_seed_story_is_in_the_sample_as_the_straits_times_republished_it(seed_story):
    lines = [line for line in seed_story.splitlines() if line.strip()]
    feed = parsed(SAMPLE_DIR / "straitstimes-asia.rss")
    (seed,) = [e.record for e in feed.entries if e.record["source"]["link"] == SEED_LINK]
    assert seed["title"] == lines[0]
    assert seed["html"] == "".join(f"<p>{line}</p>" for line in lines[1:])
    assert seed["story_id"] == "810147c4df963cd2ff5d47641cea963a"  # schemas/examples/seed-raw.json
    assert seed["published_at"] == "2023-10-17T09:02:00Z"
    story = enriched(seed)
    assert [(p["name"], p["country"]) for p in story["dateline"]["locations"]] == [
        ("JAKARTA", "ID"), ("SEOUL", "KR")]
    assert story["attribution"]["credit"] == ["Reuters"]
    assert story["attribution"]["cited"] == ["TASS", "KCNA"]
    assert story["attribution"]["photo"] == ["AFP"]


def test_the_opml_lists_every_feed_once():
    listed = load_feed_list(SAMPLE_OPML)
    assert sorted(Path(s.url.removeprefix("file://")).name for s in listed) == [p.name for p in FEEDS]


# --- the local server -------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with FeedServer(SAMPLE_DIR) as running:
        yield running


def test_serves_a_feed_with_validators_and_its_content_type(server):
    response = httpx.get(server.url_for("kyodo-news.rdf"))
    assert response.status_code == 200
    assert response.content == (SAMPLE_DIR / "kyodo-news.rdf").read_bytes()
    assert response.headers["content-type"] == "application/rdf+xml; charset=utf-8"
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["content-encoding"] == "gzip"  # httpx asks for it, then decodes


def test_answers_conditional_gets_with_304(server):
    url = server.url_for("reuters-world.rss")
    first = httpx.get(url)
    before = server.responses[304]
    by_etag = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    by_date = httpx.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    stale_tag = httpx.get(url, headers={"If-None-Match": '"other"',
                                        "If-Modified-Since": first.headers["last-modified"]})
    old_date = httpx.get(url, headers={"If-Modified-Since": formatdate(0, usegmt=True)})
    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_date.status_code == 304
    assert stale_tag.status_code == 200  # If-None-Match wins over If-Modified-Since
    assert old_date.status_code == 200
    assert server.responses[304] == before + 2


@pytest.mark.parametrize("path", ["/nope.rss", "/", "/..%2Fsample_feeds.py", "/.hidden"])
def test_only_files_of_the_folder_are_served(server, path):
    assert httpx.get(server.base_url + path).status_code == 404


def test_served_feed_list_points_the_reader_at_the_server(server, tmp_path):
    listed = load_feed_list(served_feed_list(SAMPLE_OPML, server, tmp_path / "feeds.opml"))
    assert [s.url for s in listed] == [
        server.url_for(Path(s.url).name) for s in load_feed_list(SAMPLE_OPML)]
    assert all(httpx.get(s.url).status_code == 200 for s in listed)
