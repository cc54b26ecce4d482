"""robots.txt, honoured for article pages: read once per host (cached), parsed by Protego
(Scrapy's parser: Google's matching rules, wildcards, Crawl-delay).

What an answer means (RFC 9309): 2xx: the rules; 4xx: no rules (everything allowed); 5xx or
no answer (timeout, refused address, ...): everything disallowed for now, asked again after
``RETRY_AFTER_ERROR`` seconds. A robots.txt larger than ``MAX_ROBOTS_BYTES`` is read up to
that size (the RFC's minimum). Rules are kept ``robots_ttl`` seconds (a day by default).
Fetching robots.txt goes through the same client (address guard, timeouts) and the same
per-host limits as everything else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from pipeline.reader.fetch import Fetcher
from pipeline.reader.politeness import HostLimiter

log = logging.getLogger(__name__)

MAX_ROBOTS_BYTES = 500 * 1024
RETRY_AFTER_ERROR = 600.0


@dataclass(frozen=True)
class Rules:
    parser: Protego | None  # None: no rules (allow all) or unreachable (see ``reachable``)
    reachable: bool
    expires_at: float
    note: str

    def allows(self, url: str, user_agent: str) -> bool:
        if not self.reachable:
            return False
        return self.parser is None or self.parser.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


class RobotsCache:
    """robots.txt rules per scheme+host, fetched when first needed."""

    def __init__(self, fetcher: Fetcher, limiter: HostLimiter, clock=time.monotonic) -> None:
        self.fetcher = fetcher
        self.limiter = limiter
        self.user_agent = fetcher.options.user_agent
        self._clock = clock
        self._rules: dict[str, Rules] = {}
        self._pending: dict[str, asyncio.Future] = {}

    async def check(self, url: str) -> tuple[bool, str]:
        """(allowed, why) for fetching ``url``."""
        rules = await self._rules_for(robots_url(url))
        allowed = rules.allows(url, self.user_agent)
        return allowed, rules.note if not rules.reachable else ("allowed" if allowed else "disallowed by robots.txt")

    async def _rules_for(self, where: str) -> Rules:
        rules = self._rules.get(where)
        if rules is not None and rules.expires_at > self._clock():
            return rules
        pending = self._pending.get(where)
        if pending is not None:  # another page of this host asked first: share its answer
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._pending[where] = future
        try:
            rules = await self._fetch(where)
            self._rules[where] = rules
            self.limiter.set_crawl_delay(where, rules.crawl_delay(self.user_agent))
            future.set_result(rules)
            return rules
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a waiter re-raises it, nobody else must
            raise
        finally:
            del self._pending[where]

    async def _fetch(self, where: str) -> Rules:
        ttl = self.fetcher.options.robots_ttl
        async with self.limiter.request(where):
            result = await self.fetcher.fetch(where, accept="text/plain, */*;q=0.5",
                                              max_bytes=MAX_ROBOTS_BYTES,
                                              timeout=self.fetcher.options.page_timeout)
        now = self._clock()
        if result.status is not None and 400 <= result.status < 500 and result.status != 429:
            return Rules(None, True, now + ttl, f"robots.txt: HTTP {result.status}, no rules")
        if result.error or result.body is None:
            log.warning("robots.txt %s unreachable (%s): pages of this host are not fetched "
                        "for %d s", where, result.error, RETRY_AFTER_ERROR)
            return Rules(None, False, now + RETRY_AFTER_ERROR,
                         f"robots.txt unreachable ({result.error}): treated as disallowing all")
        text = result.body.decode("utf-8", errors="replace")
        return Rules(Protego.parse(text), True, now + ttl, "robots.txt read")
