"""The reader's memory across restarts: one SQLite file.

Tables:
- ``feeds``: one row per listed feed: where to fetch it now (a 301/308 moves it), ETag and
  Last-Modified for conditional GET, the hash of the last body, the poll interval, the next
  poll time, the last status/error/problem, consecutive errors, entries published.
- ``stories``: every story id seen, its latest revision and content fingerprint.
- ``feed_entries``: which feed carried which story, with that feed's fingerprint (a story
  carried by two feeds of one publisher is published once, and a difference between the two
  copies is not an edit).
- ``articles``: the article-page outcome of each published revision (pipeline/reader/pages.py).
- ``outbox``: encoded records waiting for Kafka. A poll writes its records here in the same
  transaction as the feed's new state, and a record leaves the outbox only once Kafka
  acknowledged it. So a crash or a broker outage can repeat a record (same key and revision),
  never lose one.
- ``parked``: records Kafka refused for good (larger than the record size limit, invalid
  for the broker). They leave the outbox so the records behind them go on; ``newswire feeds
  status`` counts them, ``newswire feeds parked`` lists them with the reason, and
  ``newswire feeds retry`` puts them back in the outbox (after the limit was raised).

Each thread uses its own :class:`Store` (SQLite connections are not shared between threads).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.reader.feedlist import FeedSource
from pipeline.reader.parse import ParsedEntry, encode_repaired
from pipeline.reader.redact import redact_text, redact_url
from schemas import RAW_STORY, RecordError

STORE_FORMAT = "1"
DEFAULT_STORE = "newswire-data/reader.sqlite3"
_CHUNK = 500  # ids per IN (...) query

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    listed_url TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    title TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    interval_s REAL,
    next_poll_at REAL NOT NULL DEFAULT 0,
    last_poll_at REAL,
    last_success_at REAL,
    last_status INTEGER,
    last_outcome TEXT,
    last_error TEXT,
    last_problem TEXT,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    entries_published INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS stories (
    story_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    published_revision INTEGER NOT NULL DEFAULT 0,
    first_seen REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id INTEGER NOT NULL,
    story_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    last_seen REAL NOT NULL,
    PRIMARY KEY (feed_id, story_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_entries_last_seen ON feed_entries (last_seen);
CREATE TABLE IF NOT EXISTS unreliable_guids (
    feed_id INTEGER NOT NULL,
    guid TEXT NOT NULL,
    PRIMARY KEY (feed_id, guid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS articles (
    story_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    url TEXT,
    final_url TEXT,
    status INTEGER,
    bytes INTEGER,
    reason TEXT,
    recorded_at REAL NOT NULL,
    PRIMARY KEY (story_id, revision)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    story_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    feed_id INTEGER NOT NULL,
    value BLOB NOT NULL,
    enqueued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS parked (
    seq INTEGER PRIMARY KEY,
    story_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    feed_id INTEGER NOT NULL,
    value BLOB NOT NULL,
    enqueued_at REAL NOT NULL,
    parked_at REAL NOT NULL,
    reason TEXT NOT NULL
);
"""


class StoreError(RuntimeError):
    """The store file cannot be used (another format, unreadable, ...)."""


def _private_file(path: str) -> None:
    """Create the store readable by its owner only (it holds feed URLs with their
    credentials), or make an existing one so; SQLite gives its -wal and -shm files the
    database file's permissions."""
    if path == ":memory:":
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            with contextlib.suppress(OSError):  # not ours: reading it is still allowed
                os.chmod(path, 0o600)
    except OSError as exc:
        raise StoreError(f"store {path}: cannot create it ({exc.strerror})") from exc


@dataclass(frozen=True)
class FeedState:
    id: int
    listed_url: str
    url: str
    title: str | None
    active: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    interval_s: float | None
    next_poll_at: float
    last_poll_at: float | None
    last_success_at: float | None
    last_status: int | None
    last_outcome: str | None
    last_error: str | None
    last_problem: str | None
    consecutive_errors: int
    entries_published: int

    @property
    def name(self) -> str:
        """How logs and status name the feed: its URL now, and the listed one if it moved;
        credentials in them are shown as ``***``."""
        if self.url == self.listed_url:
            return redact_url(self.url)
        return f"{redact_url(self.url)} (listed as {redact_url(self.listed_url)})"


_FEED_COLUMNS = ", ".join(FeedState.__dataclass_fields__)


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    story_id: str
    revision: int
    feed_id: int
    value: bytes


@dataclass(frozen=True)
class ParkedRow:
    seq: int
    story_id: str
    revision: int
    feed_id: int
    size: int
    parked_at: float
    reason: str


@dataclass
class Enqueued:
    """What recording one document did with its entries."""

    new: int = 0
    revisions: int = 0
    unchanged: int = 0
    seen_elsewhere: int = 0  # known from another feed: not published again
    invalid: list[str] = field(default_factory=list)  # entries whose record broke the schema
    repaired: list[str] = field(default_factory=list)  # entries kept with a refused field trimmed or emptied

    @property
    def queued(self) -> int:
        return self.new + self.revisions


class Store:
    """SQLite-backed reader state. Open one per thread; close it when done."""

    def __init__(self, path: str | Path, *, clock=time.time) -> None:
        self.path = str(path)
        self._clock = clock
        try:
            _private_file(self.path)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process; a power cut may undo the last
            # transactions, which only repeats polls/records (each transaction is whole).
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                row = self._db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
                if row is None:
                    self._db.execute("INSERT INTO meta VALUES ('format', ?)", (STORE_FORMAT,))
                elif row[0] != STORE_FORMAT:
                    raise StoreError(
                        f"store {self.path} has format {row[0]}, this reader writes format "
                        f"{STORE_FORMAT}: use another --store path"
                    )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"store {self.path}: cannot open it as SQLite ({exc})") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- feeds ------------------------------------------------------------------------------

    def sync_feeds(self, sources: Iterable[FeedSource]) -> list[FeedState]:
        """Make the listed feeds the active ones (new feeds are due at once; feeds no longer
        listed are kept, inactive). Returns the active feeds."""
        sources = list(sources)
        with self._transaction():
            self._db.execute("UPDATE feeds SET active = 0")
            for source in sources:
                self._db.execute(
                    "INSERT INTO feeds (listed_url, url) VALUES (?, ?) "
                    "ON CONFLICT (listed_url) DO UPDATE SET active = 1",
                    (source.url, source.url),
                )
        return self.feeds()

    def feeds(self, *, include_inactive: bool = False) -> list[FeedState]:
        where = "" if include_inactive else "WHERE active = 1"
        rows = self._db.execute(f"SELECT {_FEED_COLUMNS} FROM feeds {where} ORDER BY id").fetchall()
        return [FeedState(*row) for row in rows]

    def feed(self, feed_id: int) -> FeedState:
        row = self._db.execute(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        if row is None:
            raise KeyError(feed_id)
        return FeedState(*row)

    def due(self, now: float) -> list[tuple[int, str]]:
        """(id, url) of the active feeds whose next poll time has come, earliest first."""
        return self._db.execute(
            "SELECT id, url FROM feeds WHERE active = 1 AND next_poll_at <= ? ORDER BY next_poll_at",
            (now,),
        ).fetchall()

    def next_due_at(self) -> float | None:
        row = self._db.execute("SELECT MIN(next_poll_at) FROM feeds WHERE active = 1").fetchone()
        return row[0]

    def health(self, failing_after: int) -> tuple[int, int]:
        """(ok, failing): active feeds with fewer / at least ``failing_after`` errors in a row."""
        row = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(consecutive_errors >= ?), 0) FROM feeds WHERE active = 1",
            (failing_after,),
        ).fetchone()
        return row[0] - row[1], row[1]

    def unreliable_guids(self, feed_id: int) -> set[str]:
        rows = self._db.execute("SELECT guid FROM unreliable_guids WHERE feed_id = ?", (feed_id,))
        return {guid for (guid,) in rows}

    def record_failure(
        self, feed_id: int, *, polled_at: float, status: int | None, error: str,
        next_poll_at: float, consecutive_errors: int,
    ) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE feeds SET last_poll_at = ?, last_status = ?, last_outcome = 'error', "
                "last_error = ?, next_poll_at = ?, consecutive_errors = ? WHERE id = ?",
                (polled_at, status, redact_text(error), next_poll_at, consecutive_errors, feed_id),
            )

    def record_not_modified(
        self, feed_id: int, *, polled_at: float, status: int | None, next_poll_at: float,
        outcome: str = "not_modified", moved_to: str | None = None,
        etag: str | None = None, last_modified: str | None = None,
    ) -> None:
        """A 304 (or a body identical to the last one): nothing new. A validator the
        response carried replaces the stored one."""
        with self._transaction():
            self._db.execute(
                "UPDATE feeds SET last_poll_at = ?, last_success_at = ?, last_status = ?, "
                "last_outcome = ?, last_error = NULL, next_poll_at = ?, consecutive_errors = 0, "
                "url = COALESCE(?, url), etag = COALESCE(?, etag), "
                "last_modified = COALESCE(?, last_modified) WHERE id = ?",
                (polled_at, polled_at, status, outcome, next_poll_at, moved_to, etag,
                 last_modified, feed_id),
            )

    def record_document(
        self, feed_id: int, *, polled_at: float, status: int | None, next_poll_at: float,
        entries: list[ParsedEntry], title: str | None, interval_s: float | None,
        etag: str | None, last_modified: str | None, body_hash: str | None,
        moved_to: str | None = None, problems: list[str] | None = None,
        colliding_guids: Iterable[str] = (),
    ) -> Enqueued:
        """Store a parsed document: new entries and edited ones go to the outbox with their
        revision; the feed's validators and schedule are updated in the same transaction."""
        now = self._clock()
        with self._transaction():
            db = self._db
            db.executemany("INSERT OR IGNORE INTO unreliable_guids VALUES (?, ?)",
                           [(feed_id, guid) for guid in colliding_guids])
            counts = self._enqueue(feed_id, entries, now)
            repaired = [(f"{len(counts.repaired)} entries kept with a field trimmed or emptied "
                        f"(first: {counts.repaired[0]})")] if counts.repaired else []
            problem = redact_text("; ".join([*(problems or []), *counts.invalid, *repaired])) or None
            db.execute(
                "UPDATE feeds SET last_poll_at = ?, last_success_at = ?, last_status = ?, "
                "last_outcome = 'ok', last_error = NULL, last_problem = ?, next_poll_at = ?, "
                "consecutive_errors = 0, url = COALESCE(?, url), etag = ?, last_modified = ?, "
                "body_hash = ?, title = COALESCE(?, title), interval_s = ? WHERE id = ?",
                (polled_at, polled_at, status, problem, next_poll_at, moved_to, etag,
                 last_modified, body_hash, title, interval_s, feed_id),
            )
        return counts

    def _known(self, sql: str, params: list, ids: list[str]) -> dict[str, Any]:
        """{story_id: value} from ``sql`` (ending in ``IN``), for ``ids`` in chunks."""
        found: dict[str, Any] = {}
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i : i + _CHUNK]
            query = f"{sql} ({', '.join('?' * len(chunk))})"
            found.update(self._db.execute(query, [*params, *chunk]).fetchall())
        return found

    def _enqueue(self, feed_id: int, entries: list[ParsedEntry], now: float) -> Enqueued:
        counts = Enqueued()
        ids = [entry.story_id for entry in entries]
        seen = self._known(
            "SELECT story_id, fingerprint FROM feed_entries WHERE feed_id = ? AND story_id IN", [feed_id], ids
        )
        revisions = self._known("SELECT story_id, revision FROM stories WHERE story_id IN", [], ids)
        touched, carried, new_stories, edited, outbox, articles = [], [], [], [], [], []
        for entry in entries:
            if seen.get(entry.story_id) == entry.fingerprint:
                touched.append((now, feed_id, entry.story_id))
                counts.unchanged += 1
                continue
            previous = revisions.get(entry.story_id)
            carried.append((feed_id, entry.story_id, entry.fingerprint, now))
            if entry.story_id not in seen and previous is not None:
                # Another feed of this publisher carried the story first; its copy here is
                # not an edit, and is not published again.
                counts.seen_elsewhere += 1
                continue
            revision = 1 if previous is None else previous + 1
            try:
                value, emptied = encode_repaired({**entry.record, "revision": revision}, RAW_STORY)
            except RecordError as exc:
                carried.pop()
                counts.invalid.append(f"entry {entry.guid or entry.story_id}: record refused ({exc})")
                continue
            if emptied:
                counts.repaired.append(f"entry {entry.guid or entry.story_id}: {'; '.join(emptied)}")
            if previous is None:
                new_stories.append((entry.story_id, revision, entry.fingerprint, now))
                counts.new += 1
            else:
                edited.append((revision, entry.fingerprint, entry.story_id))
                counts.revisions += 1
            revisions[entry.story_id] = revision
            outbox.append((entry.story_id, revision, feed_id, value, now))
            if "article" in entry.record:
                a = entry.record["article"]
                articles.append((entry.story_id, revision, a["outcome"], a.get("url"),
                                 a.get("final_url"), a.get("status"), a.get("bytes"),
                                 a.get("reason"), now))
        db = self._db
        db.executemany("UPDATE feed_entries SET last_seen = ? WHERE feed_id = ? AND story_id = ?", touched)
        db.executemany(
            "INSERT INTO feed_entries VALUES (?, ?, ?, ?) ON CONFLICT (feed_id, story_id) "
            "DO UPDATE SET fingerprint = excluded.fingerprint, last_seen = excluded.last_seen",
            carried,
        )
        db.executemany(
            "INSERT INTO stories (story_id, revision, fingerprint, first_seen) VALUES (?, ?, ?, ?)",
            new_stories,
        )
        db.executemany("UPDATE stories SET revision = ?, fingerprint = ? WHERE story_id = ?", edited)
        db.executemany(
            "INSERT INTO outbox (story_id, revision, feed_id, value, enqueued_at) VALUES (?, ?, ?, ?, ?)",
            outbox,
        )
        db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", articles)
        return counts

    def changed(self, feed_id: int, entries: list[ParsedEntry]) -> set[str]:
        """Story ids of the entries this feed has not carried as they are now (new or edited
        here): those a poll publishes, and whose article pages are worth fetching."""
        seen = self._known("SELECT story_id, fingerprint FROM feed_entries WHERE feed_id = ? AND story_id IN",
                           [feed_id], [entry.story_id for entry in entries])
        return {entry.story_id for entry in entries if seen.get(entry.story_id) != entry.fingerprint}

    def article_outcomes(self) -> Counter:
        """How many published revisions ended with each article outcome."""
        return Counter(dict(self._db.execute("SELECT outcome, COUNT(*) FROM articles GROUP BY outcome")))

    # --- outbox -----------------------------------------------------------------------------

    def pending(self, limit: int) -> list[OutboxRow]:
        rows = self._db.execute(
            "SELECT seq, story_id, revision, feed_id, value FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [OutboxRow(*row) for row in rows]

    def pending_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def mark_published(self, rows: Iterable[OutboxRow]) -> None:
        """Kafka acknowledged these records: they leave the outbox."""
        rows = list(rows)
        with self._transaction():
            present = set(self._known("SELECT seq, 1 FROM outbox WHERE seq IN", [], [r.seq for r in rows]))
            rows = [row for row in rows if row.seq in present]  # an acknowledgement counts once
            self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(row.seq,) for row in rows])
            self._db.executemany(
                "UPDATE stories SET published_revision = MAX(published_revision, ?) WHERE story_id = ?",
                [(row.revision, row.story_id) for row in rows],
            )
            per_feed = Counter(row.feed_id for row in rows)
            self._db.executemany(
                "UPDATE feeds SET entries_published = entries_published + ? WHERE id = ?",
                [(count, feed_id) for feed_id, count in per_feed.items()],
            )

    def park(self, refused: Iterable[tuple[OutboxRow, str]]) -> int:
        """Kafka refused these records for good: move them from the outbox to ``parked``
        with the reason, so they no longer hold up the records behind them."""
        now = self._clock()
        with self._transaction():
            moved = 0
            for row, reason in refused:
                moved += self._db.execute(
                    "INSERT INTO parked SELECT seq, story_id, revision, feed_id, value, enqueued_at, ?, ? "
                    "FROM outbox WHERE seq = ?", (now, reason, row.seq),
                ).rowcount
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (row.seq,))
        return moved

    def parked(self) -> list[ParkedRow]:
        rows = self._db.execute(
            "SELECT seq, story_id, revision, feed_id, LENGTH(value), parked_at, reason FROM parked ORDER BY seq"
        ).fetchall()
        return [ParkedRow(*row) for row in rows]

    def parked_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM parked").fetchone()[0]

    def unpark(self, seqs: Iterable[int] | None = None) -> int:
        """Put parked records (all, or those numbered ``seqs``) back in the outbox, in their
        old order; returns how many."""
        where, params = "", []
        if seqs is not None:
            params = list(seqs)
            where = f"WHERE seq IN ({', '.join('?' * len(params))})" if params else "WHERE 0"
        with self._transaction():
            moved = self._db.execute(
                "INSERT INTO outbox (seq, story_id, revision, feed_id, value, enqueued_at) "
                f"SELECT seq, story_id, revision, feed_id, value, enqueued_at FROM parked {where}", params,
            ).rowcount
            self._db.execute(f"DELETE FROM parked {where}", params)
        return moved

    # --- upkeep -----------------------------------------------------------------------------

    def forget(self, older_than: float) -> int:
        """Forget entries no feed has carried since ``older_than`` (epoch seconds), and
        stories left without a feed; returns how many feed entries were forgotten. An entry
        forgotten and seen again later is published again."""
        with self._transaction():
            count = self._db.execute(
                "DELETE FROM feed_entries WHERE last_seen < ?", (older_than,)
            ).rowcount
            self._db.execute(
                "DELETE FROM stories WHERE story_id NOT IN (SELECT story_id FROM feed_entries) "
                "AND story_id NOT IN (SELECT story_id FROM outbox) "
                "AND story_id NOT IN (SELECT story_id FROM parked)"
            )
            self._db.execute("DELETE FROM articles WHERE story_id NOT IN (SELECT story_id FROM stories)")
        return count
