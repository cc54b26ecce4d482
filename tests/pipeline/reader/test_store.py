"""The SQLite store: revisions, the outbox, feed state across restarts."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from pipeline.reader.feedlist import FeedSource
from pipeline.reader.parse import ParsedEntry, fingerprint
from pipeline.reader.store import Store, StoreError
from schemas import RAW_STORY


def _entry(sid: str, title: str, html: str = "<p>Body</p>") -> ParsedEntry:
    record = {
        "schema_version": "1.0", "story_id": sid, "revision": 1,
        "source": {"feed_url": "https://a.example.com/feed", "feed_title": None,
                   "publisher": "example.com", "entry_id": None, "link": None},
        "title": title, "authors": [], "categories": [], "language": None, "published_at": None,
        "updated_at": None, "fetched_at": "2023-10-17T09:00:00Z", "html": html, "text": None,
    }
    return ParsedEntry(sid, fingerprint(title, html, None), None, record)


def _record(store: Store, feed_id: int, entries: list[ParsedEntry], **kwargs):
    return store.record_document(
        feed_id, polled_at=100.0, status=200, next_poll_at=200.0, entries=entries, title="Feed",
        interval_s=None, etag='"v1"', last_modified=None, body_hash="h", **kwargs,
    )


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "reader.sqlite3") as store:
        yield store


def test_new_unchanged_and_edited_entries(store):
    (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
    a, b = "a" * 32, "b" * 32
    counts = _record(store, feed.id, [_entry(a, "Quake"), _entry(b, "Flood")])
    assert (counts.new, counts.revisions, counts.unchanged) == (2, 0, 0)
    counts = _record(store, feed.id, [_entry(a, "Quake, 12 dead"), _entry(b, "Flood")])
    assert (counts.new, counts.revisions, counts.unchanged) == (0, 1, 1)
    counts = _record(store, feed.id, [_entry(a, "Quake, 12 dead"), _entry(b, "Flood")])
    assert (counts.new, counts.revisions, counts.unchanged) == (0, 0, 2)
    queued = [(row.story_id, row.revision) for row in store.pending(10)]
    assert queued == [(a, 1), (b, 1), (a, 2)]
    values = [RAW_STORY.decode(row.value) for row in store.pending(10)]
    assert [v["revision"] for v in values] == [1, 1, 2] and values[2]["title"] == "Quake, 12 dead"


def test_outbox_rows_leave_only_when_marked_and_count_per_feed(store):
    (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
    _record(store, feed.id, [_entry("a" * 32, "Quake"), _entry("b" * 32, "Flood")])
    rows = store.pending(10)
    store.mark_published(rows[:1])
    store.mark_published(rows[:1])  # a repeated acknowledgement counts once
    assert [row.seq for row in store.pending(10)] == [rows[1].seq]
    assert store.pending_count() == 1 and store.feed(feed.id).entries_published == 1


def test_a_story_carried_by_two_feeds_is_published_once(store):
    one, two = store.sync_feeds([FeedSource("https://a.example.com/world"), FeedSource("https://a.example.com/top")])
    _record(store, one.id, [_entry("a" * 32, "Quake")])
    counts = _record(store, two.id, [_entry("a" * 32, "Quake (top stories)")])
    assert counts.seen_elsewhere == 1 and counts.queued == 0
    counts = _record(store, two.id, [_entry("a" * 32, "Quake (top stories), 12 dead")])
    assert counts.revisions == 1  # an edit in the second feed is an edit
    assert [row.revision for row in store.pending(10)] == [1, 2]


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "reader.sqlite3"
    with Store(path) as store:
        (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
        _record(store, feed.id, [_entry("a" * 32, "Quake")], moved_to="https://b.example.com/feed")
    with Store(path) as store:
        (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
        assert feed.url == "https://b.example.com/feed" and feed.etag == '"v1"'
        assert feed.name == "https://b.example.com/feed (listed as https://a.example.com/feed)"
        assert store.pending_count() == 1
        assert _record(store, feed.id, [_entry("a" * 32, "Quake")]).unchanged == 1


def test_feeds_no_longer_listed_are_kept_inactive(store):
    store.sync_feeds([FeedSource("https://a.example.com/1"), FeedSource("https://a.example.com/2")])
    active = store.sync_feeds([FeedSource("https://a.example.com/2")])
    assert [f.listed_url for f in active] == ["https://a.example.com/2"]
    assert len(store.feeds(include_inactive=True)) == 2
    assert store.due(now=1e12) == [(active[0].id, "https://a.example.com/2")]


def test_a_field_the_schema_refuses_is_emptied_and_the_entry_queued(store):
    (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
    bad = _entry("c" * 32, "Bad date")
    bad.record["published_at"] = "yesterday"
    counts = _record(store, feed.id, [bad, _entry("a" * 32, "Good")])
    assert counts.new == 2 and not counts.invalid and "published_at emptied" in counts.repaired[0]
    assert "1 entries kept with a field trimmed or emptied" in store.feed(feed.id).last_problem
    queued = {row.story_id: RAW_STORY.decode(row.value) for row in store.pending(10)}
    assert queued["c" * 32]["published_at"] is None and queued["c" * 32]["title"] == "Bad date"


def test_a_record_whose_identity_the_schema_refuses_is_reported_not_queued(store):
    (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
    bad = _entry("c" * 32, "Bad")
    bad.record["source"] = {**bad.record["source"], "feed_url": ""}
    counts = _record(store, feed.id, [bad, _entry("a" * 32, "Good")])
    assert counts.new == 1 and "source.feed_url" in counts.invalid[0]
    assert "record refused" in store.feed(feed.id).last_problem


def test_forget_drops_entries_not_seen_for_long(store):
    (feed,) = store.sync_feeds([FeedSource("https://a.example.com/feed")])
    _record(store, feed.id, [_entry("a" * 32, "Quake")])
    store.mark_published(store.pending(10))
    assert store.forget(older_than=0) == 0
    assert store.forget(older_than=1e12) == 1
    assert _record(store, feed.id, [_entry("a" * 32, "Quake")]).new == 1


def test_a_foreign_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('format', '99')")
    with pytest.raises(StoreError, match="format 99"):
        Store(path)
    (tmp_path / "junk").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open it as SQLite"):
        Store(tmp_path / "junk")


def test_the_store_is_readable_by_its_owner_only(tmp_path):
    fresh, old = tmp_path / "fresh.sqlite3", tmp_path / "old.sqlite3"
    old.touch(mode=0o644)
    old.chmod(0o644)
    for path in (fresh, old):
        with Store(path) as store:
            store.sync_feeds([FeedSource("https://user:pw@a.example.com/feed")])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
