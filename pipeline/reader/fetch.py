"""Fetch a feed's bytes: HTTP(S) with httpx, or a local file.

What a long-running poller needs from its HTTP client, decided here once:

- connect, read and total timeouts (a server that drips bytes cannot hold a slot forever);
- a maximum body size counted on the DECODED bytes, whatever the Content-Encoding and
  however many layers (``body.read_body``: a gzip-in-gzip or zstd bomb is cut at the limit
  too); a longer body is cut off and the result says so; an unknown coding is an error;
- one budget of body bytes in flight for all fetches (``budget.BodyBudget``, ``budget``):
  a fetch given a ``hold`` draws its body's bytes from it, and waits when it is spent;
- gzip/deflate/brotli asked for; a descriptive User-Agent; conditional GET (If-None-Match /
  If-Modified-Since) with 304 reported as "not modified";
- redirects followed by hand: a chain of 301/308 gives the URL to store for the next poll,
  a 302/307 (or anything after one) does not; only http/https targets are followed;
- 429/503 give their Retry-After (seconds or HTTP date) to the scheduler;
- no proxies from the environment: every connection goes through the address guard.

Errors are returned, not raised: a :class:`FetchResult` with ``error`` says what failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import stat
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpcore
import httpx

from pipeline.reader.body import ACCEPT_ENCODING, BodyError, read_body
from pipeline.reader.budget import BODIES_IN_FLIGHT, BodyBudget, Hold
from pipeline.reader.options import ReaderOptions
from pipeline.reader.safety import GuardedNetworkBackend, PrivateAddressError

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_REDIRECTS = (301, 302, 303, 307, 308)
_PERMANENT = (301, 308)
_RATE_LIMITED = (429, 503)


@dataclass(frozen=True)
class FetchResult:
    """What one fetch produced. Exactly one of: ``error`` set, ``not_modified``, or a body."""

    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    not_modified: bool = False
    moved_to: str | None = None
    truncated: bool = False
    error: str | None = None
    retry_after: float | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _in_daemon_thread(function, *args) -> asyncio.Future:
    """``function(*args)`` in a daemon thread. Not asyncio.to_thread: a read blocked for good
    (a FIFO, a hung network file system) would keep that executor's thread, and asyncio.run()
    waits for it at the end, so `ingest --once` never exited. A daemon thread is abandoned
    once the total timeout has passed."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def deliver(result=None, error=None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            result, error = function(*args), None
        except Exception as exc:  # noqa: BLE001 - raised again in the awaiting task
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=run, name="newswire-file-read", daemon=True).start()
    return future


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport whose connection pool connects through the address guard."""

    def __init__(self, options: ReaderOptions) -> None:
        super().__init__(trust_env=False, http1=True, http2=False)
        if not hasattr(self, "_pool"):  # httpx changed its internals: refuse to run unguarded
            raise RuntimeError("httpx.AsyncHTTPTransport has no _pool; pin httpx to <1")
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max(options.max_concurrency * 2, 10),
            max_keepalive_connections=options.max_concurrency,
            keepalive_expiry=30.0,
            network_backend=GuardedNetworkBackend(options.allow_private_addresses),
        )


def _error_text(exc: BaseException, options: ReaderOptions) -> str:
    if isinstance(exc.__cause__, PrivateAddressError):
        return str(exc.__cause__)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timeout ({options.connect_timeout:g} s)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timeout: no data for {options.read_timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timeout ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {exc}"
    if isinstance(exc, httpx.DecodingError):
        return f"cannot decode the response body: {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"HTTP protocol error: {exc}"
    return f"{type(exc).__name__}: {exc}"


class Fetcher:
    """Fetches feeds; one instance (one connection pool) per reader. Use ``async with``."""

    def __init__(self, options: ReaderOptions) -> None:
        self.options = options
        self.budget = BodyBudget(BODIES_IN_FLIGHT * max(options.max_body_bytes, options.page_max_bytes))
        headers = {
            "User-Agent": options.user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(options),
            headers=headers,
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=options.connect_timeout, read=options.read_timeout,
                write=options.read_timeout, pool=options.total_timeout,
            ),
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None,
        accept: str | None = None, max_bytes: int | None = None, timeout: float | None = None,
        before_hop: Callable[[str], Awaitable[str | None]] | None = None,
        hold: Hold | None = None,
    ) -> FetchResult:
        """Fetch ``url``. ``accept`` replaces the feed Accept header, ``max_bytes`` the body
        size limit and ``timeout`` the total timeout (article pages use their own);
        ``before_hop(target)`` is awaited before each redirect is followed and may refuse it
        by returning the reason (article pages: robots.txt and the pace of the target's host);
        the body's bytes are reserved in ``hold`` (from :attr:`budget`), which keeps them."""
        started = time.monotonic()
        scheme = urlsplit(url).scheme.lower()
        timeout = timeout or self.options.total_timeout
        try:
            if scheme == "file":
                attempt = _in_daemon_thread(self._read_file, url, last_modified)
            else:
                attempt = self._fetch_http(url, etag, last_modified, accept, max_bytes, before_hop, hold)
            result = await asyncio.wait_for(attempt, timeout)
        except asyncio.TimeoutError:
            result = FetchResult(url, url, error=f"no complete response within {timeout:g} s")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            result = FetchResult(url, url, error=_error_text(exc, self.options))
        except ValueError as exc:  # a URL httpx cannot even build a request for (bad IDNA, ...)
            result = FetchResult(url, url, error=f"invalid URL on the way to the feed: {exc}")
        return replace(result, elapsed=time.monotonic() - started)

    async def _fetch_http(self, url: str, etag: str | None, last_modified: str | None,
                          accept: str | None = None, max_bytes: int | None = None,
                          before_hop: Callable[[str], Awaitable[str | None]] | None = None,
                          hold: Hold | None = None) -> FetchResult:
        conditional = {"Accept": accept} if accept else {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        current, moved_to, still_permanent = url, None, True
        for _hop in range(self.options.max_redirects + 1):
            request = self._client.build_request("GET", current, headers=conditional)
            response = await self._client.send(request, stream=True)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                return await self._finish(url, current, moved_to, response, max_bytes, hold)
            await response.aclose()
            target = urljoin(current, location)
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                return FetchResult(
                    url, current, status=response.status_code,
                    error=f"redirect to {target!r} refused (only http/https are followed)",
                )
            refusal = await before_hop(target) if before_hop is not None else None
            if refusal:
                return FetchResult(url, current, status=response.status_code, error=refusal)
            if response.status_code in _PERMANENT and still_permanent:
                moved_to = target
            else:
                still_permanent = False
            current = target
        return FetchResult(
            url, current, error=f"more than {self.options.max_redirects} redirects (last to {current})"
        )

    async def _finish(
        self, url: str, final_url: str, moved_to: str | None, response: httpx.Response,
        max_bytes: int | None = None, hold: Hold | None = None,
    ) -> FetchResult:
        headers = {key.lower(): value for key, value in response.headers.items()}
        status = response.status_code
        common = {"url": url, "final_url": final_url, "status": status, "headers": headers, "moved_to": moved_to}
        try:
            if status == 304:
                return FetchResult(**common, not_modified=True)
            if status in _RATE_LIMITED:
                wait = parse_retry_after(headers.get("retry-after"))
                hint = f", Retry-After {wait:g} s" if wait is not None else ""
                return FetchResult(
                    **common, retry_after=wait,
                    error=f"HTTP {status} {response.reason_phrase}{hint}",
                )
            if not 200 <= status < 300:
                return FetchResult(**common, error=f"HTTP {status} {response.reason_phrase}")
            try:
                body, truncated = await read_body(response, max_bytes or self.options.max_body_bytes, hold)
            except BodyError as exc:
                return FetchResult(**common, error=f"cannot decode the response body: {exc}")
            return FetchResult(**common, body=body, truncated=truncated)
        finally:
            await response.aclose()

    def _file_refused(self, path: str) -> str | None:
        """Why the local file at ``path`` may not be read as a feed, or None."""
        if self.options.allow_file_feeds:
            return None
        root = self.options.file_feed_dir
        if root is None:
            return f"{path}: local files are not read as feeds here (allow with --allow-file-feeds)"
        real, root = os.path.realpath(path), os.path.realpath(root)
        if os.path.commonpath([real, root]) != root:
            return (f"{path}: outside the feed list's folder {root} (it resolves to {real}); "
                    "allow with --allow-file-feeds")
        return None

    def _read_file(self, url: str, last_modified: str | None) -> FetchResult:
        path = url2pathname(urlsplit(url).path)
        refused = self._file_refused(path)
        if refused:
            return FetchResult(url, url, error=f"refused: {refused}")
        try:
            # O_NONBLOCK: opening a FIFO does not wait for a writer (a thread blocked there
            # kept `ingest --once` from ever exiting); only regular files are read.
            descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
            with open(descriptor, "rb") as handle:
                info = os.fstat(descriptor)
                if not stat.S_ISREG(info.st_mode):
                    return FetchResult(url, url, error=f"refused: {path} is not a regular file")
                stamp = email.utils.formatdate(info.st_mtime, usegmt=True)
                headers = {"last-modified": stamp}
                if last_modified and stamp == last_modified:
                    return FetchResult(url, url, headers=headers, not_modified=True)
                body = handle.read(self.options.max_body_bytes + 1)
        except OSError as exc:
            return FetchResult(url, url, error=f"cannot read {path}: {exc.strerror}")
        truncated = len(body) > self.options.max_body_bytes
        return FetchResult(
            url, url, headers=headers, body=body[: self.options.max_body_bytes], truncated=truncated
        )
