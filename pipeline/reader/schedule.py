"""When each feed is polled next, and how many fetches run at once.

- A healthy feed is polled every ``interval``: the feed's own hint (``<ttl>``,
  ``sy:updatePeriod``) when it gives one, else the default, always within
  [min_interval, max_interval].
- After errors the wait grows exponentially from that interval, with jitter (so feeds that
  failed together do not retry together), up to ``max_backoff``; a Retry-After is honoured
  (up to ``retry_after_cap``). From ``failing_after`` consecutive errors on a feed is
  "failing": polled every ``max_backoff`` only, and reported.
- :class:`Dispatcher` runs fetches concurrently, at most ``max_concurrency`` in all and
  ``per_host`` per host. Feeds wait in one queue per host, so a slow host holds its own
  slots only and never the others'.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from pipeline.reader.options import ReaderOptions


def poll_interval(hint: float | None, options: ReaderOptions) -> float:
    """Seconds between two polls of a healthy feed."""
    value = hint if hint and hint > 0 else options.interval
    return min(max(value, options.min_interval), options.max_interval)


def backoff_delay(
    consecutive_errors: int, interval: float, options: ReaderOptions, *,
    retry_after: float | None = None, rng: random.Random | None = None,
) -> float:
    """Seconds to wait after the ``consecutive_errors``-th error in a row (>= 1)."""
    rng = rng or random
    if consecutive_errors >= options.failing_after:
        base = options.max_backoff
    else:
        base = min(options.max_backoff, interval * 2 ** max(consecutive_errors - 1, 0))
    delay = base * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, options.retry_after_cap))
    return delay


def is_failing(consecutive_errors: int, options: ReaderOptions) -> bool:
    return consecutive_errors >= options.failing_after


def host_of(url: str) -> str:
    """The per-host limit's key: the host name (all file:// feeds share one key)."""
    return (urlsplit(url).hostname or "").lower()


class Dispatcher:
    """Runs ``poll(feed_id)`` for queued feeds within the concurrency limits."""

    def __init__(self, poll: Callable[[int], Awaitable[None]], options: ReaderOptions) -> None:
        self._poll = poll
        self._limit = options.max_concurrency
        self._per_host = options.per_host
        self._queues: OrderedDict[str, deque[int]] = OrderedDict()
        self._busy: dict[str, int] = {}
        self._running: dict[asyncio.Task, str] = {}
        self._known: set[int] = set()  # ids queued or running

    def add(self, feeds: Iterable[tuple[int, str]]) -> int:
        """Queue feeds, given as (id, url), that are not queued or running yet; returns how
        many were added."""
        added = 0
        for feed_id, url in feeds:
            if feed_id in self._known:
                continue
            self._known.add(feed_id)
            self._queues.setdefault(host_of(url), deque()).append(feed_id)
            added += 1
        self._start_more()
        return added

    @property
    def idle(self) -> bool:
        return not self._running and not self._queues

    def _start_more(self) -> None:
        for host in list(self._queues):
            if len(self._running) >= self._limit:
                return
            queue = self._queues[host]
            while queue and self._busy.get(host, 0) < self._per_host and len(self._running) < self._limit:
                feed_id = queue.popleft()
                task = asyncio.create_task(self._run(feed_id), name=f"poll feed {feed_id}")
                self._running[task] = host
                self._busy[host] = self._busy.get(host, 0) + 1
            if not queue:
                del self._queues[host]

    async def _run(self, feed_id: int) -> None:
        try:
            await self._poll(feed_id)
        finally:
            self._known.discard(feed_id)

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until at least one poll finished (or the timeout passed), then start more.
        An exception escaping a poll is a bug and is raised here."""
        if not self._running:
            if timeout:
                await asyncio.sleep(timeout)
            return
        done, _ = await asyncio.wait(self._running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        errors = []
        for task in done:
            host = self._running.pop(task)
            self._busy[host] -= 1
            if task.exception() is not None:
                errors.append(task.exception())
        self._start_more()
        if errors:
            raise errors[0]

    async def drain(self) -> None:
        """Run until every queued feed was polled."""
        while not self.idle:
            await self.wait()

    async def cancel(self) -> None:
        for task in self._running:
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running.clear()
        self._queues.clear()
        self._known.clear()
        self._busy.clear()
