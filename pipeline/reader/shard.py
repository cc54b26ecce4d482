"""Several readers side by side, each with its share of one feed list.

``--shard K/N`` keeps the feeds whose publisher (the registrable domain of the feed URL:
``feeds.reuters.com`` → ``reuters.com``) hashes to K of N (blake2b, so every reader, on any
machine and Python, computes the same share). All feeds of one publisher go to one reader,
and with them that publisher's article pages as far as they live under the same domain: a
host's request rate, its concurrency limit and its robots.txt stay with one reader. (A
publisher whose pages live under another registrable domain than its feeds, such as
``feeds.bbci.co.uk`` and ``bbc.co.uk``, can be reached by two readers.) Each reader has its
own ``--store``.
"""

from __future__ import annotations

import hashlib
import re

from pipeline.reader.feedlist import FeedSource
from schemas.identity import publisher_of

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(value: str) -> tuple[int, int]:
    """"K/N" → (K, N) with 1 <= K <= N; ValueError naming the option otherwise."""
    match = _SHARD.match(value or "")
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError(f"--shard: {value!r} must be K/N with 1 <= K <= N (e.g. 1/4)")
    return int(match.group(1)), int(match.group(2))


def shard_of(url: str, count: int) -> int:
    """The shard (1..count) that polls the feed at ``url``."""
    key = publisher_of(url).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") % count + 1


def select(sources: list[FeedSource], shard: int, count: int) -> list[FeedSource]:
    """The feeds of shard ``shard`` of ``count``."""
    return [source for source in sources if shard_of(source.url, count) == shard]
