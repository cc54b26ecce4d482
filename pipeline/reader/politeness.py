"""How hard the reader may press one host: a request rate and a concurrency limit, shared by
feed polls, robots.txt and article pages.

Each host has a slot count (``per_host``) and a next-allowed time. A paced request (pages,
robots.txt) waits for a slot and then for its turn, ``1 / host_rate`` seconds after the
previous request to that host (or the host's robots.txt ``Crawl-delay``, when longer, up to
``max_crawl_delay``). A feed poll takes a slot and counts as a request (the next page
waits ``1 / host_rate`` after it), but is neither delayed by the rate nor reserves a turn:
the feed's own schedule spaces its polls, and many feeds of one host cannot starve its
pages. Turns are handed out in the order asked, so a host's waiting requests never race.
Like Scrapy's download slots (one per domain, with its delay and concurrency).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from pipeline.reader.options import ReaderOptions
from pipeline.reader.schedule import host_of


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_at: float = 0.0
    delay: float = 0.0  # seconds between requests
    requests: int = 0
    waits: list[float] = field(default_factory=list)


class HostLimiter:
    """Per-host concurrency and request rate for one reader (one event loop)."""

    def __init__(self, options: ReaderOptions, clock=time.monotonic) -> None:
        self.options = options
        self._clock = clock
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = _Host(asyncio.Semaphore(self.options.per_host), delay=1.0 / self.options.host_rate)
            self._hosts[host] = state
        return state

    def set_crawl_delay(self, url: str, seconds: float | None) -> None:
        """Space requests to ``url``'s host by robots.txt's Crawl-delay (capped), when that is
        longer than the rate's own spacing."""
        state = self._host(host_of(url))
        base = 1.0 / self.options.host_rate
        state.delay = max(base, min(seconds or 0.0, self.options.max_crawl_delay))

    def delay_of(self, url: str) -> float:
        return self._host(host_of(url)).delay

    async def turn(self, url: str, *, paced: bool = True) -> None:
        """Wait for the next turn of ``url``'s host (a request counted against its rate); an
        unpaced request is counted but neither waits nor reserves a turn (feeds polled often
        must not starve the pages)."""
        state = self._host(host_of(url))
        now = self._clock()
        if paced:
            start = max(now, state.next_at)
            state.next_at = start + state.delay
        else:
            start = now
            state.next_at = max(state.next_at, now + state.delay)
        state.requests += 1
        if start > now:
            await asyncio.sleep(start - now)

    @contextlib.asynccontextmanager
    async def request(self, url: str, *, paced: bool = True) -> AsyncIterator[None]:
        """Hold one of the host's slots for a request to ``url``, after waiting for its turn
        (see :meth:`turn`)."""
        async with self._host(host_of(url)).slots:
            await self.turn(url, paced=paced)
            yield
