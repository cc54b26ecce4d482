"""The reader's loop: schedule → fetch → parse → store (outbox) → publish.

:class:`Reader` polls feeds (all of them once, or continuously as each falls due) and records
every outcome in the store; the :class:`~pipeline.reader.publish.Publisher` thread moves the
queued records to Kafka. Every problem is logged with the feed it concerns and why, and
counted. Nothing a feed sends stops the reader: an unreadable feed, a parser failure or an
HTTP error is an error on that feed only (backed off, reported by ``newswire feeds status``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace

from pipeline import metrics
from pipeline.reader.budget import Hold
from pipeline.reader.feedlist import FeedSource
from pipeline.reader.fetch import Fetcher, FetchResult
from pipeline.reader.options import ReaderOptions
from pipeline.reader.pages import PageFetcher
from pipeline.reader.parse import ParsedFeed, parse_feed
from pipeline.reader.politeness import HostLimiter
from pipeline.reader.publish import Publisher
from pipeline.reader.robots import RobotsCache
from pipeline.reader.schedule import (
    Dispatcher,
    backoff_delay,
    is_failing,
    poll_interval,
)
from pipeline.reader.store import FeedState, Store
from schemas.timefmt import utc_now

log = logging.getLogger(__name__)

_COLLECT_AFTER_BYTES = 1 << 20
_RESUME_FRACTION = 0.9  # polling resumes when the outbox is back under 90% of its limit
_REPORT_EVERY_S = 60.0
_FORGET_EVERY_S = 24 * 3600.0


@dataclass
class Counters:
    """What the reader did. ``fetched`` counts documents downloaded (``unchanged`` of them
    were byte-identical to the previous one); ``entries`` counts entries read from
    documents; ``queued`` the new ones and revisions written to the outbox."""

    polls: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged: int = 0
    failed: int = 0
    entries: int = 0
    new: int = 0
    revisions: int = 0
    invalid: int = 0
    pages: int = 0  # article pages fetched and kept
    page_problems: int = 0  # pages wanted but not kept (robots, HTTP, size, type, text)
    memory_waits: int = 0  # fetches that waited for the budget of bodies in flight (budget.py)

    def line(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def parse_and_collect(body: bytes, **kwargs) -> ParsedFeed:
    """``parse_feed``, then, after a document over 1 MB, a full garbage collection:
    feedparser leaves reference cycles that keep copies of the document (~3 × its size)
    alive until the next full collection, which may come many parses later. Five
    decompression bombs cut at 10 MB parsed in a row piled up 30 MB each (peak 373 MB)."""
    parsed = parse_feed(body, **kwargs)
    if len(body) > _COLLECT_AFTER_BYTES:
        gc.collect()
    return parsed


def _human(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Reader:
    """Polls the feeds of one store. ``publisher`` (optional) is woken when records are queued."""

    def __init__(
        self,
        store: Store,
        options: ReaderOptions,
        *,
        publisher: Publisher | None = None,
        forget_after: float | None = 90 * 86400.0,
        clock=time.time,
        rng: random.Random | None = None,
        fetch_articles: dict[str, str] | None = None,
    ) -> None:
        self.store = store
        self.fetch_articles = fetch_articles or {}  # listed URL -> mode, where a feed says
        self.options = options
        self.publisher = publisher
        self.forget_after = forget_after
        self.counters = Counters()
        self._clock = clock
        self._rng = rng or random.Random()
        self._fetcher: Fetcher | None = None
        self._limiter: HostLimiter | None = None
        self._pages: PageFetcher | None = None
        self._paused = False
        self._parser: ThreadPoolExecutor | None = None

    @classmethod
    def for_sources(cls, store: Store, sources: list[FeedSource], options: ReaderOptions, **kwargs) -> Reader:
        store.sync_feeds(sources)
        modes = {source.url: source.fetch_articles for source in sources if source.fetch_articles}
        return cls(store, options, fetch_articles=modes, **kwargs)

    @property
    def published(self) -> int:
        return self.publisher.stats.published if self.publisher else 0

    # --- one feed ---------------------------------------------------------------------------

    async def poll(self, feed_id: int) -> None:
        """Fetch, parse and record one feed. Never raises for anything the feed did: an
        unexpected exception (a bug met on odd input) is logged with its traceback and
        recorded as an error on this feed, and the reader goes on."""
        feed = self.store.feed(feed_id)
        self.counters.polls += 1
        try:
            async with self._fetcher.budget.hold(f"feed {feed.name}") as hold:
                await self._poll(feed, hold)
        except Exception as exc:
            log.exception("internal error while polling", extra={"feed": feed.name})
            metrics.record_poll("failed")
            self._failed(feed, self._clock(), None, f"internal error: {type(exc).__name__}: {exc}", None)

    async def _poll(self, feed: FeedState, hold: Hold) -> None:
        fetched_at = utc_now()
        async with self._limiter.request(feed.url, paced=False):
            result = await self._fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified,
                                               hold=hold)
        now = self._clock()
        if result.error:
            throttled = result.status in (429, 503)
            metrics.record_poll("throttled" if throttled else "failed", result.elapsed)
            self._failed(feed, now, result.status, result.error, result.retry_after)
            return
        interval = poll_interval(feed.interval_s, self.options)
        self._note_move(feed, result)
        if result.not_modified:
            self.store.record_not_modified(
                feed.id, polled_at=now, status=result.status, next_poll_at=now + interval,
                moved_to=result.moved_to, etag=result.headers.get("etag"),
                last_modified=result.headers.get("last-modified"),
            )
            self.counters.not_modified += 1
            metrics.record_poll("not_modified", result.elapsed)
            self._note_recovery(feed)
            log.debug("not modified", extra={"feed": feed.name})
            return
        self.counters.fetched += 1
        body_hash = hashlib.blake2b(result.body, digest_size=16).hexdigest()
        if body_hash == feed.body_hash:
            self.store.record_not_modified(
                feed.id, polled_at=now, status=result.status, next_poll_at=now + interval,
                outcome="unchanged", moved_to=result.moved_to, etag=result.headers.get("etag"),
                last_modified=result.headers.get("last-modified"),
            )
            self.counters.unchanged += 1
            metrics.record_poll("not_modified", result.elapsed)
            self._note_recovery(feed)
            log.debug("same document as last time", extra={"feed": feed.name})
            return
        parse = functools.partial(
            parse_and_collect, result.body, feed_url=feed.listed_url, base_url=result.final_url,
            fetched_at=fetched_at, headers=result.headers, truncated=result.truncated,
            unreliable_guids=self.store.unreliable_guids(feed.id), max_entries=self.options.max_entries,
            max_tags=self.options.max_tags,
        )
        parsed = await asyncio.get_running_loop().run_in_executor(self._parser, parse)
        result, parse = replace(result, body=None), None  # the body is done with: give it back
        hold.release()
        if parsed.error:
            metrics.record_poll("failed", result.elapsed)
            self._failed(feed, now, result.status, parsed.error, None)
            return
        metrics.record_poll("malformed" if parsed.malformed else "fetched", result.elapsed)
        interval = poll_interval(parsed.interval_hint, self.options)
        entries = await self._with_pages(feed, parsed.entries)
        now = max(now, self._clock())
        counts = self.store.record_document(
            feed.id, polled_at=now, status=result.status, next_poll_at=now + interval,
            entries=entries, title=parsed.title, interval_s=parsed.interval_hint,
            etag=result.headers.get("etag"), last_modified=result.headers.get("last-modified"),
            body_hash=body_hash, moved_to=result.moved_to, problems=parsed.problems,
            colliding_guids=parsed.colliding_guids,
        )
        self.counters.entries += len(parsed.entries)
        self.counters.new += counts.new
        self.counters.revisions += counts.revisions
        self.counters.invalid += len(counts.invalid)
        metrics.record_unchanged(counts.unchanged)
        self._note_recovery(feed)
        if parsed.problems:
            log.warning("feed read with problems: %s", "; ".join(parsed.problems),
                        extra={"feed": feed.name})
        for reason in counts.invalid:  # a record our own schema refuses: a bug to report
            log.error("%s", reason, extra={"feed": feed.name})
        for reason in counts.repaired:
            log.warning("%s", reason, extra={"feed": feed.name})
        level = logging.INFO if counts.queued else logging.DEBUG
        log.log(level, "%d entries, %d new, %d revised; next poll in %s", len(parsed.entries),
                counts.new, counts.revisions, _human(interval), extra={"feed": feed.name})
        if counts.queued and self.publisher is not None:
            self.publisher.wake()

    async def _with_pages(self, feed: FeedState, entries: list) -> list:
        """The entries with their article outcome (and page), for those the store has not
        published unchanged (see pipeline/reader/pages.py)."""
        mode = self.fetch_articles.get(feed.listed_url, self.options.fetch_articles)
        changed = self.store.changed(feed.id, entries)
        entries = await self._pages.attach(entries, mode, lambda entry: entry.story_id in changed)
        for entry in entries:
            article = entry.record.get("article") if entry.story_id in changed else None
            if article is None:
                continue
            metrics.record_article(article["outcome"])
            if article["outcome"] in ("not_needed", "skipped"):
                continue
            if article["outcome"] == "fetched":
                self.counters.pages += 1
            else:
                self.counters.page_problems += 1
                log.info("article page %s: %s (%s); published with the feed's summary",
                         article["url"], article["outcome"], article["reason"],
                         extra={"feed": feed.name, "story_id": entry.story_id})
        return entries

    def _failed(self, feed: FeedState, now: float, status: int | None, error: str,
                retry_after: float | None) -> None:
        errors = feed.consecutive_errors + 1
        delay = backoff_delay(
            errors, poll_interval(feed.interval_s, self.options), self.options,
            retry_after=retry_after, rng=self._rng,
        )
        self.store.record_failure(
            feed.id, polled_at=now, status=status, error=error, next_poll_at=now + delay,
            consecutive_errors=errors,
        )
        self.counters.failed += 1
        context = {"feed": feed.name}
        if errors == self.options.failing_after:
            log.error("%s; %d errors in a row: marked failing, next poll in %s, then every %s "
                      "until it answers again", error, errors, _human(delay),
                      _human(self.options.max_backoff), extra=context)
        else:
            state = " (failing)" if is_failing(errors, self.options) else ""
            log.warning("%s; error %d in a row%s, next poll in %s", error, errors, state,
                        _human(delay), extra=context)

    def _note_move(self, feed: FeedState, result: FetchResult) -> None:
        if result.moved_to and result.moved_to != feed.url:
            log.warning("moved permanently to %s: polling the new URL from now on",
                        result.moved_to, extra={"feed": feed.name})

    def _note_recovery(self, feed: FeedState) -> None:
        if is_failing(feed.consecutive_errors, self.options):
            log.warning("answers again after %d errors", feed.consecutive_errors,
                        extra={"feed": feed.name})

    # --- all feeds --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _tools(self):
        """The fetcher (one connection pool) and one parser thread for a run. One thread:
        parsing is CPU-bound Python, more threads would only contend for the GIL; a thread
        at all keeps the event loop answering sockets while a document is parsed."""
        with ThreadPoolExecutor(1, thread_name_prefix="newswire-parse") as self._parser:
            async with Fetcher(self.options) as self._fetcher:
                self._limiter = HostLimiter(self.options)
                robots = RobotsCache(self._fetcher, self._limiter)
                self._pages = PageFetcher(self._fetcher, self._limiter, robots, self._parser)
                try:
                    yield
                finally:
                    self.counters.memory_waits = self._fetcher.budget.waits

    async def run_once(self) -> Counters:
        """Poll every active feed once, whatever its schedule."""
        async with self._tools():
            dispatcher = Dispatcher(self.poll, self.options)
            dispatcher.add((feed.id, feed.url) for feed in self.store.feeds())
            try:
                await dispatcher.drain()
            finally:
                await dispatcher.cancel()
        self._update_gauges()
        return self.counters

    def _update_gauges(self) -> None:
        if self._fetcher is not None:  # the count so far, for the periodic report
            self.counters.memory_waits = self._fetcher.budget.waits
        metrics.set_feed_states(*self.store.health(self.options.failing_after))
        metrics.set_outbox_pending(self.store.pending_count())

    async def run_forever(self, stop: asyncio.Event | threading.Event) -> Counters:
        """Poll feeds as they fall due until ``stop`` is set (checked at least every second);
        pause while the outbox is full."""
        last_report = last_forget = last_scan = 0.0
        scan_every = min(1.0, self.options.min_interval)  # how often due feeds are looked up
        async with self._tools():
            dispatcher = Dispatcher(self.poll, self.options)
            try:
                while not stop.is_set():
                    now = self._clock()
                    if (dispatcher.idle or now - last_scan >= scan_every) and not self._check_paused():
                        last_scan = now
                        dispatcher.add(self.store.due(now))
                    if dispatcher.idle:
                        next_due = self.store.next_due_at()
                        wait = scan_every if next_due is None else min(max(next_due - now, 0.05), scan_every)
                    else:  # a finished poll ends the wait early
                        wait = scan_every
                    await dispatcher.wait(wait)
                    if now - last_report >= _REPORT_EVERY_S:
                        last_report = now
                        self._update_gauges()
                        log.info("reader: %s published=%d waiting=%d",
                                 self.counters.line(), self.published, self.store.pending_count())
                    if self.forget_after and now - last_forget >= _FORGET_EVERY_S:
                        last_forget = now
                        forgotten = self.store.forget(now - self.forget_after)
                        if forgotten:
                            log.info("forgot %d entries not seen for %s", forgotten, _human(self.forget_after))
            finally:
                await dispatcher.cancel()
        return self.counters

    def _check_paused(self) -> bool:
        pending = self.store.pending_count()
        limit = self.options.max_pending
        if not self._paused and pending >= limit:
            self._paused = True
            log.warning("polling paused: %d records wait for Kafka (limit %d); it resumes by "
                        "itself once Kafka has taken them", pending, limit)
        elif self._paused and pending < limit * _RESUME_FRACTION:
            self._paused = False
            log.warning("polling resumes: %d records wait for Kafka", pending)
        return self._paused
