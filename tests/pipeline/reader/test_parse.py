"""Parsing fetched documents into raw story records: every fixture feed meets the
expectations written in its own header; encodings, identities and fingerprints."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.reader.parse import decode_document, fingerprint, parse_feed
from schemas import RAW_STORY
from schemas.identity import story_id
from tests.pipeline.reader.feedfixtures import FIXTURE_DIR, all_fixtures, load_fixture

FEED_URL = "https://feeds.example.com/latest.xml"
FETCHED = datetime(2023, 10, 17, 9, 5, 12, tzinfo=timezone.utc)
SEED_RAW = Path(__file__).parents[3] / "schemas" / "examples" / "seed-raw.json"


def _field(record: dict, dotted: str):
    value = record
    for part in dotted.split("."):
        value = value[part]
    return value


def _parse(fixture, **kwargs):
    headers = {name.lower(): value for name, value in fixture.headers.items()}
    return parse_feed(fixture.body, feed_url=FEED_URL, fetched_at=FETCHED, headers=headers, **kwargs)


@pytest.mark.parametrize("fixture", all_fixtures(), ids=lambda fixture: fixture.name)
def test_fixture_feed_meets_its_stated_expectations(fixture):
    expect = fixture.expect
    result = _parse(fixture)
    if not fixture.readable:
        assert result.error and expect["error"] in result.error
        assert result.entries == []
        return
    assert result.error is None
    if "feed_title" in expect:
        assert result.title == expect["feed_title"]
    if "interval_hint" in expect:
        assert result.interval_hint == expect["interval_hint"]
    if expect["problems"] == []:
        assert result.problems == []
    for wanted in expect["problems"]:
        assert any(wanted in problem for problem in result.problems), (wanted, result.problems)
    assert len(result.entries) == len(expect["records"])
    assert len({entry.story_id for entry in result.entries}) == len(result.entries)
    for entry, wanted in zip(result.entries, expect["records"]):
        record = entry.record
        RAW_STORY.validate(record)
        assert record["story_id"] == entry.story_id
        assert record["fetched_at"] == "2023-10-17T09:05:12Z"
        assert record["source"]["feed_url"] == FEED_URL
        for key, value in wanted.items():
            if key == "html_contains":
                for part in value:
                    assert part in record["html"], (part, record["html"])
            elif key == "story_id_same_as_link":
                assert entry.story_id == story_id(guid=None, link=value, feed_url=FEED_URL)
            else:
                assert _field(record, key) == value, key


def test_the_seed_story_gets_the_story_id_of_the_schema_example():
    seed = json.loads(SEED_RAW.read_text("utf-8"))
    result = _parse(load_fixture(FIXTURE_DIR / "rss20-content-encoded.xml"))
    first = result.entries[0].record
    assert first["story_id"] == seed["story_id"]
    assert first["title"] == seed["title"]
    assert first["html"] == seed["html"]


@pytest.mark.parametrize(
    "data, content_type, text, encoding, note",
    [
        pytest.param('<?xml version="1.0" encoding="ISO-8859-1"?><r>São “x”</r>'.encode(), None,
                     "São “x”", "utf-8", "declared ISO-8859-1 but the bytes are UTF-8", id="utf8-declared-latin1"),
        pytest.param('<?xml version="1.0" encoding="windows-1252"?><r>Café ’</r>'.encode("cp1252"), None,
                     "Café ’", "cp1252", None, id="declared-windows-1252"),
        pytest.param('<?xml version="1.0" encoding="windows-1251"?><r>Москва</r>'.encode("cp1251"), None,
                     "Москва", "cp1251", None, id="declared-windows-1251"),
        pytest.param("<r>Москва</r>".encode("koi8-r"), "text/xml; charset=KOI8-R",
                     "Москва", "koi8-r", None, id="http-charset-only"),
        pytest.param('<?xml version="1.0" encoding="Shift_JIS"?><r>東京</r>'.encode("shift_jis"), None,
                     "東京", "shift_jis", None, id="declared-shift-jis"),
        pytest.param('\ufeff<?xml version="1.0" encoding="utf-16"?><r>Zürich</r>'.encode("utf-16-le"), None,
                     '<?xml version="1.0" encoding="utf-16"?><r>Zürich</r>', "utf-16-le", None, id="utf16-bom"),
        pytest.param("<r>Müller</r>".encode("latin-1"), None,
                     "<r>Müller</r>", "utf-8", "invalid bytes were read as Windows-1252", id="undeclared-latin1"),
        pytest.param(b"<r>plain ascii</r>", "text/xml; charset=iso-8859-1",
                     "<r>plain ascii</r>", "utf-8", None, id="ascii-any-declaration"),
    ],
)
def test_decode_document(data, content_type, text, encoding, note):
    got_text, got_encoding, got_note = decode_document(data, content_type)
    assert text in got_text
    assert got_encoding == encoding
    assert (note is None and got_note is None) or (note and note in got_note)


def _rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        '<link>https://news.example.org/</link>' + "".join(items) + "</channel></rss>"
    ).encode()


def _item(title: str, guid: str | None, link: str | None, body: str = "<p>Body.</p>") -> str:
    parts = [f"<title>{title}</title>"]
    if guid:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if link:
        parts.append(f"<link>{link}</link>")
    parts.append(f"<description><![CDATA[{body}]]></description>")
    return "<item>" + "".join(parts) + "</item>"


def _entries(data: bytes, **kwargs):
    return parse_feed(data, feed_url=FEED_URL, fetched_at=FETCHED, **kwargs).entries


def test_an_edit_keeps_the_story_id_and_changes_the_fingerprint():
    before = _entries(_rss(_item("Quake hits coast", "nx-1", "https://news.example.org/a")))[0]
    after = _entries(_rss(_item("Quake hits coast, 12 dead", "nx-1", "https://news.example.org/a")))[0]
    reworded = _entries(_rss(_item("Quake hits coast", "nx-1", "https://news.example.org/a", "<p>New.</p>")))[0]
    assert before.story_id == after.story_id == reworded.story_id
    assert len({before.fingerprint, after.fingerprint, reworded.fingerprint}) == 3


def test_whitespace_is_not_an_edit():
    assert fingerprint("A  title", "<p>x\n y</p>", None) == fingerprint("A title ", "<p>x y</p>", None)


def test_a_guid_once_found_shared_stays_untrusted_for_that_feed():
    """After a poll showed two different entries with one guid, a later poll where that guid
    appears once must identify the entry the same way (by link), or it would be a new story."""
    shared = _rss(_item("One", "home", "https://news.example.org/one"),
                  _item("Two", "home", "https://news.example.org/two"))
    first = parse_feed(shared, feed_url=FEED_URL, fetched_at=FETCHED)
    assert first.colliding_guids == {"home"}
    later = _entries(_rss(_item("One", "home", "https://news.example.org/one")),
                     unreliable_guids=first.colliding_guids)
    assert later[0].story_id == first.entries[0].story_id
    naive = _entries(_rss(_item("One", "home", "https://news.example.org/one")))
    assert naive[0].story_id != first.entries[0].story_id


def test_entries_sharing_guid_and_link_fall_back_to_their_content():
    data = _rss(_item("Morning briefing", "briefing", "https://news.example.org/briefing", "<p>Mon</p>"),
                _item("Evening briefing", "briefing", "https://news.example.org/briefing", "<p>Tue</p>"))
    entries = _entries(data)
    assert len(entries) == 2
    assert entries[0].story_id != entries[1].story_id


def test_content_prefers_content_over_summary_and_keeps_plain_text_as_text():
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
      <entry><id>tag:a.example,2023:1</id><title>x</title>
      <summary type="html">&lt;p&gt;short&lt;/p&gt;</summary>
      <content type="text">The full text, as plain text.</content></entry></feed>"""
    record = _entries(atom)[0].record
    assert record["text"] == "The full text, as plain text."
    assert record["html"] is None


def test_bad_character_references_become_replacement_characters():
    from pipeline.reader.parse import replace_bad_char_refs

    text, count = replace_bad_char_refs("a&#xD800;b&amp;#56320;c&#x10FFFF;&#65;&#0000000000065;&amp;amp;#x110000;")
    assert text == "a&#xFFFD;b&amp;#xFFFD;c&#x10FFFF;&#65;&#xFFFD;&amp;amp;#xFFFD;" and count == 4


def test_cap_entries_keeps_the_first_entries_and_the_closing_tags():
    from pipeline.reader.parse import cap_entries

    atom = "<feed>" + "".join(f"<entry><id>{i}</id></entry>" for i in range(5)) + "</feed>"
    capped, dropped = cap_entries(atom, 2)
    assert capped == "<feed><entry><id>0</id></entry><entry><id>1</id></entry></feed>" and dropped == 3
    assert cap_entries(atom, 5) == (atom, 0) and cap_entries(atom, 9) == (atom, 0)
    parsed = parse_feed(atom.encode(), feed_url="https://a.example.com/f", fetched_at=FETCHED, max_entries=2)
    assert len(parsed.entries) == 2 and "3 entries after the first 2 not read" in parsed.problems[0]
    # items never closed are entries to feedparser's loose parser: counted by their start tags
    unclosed = "<rss><channel>" + "".join(f"<item><guid>u-{i}</guid>" for i in range(5)) + "</channel></rss>"
    assert cap_entries(unclosed, 2) == (("<rss><channel><item><guid>u-0</guid><item><guid>u-1</guid>"
                                        "</channel></rss>"), 3)
    parsed = parse_feed(unclosed.encode(), feed_url="https://a.example.com/f", fetched_at=FETCHED, max_entries=2)
    assert len(parsed.entries) == 2


def test_a_refused_field_is_emptied_and_the_entry_kept():
    from pipeline.reader.parse import encode_repaired
    from schemas import RAW_STORY, RecordError

    (entry,) = parse_feed(b'<rss version="2.0"><channel><title>T</title><item><guid>g-1</guid><title>x</title>'
                          b"</item></channel></rss>", feed_url="https://a.example.com/f", fetched_at=FETCHED).entries
    record = {**entry.record, "revision": 1, "published_at": "not a time", "language": 7,
              "source": {**entry.record["source"], "link": ["no"]}}
    value, notes = encode_repaired(record, RAW_STORY)
    decoded = RAW_STORY.decode(value)
    assert decoded["published_at"] is None and decoded["language"] is None and decoded["source"]["link"] is None
    assert len(notes) == 3 and any(note.startswith("published_at emptied (") for note in notes)
    with pytest.raises(RecordError, match="story_id"):
        encode_repaired({**record, "story_id": "nope"}, RAW_STORY)


def test_cap_tags_cuts_before_the_first_tag_too_many():
    from pipeline.reader.parse import cap_tags

    assert cap_tags("<a><b>&lt;c&gt;<d>", 3) == ("<a><b>&lt;c&gt;", True)
    assert cap_tags("<a><b>&lt;c&gt;", 3) == ("<a><b>&lt;c&gt;", False)


@pytest.mark.parametrize("html", ["x" * 800_000, "é" * 690_000, '"' * 400_000])
def test_a_text_over_the_schemas_limits_is_trimmed_to_fit(html):
    from pipeline.reader.parse import encode_repaired
    from schemas import RAW_STORY

    (entry,) = parse_feed(b'<rss version="2.0"><channel><title>T</title><item><guid>g-1</guid><title>x</title>'
                          b"</item></channel></rss>", feed_url="https://a.example.com/f", fetched_at=FETCHED).entries
    value, notes = encode_repaired({**entry.record, "revision": 1, "html": html}, RAW_STORY)
    kept = RAW_STORY.decode(value)["html"]
    assert len(value) <= RAW_STORY.limits.max_record_bytes and html.startswith(kept) and len(kept) > 250_000
    assert notes and all(note.startswith("html trimmed from ") for note in notes)


def test_a_bare_ampersand_in_a_malformed_feed_stays_an_ampersand():
    # The loose parser reads "R&D hub" as an unknown entity &D and writes "R&D; hub".
    body = (b"<rss version='2.0'><channel><title>T</title>"
            b"<item><guid>a</guid><title>Penang R&D hub</title><description>AT&T &amp; R&D&#33;"
            b"</description></item>"
            b"<item><guid>b</guid><title><![CDATA[Q&A &amp; more]]></title></item>"
            b"</channel></rss>")
    feed = parse_feed(body, feed_url="http://127.0.0.1/f.rss", fetched_at=datetime.now(timezone.utc))
    assert feed.malformed and "not well-formed" in feed.problems[0]
    records = [entry.record for entry in feed.entries]
    assert [r["title"] for r in records] == ["Penang R&D hub", "Q&A & more"]
    assert records[0]["html"] == "AT&amp;T & R&amp;D!"  # as HTML: "AT&T & R&D!"


def test_the_malformed_sample_feed_keeps_its_ampersand():
    sample = Path(__file__).resolve().parents[3] / "pipeline" / "data" / "sample_feeds"
    feed = parse_feed((sample / "bernama-malformed.rss").read_bytes(),
                      feed_url="http://127.0.0.1/bernama-malformed.rss",
                      fetched_at=datetime.now(timezone.utc))
    assert "Penang R&D hub draws new semiconductor investment" in [
        entry.record["title"] for entry in feed.entries]
