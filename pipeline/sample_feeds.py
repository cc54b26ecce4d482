"""The bundled sample of wire feeds, and a small HTTP server that serves them on loopback.

`newswire run` polls the sample through :class:`FeedServer` rather than from files, so the
reader does what it does with real publishers: HTTP fetches with ETag and Last-Modified,
conditional GETs answered ``304 Not Modified``, gzip. The sample itself is described in
``pipeline/data/sample_feeds/feeds.opml`` and in each feed file's header comment.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

SAMPLE_DIR = Path(__file__).parent / "data" / "sample_feeds"
SAMPLE_OPML = SAMPLE_DIR / "feeds.opml"
CONTENT_TYPES = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rdf": "application/rdf+xml; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",  # the article pages of summary-only feeds
    ".txt": "text/plain; charset=utf-8",  # robots.txt
}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "newswire-sample-feeds"

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, *, send_body: bool) -> None:
        name = unquote(urlsplit(self.path).path).lstrip("/")
        path = self.server.directory / name
        if not name or "/" in name or name.startswith(".") or not path.is_file():
            self._send(HTTPStatus.NOT_FOUND, b"no such feed\n", "text/plain; charset=utf-8",
                       send_body=send_body)
            return
        data = path.read_bytes()
        mtime = int(path.stat().st_mtime)
        etag = f'"{hashlib.blake2b(data, digest_size=8).hexdigest()}"'
        headers = {"ETag": etag, "Last-Modified": formatdate(mtime, usegmt=True),
                   "Cache-Control": "max-age=0"}
        if self._not_modified(etag, mtime):
            self._send(HTTPStatus.NOT_MODIFIED, b"", None, headers, send_body=False)
            return
        if "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data, mtime=mtime)
            headers["Content-Encoding"] = "gzip"
        content_type = CONTENT_TYPES.get(path.suffix, "application/xml; charset=utf-8")
        self._send(HTTPStatus.OK, data, content_type, headers, send_body=send_body)

    def _not_modified(self, etag: str, mtime: int) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
            tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
            return "*" in tags or etag in tags
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return mtime <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _send(self, status: HTTPStatus, body: bytes, content_type: str | None,
              headers: dict[str, str] | None = None, *, send_body: bool) -> None:
        self.server.count(status)
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if status != HTTPStatus.NOT_MODIFIED:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass  # counted in FeedServer.responses instead of written to stderr


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], directory: Path) -> None:
        super().__init__(address, _Handler)
        self.directory = directory
        self.responses: Counter[int] = Counter()
        self._lock = threading.Lock()

    def count(self, status: HTTPStatus) -> None:
        with self._lock:
            self.responses[int(status)] += 1


class FeedServer:
    """Serve the files of ``directory`` at ``http://127.0.0.1:PORT/<name>`` from a thread.

    >>> with FeedServer(SAMPLE_DIR) as server:
    ...     server.url_for("reuters-world.rss")
    """

    def __init__(self, directory: Path = SAMPLE_DIR, host: str = "127.0.0.1", port: int = 0) -> None:
        if not Path(directory).is_dir():
            raise ValueError(f"feed directory {directory}: no such directory")
        self.directory = Path(directory)
        self._server = _Server((host, port), self.directory)
        self._thread = threading.Thread(target=self._server.serve_forever, name="feed-server",
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def responses(self) -> Counter[int]:
        """Responses sent so far, by HTTP status (200, 304, 404)."""
        with self._server._lock:
            return Counter(self._server.responses)

    def url_for(self, name: str) -> str:
        return f"{self.base_url}/{quote(name)}"

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):  # -> Self (typing.Self needs Python 3.11)
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def served_feed_list(opml: Path, server: FeedServer, dest: Path) -> Path:
    """Write a copy of ``opml`` to ``dest`` whose relative ``xmlUrl``s point at ``server``."""
    tree = ET.parse(opml)
    for outline in tree.iter("outline"):
        url = outline.get("xmlUrl")
        if url and "://" not in url:
            outline.set("xmlUrl", server.url_for(url))
    tree.write(dest, encoding="utf-8", xml_declaration=True)
    return dest
