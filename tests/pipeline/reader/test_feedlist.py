"""Feed lists: plain text and OPML, with every problem reported by line or outline."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.reader.feedlist import FeedListError, FeedSource, load_feed_list


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def test_plain_list_with_comments_paths_and_fragments(tmp_path):
    (tmp_path / "local").mkdir()
    path = _write(tmp_path, "feeds.txt", """\
# wire services
https://feeds.example.com/world.xml
   https://feeds.example.com/asia.xml   # trailing comment

http://news.example.org/rss#section
local/saved.xml
""")
    assert load_feed_list(path) == [
        FeedSource("https://feeds.example.com/world.xml"),
        FeedSource("https://feeds.example.com/asia.xml"),
        FeedSource("http://news.example.org/rss#section"),
        FeedSource((tmp_path / "local" / "saved.xml").resolve().as_uri()),
    ]


def test_opml_nested_outlines(tmp_path):
    path = _write(tmp_path, "export.opml", """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Desk feeds</title></head><body>
  <outline text="Agencies">
    <outline type="rss" text="World" title="Wire World" xmlUrl="https://feeds.example.com/world.xml" htmlUrl="https://example.com"/>
    <outline text="Asia"><outline type="rss" text="Asia desk" xmlUrl="https://feeds.example.com/asia.xml"/></outline>
  </outline>
</body></opml>""")
    assert load_feed_list(path) == [
        FeedSource("https://feeds.example.com/world.xml", "Wire World"),
        FeedSource("https://feeds.example.com/asia.xml", "Asia desk"),
    ]


def test_every_bad_line_is_reported_at_once(tmp_path):
    path = _write(tmp_path, "feeds.txt", "ftp://files.example.com/feed.xml\nhttps://ok.example.com/a\n"
                                         "javascript:alert(1)\nhttps://ok.example.com/a\n")
    with pytest.raises(FeedListError) as caught:
        load_feed_list(path)
    message = str(caught.value)
    assert "line 1: 'ftp://files.example.com/feed.xml': scheme 'ftp' is not accepted" in message
    assert "line 3:" in message and "'javascript'" in message


def test_a_feed_listed_twice_is_an_error(tmp_path):
    path = _write(tmp_path, "feeds.txt", "https://ok.example.com/a\nhttps://ok.example.com/a\n")
    with pytest.raises(FeedListError, match="line 2: https://ok.example.com/a is listed twice"):
        load_feed_list(path)


@pytest.mark.parametrize("text, message", [
    ("# nothing here\n\n", "no feeds listed"),
    ('<opml version="2.0"><body><outline text="empty folder"/></body></opml>', "no <outline xmlUrl"),
    ('<rss version="2.0"/>', "expected <opml>"),
    ('<opml><body><outline xmlUrl="https://a.example.com/x"></body>', "not well-formed"),
    ('<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="https://a.example.com/&a;"/></body></opml>',
     "entity declarations"),
])
def test_unusable_lists(tmp_path, text, message):
    with pytest.raises(FeedListError, match=message):
        load_feed_list(_write(tmp_path, "feeds", text))


def test_missing_file(tmp_path):
    with pytest.raises(FeedListError, match="cannot read it"):
        load_feed_list(tmp_path / "nope.txt")


def test_a_feed_may_set_its_own_article_fetching(tmp_path):
    plain = _write(tmp_path, "feeds.txt", """\
https://feeds.example.com/world.xml fetch-articles=never
https://feeds.example.com/asia.xml   fetch-articles=always   # full pages wanted
https://feeds.example.com/europe.xml
""")
    assert [(s.url, s.fetch_articles) for s in load_feed_list(plain)] == [
        ("https://feeds.example.com/world.xml", "never"),
        ("https://feeds.example.com/asia.xml", "always"),
        ("https://feeds.example.com/europe.xml", None),
    ]
    opml = _write(tmp_path, "feeds.opml", """<?xml version="1.0"?><opml version="2.0"><body>
<outline text="A" xmlUrl="https://a.example.com/rss" fetchArticles="auto"/>
<outline text="B" xmlUrl="https://b.example.com/rss"/></body></opml>""")
    assert [s.fetch_articles for s in load_feed_list(opml)] == ["auto", None]
    bad = _write(tmp_path, "bad.txt", "https://feeds.example.com/x.xml fetch-articles=sometimes\n")
    with pytest.raises(FeedListError, match="line 1: .*'sometimes': use one of auto, always, never"):
        load_feed_list(bad)
