"""One budget of body bytes in flight, shared by every fetch of a reader.

``--max-body-mb`` bounds one body, but a reader fetches up to ``--concurrency`` documents at
once and parses them one at a time: bodies that wait for the parser thread add up (three
512 MB decompression bombs cut at 10 MB each took a run to 321 MB). So every feed and
article page fetched draws its bytes from one :class:`BodyBudget` of ``BODIES_IN_FLIGHT`` ×
``max_body_bytes``: the raw bytes as they arrive, the decoded bytes as they are decoded; the
raw ones go back once decoded, the decoded ones once the document is parsed (a feed) or
processed (a page). A fetch that asks for more than is left waits, counted and logged: its
socket is simply not read meanwhile (TCP slows the server down, nothing is refused).

Deadlock: fetches half-way through their bodies could each wait for bytes another holds,
and none would ever finish. So when the budget is spent, ONE fetch at a time may go over
it (the overdraft, to the first that asks): it never waits for the budget again until it
has given its bytes back, and it needs nothing the others hold (its reads have timeouts,
the parser thread serves in order), so it always finishes and its bytes come back. Memory
held by bodies stays under the budget plus one fetch's own limit (raw + decoded: 2 ×
max_body_bytes); a decode's final copy is made in one step without a wait, so one at a time.

Why not reserve a whole body's limit before reading it: every 5 KB feed would then take
10 MB, and three slow servers would hold up every other feed; here only big bodies wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

log = logging.getLogger(__name__)

BODIES_IN_FLIGHT = 3  # the budget, in bodies of the largest size a fetch may read


class Hold:
    """The bytes one fetch holds from the budget (given back by :meth:`release`)."""

    def __init__(self, budget: BodyBudget, what: str) -> None:
        self.budget = budget
        self.what = what
        self.bytes = 0

    async def reserve(self, size: int) -> None:
        """Take ``size`` more bytes; waits while the budget is spent and the overdraft taken."""
        await self.budget._reserve(self, size)

    def release(self, size: int | None = None) -> None:
        """Give back ``size`` bytes (all when None); the overdraft goes with the last byte."""
        self.budget._release(self, self.bytes if size is None else min(size, self.bytes))


class BodyBudget:
    """Bytes of bodies fetched and not yet parsed, for all fetches together (see above)."""

    def __init__(self, limit: int) -> None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"body budget: {limit!r} must be a number of bytes >= 1")
        self.limit = limit
        self.used = 0
        self.peak = 0
        self.waits = 0  # reservations that had to wait
        self.waited_s = 0.0
        self._overdraft: Hold | None = None
        self._waiters: list[asyncio.Future] = []

    @contextlib.asynccontextmanager
    async def hold(self, what: str) -> AsyncIterator[Hold]:
        """A hold for one fetch (``what`` names it in the log), released on the way out."""
        hold = Hold(self, what)
        try:
            yield hold
        finally:
            hold.release()

    def _grant(self, hold: Hold, size: int) -> bool:
        if self.used + size > self.limit and self._overdraft is not hold:
            if self._overdraft is not None:
                return False
            self._overdraft = hold
        hold.bytes += size
        self.used += size
        self.peak = max(self.peak, self.used)
        return True

    async def _reserve(self, hold: Hold, size: int) -> None:
        if self._grant(hold, size):
            return
        self.waits += 1
        log.warning("%s waits for memory: bodies fetched and not yet parsed hold %d bytes "
                    "(budget %d: %d × --max-body-mb), %s goes over it; waits so far: %d",
                    hold.what, self.used, self.limit, BODIES_IN_FLIGHT, self._overdraft.what,
                    self.waits)
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            while not self._grant(hold, size):
                waiter = loop.create_future()
                self._waiters.append(waiter)
                try:
                    await waiter
                finally:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
        finally:
            self.waited_s += time.monotonic() - started

    def _release(self, hold: Hold, size: int) -> None:
        hold.bytes -= size
        self.used -= size
        if hold.bytes == 0 and self._overdraft is hold:
            self._overdraft = None
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:  # each checks again, in the order they came
            if not waiter.done():
                waiter.set_result(None)
