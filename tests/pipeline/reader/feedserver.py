"""A real HTTP server on loopback that serves feeds from memory and misbehaves on request.

Used by the reader's tests and benchmark. Routes are set per path:
``put`` (a document with ETag/Last-Modified, 304 on a matching conditional request, gzip when
asked), ``redirect``, ``status`` (429 with Retry-After, 500, ...), ``hang`` (hold the request
until released), ``oversized`` (a body larger than the client's limit). Every request is
logged with its headers.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # the default backlog of 5 drops connections a reader opens at once


@dataclass
class Route:
    kind: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    target: str = ""
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    release: threading.Event | None = None
    size: int = 0


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    status: int  # as answered; 0 while a hanging request is held
    at: float = 0.0  # time.monotonic() when it was answered


class FeedServer:
    """``with FeedServer() as server: server.put("/a.xml", data); server.url("/a.xml")``"""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server((host, 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopping.set()
        for route in self.routes.values():
            if route.release is not None:
                route.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    # --- routes -----------------------------------------------------------------------------

    def put(self, path: str, body: bytes, *, content_type: str = "application/rss+xml",
            etag: bool = True, last_modified: bool = True, gzip: bool = False,
            headers: dict[str, str] | None = None) -> None:
        """Serve ``body`` at ``path``; a new body gets a new ETag and Last-Modified."""
        previous = self.routes.get(path)
        stamp = time.time()
        if previous is not None and previous.last_modified:
            # Last-Modified has a one-second resolution: make a change visible to it.
            stamp = max(stamp, email.utils.parsedate_to_datetime(previous.last_modified).timestamp() + 1)
        self.routes[path] = Route(
            "document", body=body, headers={"Content-Type": content_type, **(headers or {})},
            etag=f'"{hashlib.sha1(body).hexdigest()[:16]}"' if etag else None,
            last_modified=email.utils.formatdate(stamp, usegmt=True) if last_modified else None,
            gzip=gzip,
        )

    def redirect(self, path: str, status: int, target: str) -> None:
        self.routes[path] = Route("redirect", status=status, target=target)

    def status(self, path: str, status: int, headers: dict[str, str] | None = None,
               body: bytes = b"") -> None:
        self.routes[path] = Route("status", status=status, headers=headers or {}, body=body)

    def hang(self, path: str) -> threading.Event:
        """Requests to ``path`` get no answer until the returned event is set."""
        release = threading.Event()
        self.routes[path] = Route("hang", release=release)
        return release

    def oversized(self, path: str, size: int, content_type: str = "application/rss+xml") -> None:
        self.routes[path] = Route("oversized", size=size, headers={"Content-Type": content_type})

    # --- what happened ----------------------------------------------------------------------

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def hits(self, path: str) -> int:
        return len(self.requests_for(path))


def _oversized_chunks(size: int):
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>'
    item = b"<item><title>filler</title><description>" + b"x" * 1000 + b"</description></item>"
    yield head
    sent = len(head)
    while sent < size:
        yield item
        sent += len(item)


def _handler_for(server: FeedServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format, *args):  # keep test output clean
            pass

        def do_GET(self):  # http.server's naming
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._serve(server.routes.get(self.path.split("?", 1)[0]))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up (size limit, timeout)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _log(self, status: int) -> None:
            """Log the request before answering, so a client that saw the answer sees the log."""
            with server._lock:
                server.requests.append(
                    Request(self.path, {k.lower(): v for k, v in self.headers.items()}, status,
                            time.monotonic())
                )

        def _send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
            self._log(status)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, route: Route | None) -> None:
            if route is None:
                return self._send(404, {"Content-Type": "text/plain"}, b"no such feed")
            if route.kind == "redirect":
                return self._send(route.status, {"Location": route.target})
            if route.kind == "status":
                return self._send(route.status, route.headers, route.body)
            if route.kind == "hang":
                self._log(0)
                route.release.wait(60)
                self.close_connection = True
                return
            if route.kind == "oversized":
                self._log(200)
                self.send_response(200)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                for chunk in _oversized_chunks(route.size):
                    self.wfile.write(chunk)
                return
            validators = {}
            if route.etag:
                validators["ETag"] = route.etag
            if route.last_modified:
                validators["Last-Modified"] = route.last_modified
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (inm and route.etag and inm == route.etag) or (
                not inm and ims and route.last_modified and ims == route.last_modified
            ):
                return self._send(304, validators)
            body, headers = route.body, {**route.headers, **validators}
            if route.gzip and "gzip" in (self.headers.get("Accept-Encoding") or ""):
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            return self._send(200, headers, body)

    return Handler
