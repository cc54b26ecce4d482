"""story_id: one identity for the same story, whichever feed or fetch it came through."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.identity import canonical_url, publisher_of, story_id

FEED = "https://feeds.example-news.com/world.xml"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://www.Reuters.com/world/asia/story-1/", "https://reuters.com/world/asia/story-1"),
        ("https://reuters.com/world/asia/story-1?utm_source=rss&utm_medium=feed", "https://reuters.com/world/asia/story-1"),
        ("https://example.com:443/a?b=2&a=1#comments", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?id=7&fbclid=XYZ&ocid=rss", "https://example.com/a?id=7"),
        ("https://example.com:8080/", "https://example.com:8080/"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    ("url", "publisher"),
    [
        ("https://feeds.reuters.com/reuters/worldNews", "reuters.com"),
        ("https://www.bbc.co.uk/news/world", "bbc.co.uk"),
        ("https://www.smh.com.au/world", "smh.com.au"),
        ("https://www3.nhk.or.jp/news/", "nhk.or.jp"),
        ("http://127.0.0.1:8080/feed.xml", "127.0.0.1"),
    ],
)
def test_publisher_of(url, publisher):
    assert publisher_of(url) == publisher


def test_story_id_shape():
    assert re.fullmatch(r"[0-9a-f]{32}", story_id(guid="x-123", link=None, feed_url=FEED))


def test_same_guid_through_two_feeds_of_one_publisher():
    a = story_id(guid="idUSKBN31I0XY", link="https://www.reuters.com/a", feed_url="https://feeds.reuters.com/world")
    b = story_id(guid="idUSKBN31I0XY", link="https://reuters.com/a?utm_source=x", feed_url="https://feeds.reuters.com/top")
    assert a == b


def test_same_opaque_guid_at_two_publishers_differs():
    a = story_id(guid="12345", link="https://one.example/a", feed_url="https://one.example/feed")
    b = story_id(guid="12345", link="https://two.example/a", feed_url="https://two.example/feed")
    assert a != b


def test_permalink_guid_and_link_only_entry_agree():
    link = "https://www.straitstimes.com/asia/story"
    assert story_id(guid=link, link=link, feed_url=FEED) == story_id(guid=None, link=link + "?utm_medium=rss", feed_url=FEED)


@pytest.mark.parametrize("guid", [None, "", "  ", "1", FEED])
def test_guid_that_is_no_identifier_falls_back_to_the_link(guid):
    link = "https://example-news.com/story-9"
    assert story_id(guid=guid, link=link, feed_url=FEED) == story_id(guid=None, link=link, feed_url=FEED)


def test_no_guid_no_link_uses_a_content_hash():
    a = story_id(guid=None, link=None, feed_url=FEED, title="Quake hits", content="A  quake\nhit.")
    b = story_id(guid=None, link=None, feed_url=FEED, title="quake hits", content="a quake hit.")
    c = story_id(guid=None, link=None, feed_url=FEED, title="Quake hits", content="Another story.")
    assert a == b != c


@given(st.text(min_size=4).filter(lambda s: s.strip() and len(s.strip()) >= 4), st.sampled_from([FEED, "https://x.example/f"]))
def test_story_id_is_deterministic(guid, feed):
    assert story_id(guid=guid, link=None, feed_url=feed) == story_id(guid=guid, link=None, feed_url=feed)


@pytest.mark.parametrize("link", ["https://example.com:00</story", "http://[::1/story", "https://example.com:99999/x"])
def test_a_link_that_does_not_parse_identifies_the_story_by_its_content(link):
    by_link = story_id(guid=None, link=link, feed_url="https://example.com/feed", title="T", content="C")
    by_content = story_id(guid=None, link=None, feed_url="https://example.com/feed", title="T", content="C")
    assert by_link == by_content
