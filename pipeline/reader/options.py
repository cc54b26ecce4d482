"""The reader's settings, checked when built (each message names the option at fault)."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import __version__

DEFAULT_USER_AGENT = (
    f"newswire/{__version__} (news feed reader; polls RSS/Atom with conditional GET; "
    "fetches the linked article once when a feed gives only a summary; honours robots.txt)"
)
FETCH_ARTICLES = ("auto", "always", "never")


@dataclass(frozen=True)
class ReaderOptions:
    """Everything that tunes polling, fetching and buffering. Times are in seconds.

    interval: default time between two polls of a feed; a feed's own ``<ttl>`` or
        ``sy:updatePeriod`` replaces it, clamped to [min_interval, max_interval].
    max_backoff: longest wait after errors (exponential from ``interval``, with jitter).
    failing_after: consecutive errors after which a feed is marked failing; a failing feed
        is polled every ``max_backoff`` only, and reported.
    max_pending: records waiting for Kafka in the store (the outbox) above which polling
        pauses until Kafka acknowledged enough of them.
    max_entries: entries read from one document (the first ones); the rest are reported.
    max_tags: tags (``<`` or ``&lt;``) read from one document; it is cut there (parsing
        costs feedparser 40-100 µs a tag).
    file_feed_dir: local files under this folder may be read as feeds (the feed list's own
        folder); None: no local file may, unless ``allow_file_feeds``.
    fetch_articles: "auto" (fetch an entry's page when the feed gave only a summary),
        "always" or "never"; a feed of the list may say otherwise.
    host_rate: requests per second to one host (feed polls and pages together; robots.txt
        Crawl-delay slows it further, up to max_crawl_delay).
    page_max_bytes: a page larger than this (decoded) is not read further: "too_large".
    page_record_bytes: the most page HTML a raw record carries (UTF-8, after scripts and
        styles are stripped); the whole record must also stay within the raw schema's
        max_record_bytes (700,000), under Kafka's default 1 MB message limit.
    page_timeout: total time for one page, redirects included.
    """

    interval: float = 900.0
    min_interval: float = 300.0
    max_interval: float = 6 * 3600.0
    max_backoff: float = 6 * 3600.0
    failing_after: int = 5
    retry_after_cap: float = 24 * 3600.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    max_concurrency: int = 16
    per_host: int = 2
    max_pending: int = 20_000
    max_entries: int = 2000
    max_tags: int = 100_000
    allow_private_addresses: bool = False
    allow_file_feeds: bool = False
    file_feed_dir: str | None = None
    user_agent: str = DEFAULT_USER_AGENT
    fetch_articles: str = "auto"
    host_rate: float = 1.0
    max_crawl_delay: float = 30.0
    robots_ttl: float = 24 * 3600.0
    page_max_bytes: int = 5 * 1024 * 1024
    page_record_bytes: int = 500_000
    page_timeout: float = 30.0

    def __post_init__(self) -> None:
        positive = (
            "interval", "min_interval", "max_interval", "max_backoff", "retry_after_cap",
            "connect_timeout", "read_timeout", "total_timeout", "max_crawl_delay",
            "robots_ttl", "page_timeout",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name}: {value!r} must be a number of seconds > 0")
        at_least_one = ("failing_after", "max_body_bytes", "max_concurrency", "per_host", "max_pending",
                        "max_entries", "max_tags", "page_max_bytes", "page_record_bytes")
        for name in at_least_one:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: {value!r} must be an integer >= 1")
        if not isinstance(self.max_redirects, int) or self.max_redirects < 0:
            raise ValueError(f"max_redirects: {self.max_redirects!r} must be an integer >= 0")
        if not self.min_interval <= self.interval <= self.max_interval:
            raise ValueError(
                f"interval ({self.interval:g}) must lie within min_interval "
                f"({self.min_interval:g}) and max_interval ({self.max_interval:g}); "
                "change the bounds together with the interval"
            )
        if not isinstance(self.host_rate, (int, float)) or not self.host_rate > 0:
            raise ValueError(f"host_rate: {self.host_rate!r} must be a number of requests per second > 0")
        if self.fetch_articles not in FETCH_ARTICLES:
            raise ValueError(f"fetch_articles: {self.fetch_articles!r} must be one of "
                             f"{', '.join(FETCH_ARTICLES)}")
        if not self.user_agent.strip():
            raise ValueError("user_agent: empty; give a descriptive User-Agent")
