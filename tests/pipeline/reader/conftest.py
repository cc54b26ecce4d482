"""Fixtures of the reader's tests: a real HTTP server on loopback, fast reader options."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.reader.options import ReaderOptions
from tests.pipeline.reader.feedserver import FeedServer


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer("127.0.0.1") as server:
        yield server


@pytest.fixture
def fast_options() -> ReaderOptions:
    """Short timeouts and intervals; loopback allowed (the test server lives there)."""
    return ReaderOptions(
        interval=60.0, min_interval=0.1, max_interval=3600.0, max_backoff=600.0,
        connect_timeout=2.0, read_timeout=0.5, total_timeout=5.0, max_body_bytes=256 * 1024,
        allow_private_addresses=True, allow_file_feeds=True,
        fetch_articles="never",  # fixture links are not served
    )
