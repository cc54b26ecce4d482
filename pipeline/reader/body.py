"""A response body, decoded and size-limited: the limit counts DECODED bytes.

httpx decodes ``Content-Encoding`` itself, but each layer decompresses a whole network chunk
at once: a 64 KB chunk of gzip inside gzip (or of zstd) became gigabytes in one call, before
any size check could run. So the reader reads the raw bytes (at most ``limit`` of them) and
decodes them here, layer by layer, as a chain of generators that each hand on at most
``_CHUNK`` bytes at a time: however many layers, no more than ``limit`` decoded bytes (plus
one chunk per layer) are ever held. Codings: ``gzip``/``x-gzip`` (several members too),
``deflate`` (zlib-wrapped or raw), ``br`` (brotli, which article pages are often served
with), ``zstd`` (sent by some servers unasked), ``identity``. Anything else is refused with :class:`BodyError`, as are more than
``MAX_LAYERS`` codings.

:func:`read_body` is what a fetcher calls on an ``httpx`` response opened with
``stream=True``; :func:`decode_limited` is the same on bytes already in hand.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

import brotli
import httpx
import zstandard

from pipeline.reader.budget import Hold

MAX_LAYERS = 4
# What a fetcher asks for: every coding decoded here but zstd (decoded when sent unasked).
ACCEPT_ENCODING = "gzip, deflate, br"
_CHUNK = 64 * 1024
# RFC 9659: a zstd content coding uses a window of at most 8 MB (zstandard's default allows
# 128 MB, allocated as the frame header asks); a frame asking for more is refused.
ZSTD_MAX_WINDOW = 8 * 2**20


class BodyError(ValueError):
    """The body cannot be decoded: an unknown coding, too many layers, corrupt data."""


class _Incomplete(Exception):
    """A compressed stream ended before its end marker (the body was cut short)."""


def _zlib_layer(chunks: Iterator[bytes], wbits: int | None, name: str) -> Iterator[bytes]:
    """gzip (wbits 31, several members allowed) or deflate (None: zlib or raw, sniffed)."""
    decompressor = None
    for data in chunks:
        while data:
            if decompressor is None:
                if wbits is None:  # RFC 9110 says zlib; some servers send raw deflate
                    zlib_header = len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
                    wbits = 15 if zlib_header else -15
                decompressor = zlib.decompressobj(wbits)
            elif decompressor.eof:
                if wbits != 31 or not data.strip(b"\x00"):
                    break  # trailing bytes after a zlib stream (or gzip padding): ignored
                decompressor = zlib.decompressobj(wbits)  # the next gzip member
            try:
                out = decompressor.decompress(data, _CHUNK)
            except zlib.error as exc:
                raise BodyError(f"corrupt {name} data: {exc}") from exc
            data = decompressor.unconsumed_tail or (decompressor.unused_data if decompressor.eof else b"")
            if out:
                yield out
            while len(out) == _CHUNK and not data and not decompressor.eof:  # output still pending
                out = decompressor.decompress(b"", _CHUNK)
                if out:
                    yield out
    if decompressor is None or not decompressor.eof:
        raise _Incomplete(name)


class _Pull(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (for decoders that pull)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._left:
            self._left = next(self._chunks, None)
            if self._left is None:
                self._left = b""
                return 0
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


def _zstd_layer(chunks: Iterator[bytes]) -> Iterator[bytes]:
    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    reader = decompressor.stream_reader(_Pull(chunks), read_across_frames=True)
    while True:
        try:
            out = reader.read(_CHUNK)
        except zstandard.ZstdError as exc:
            raise BodyError(f"corrupt zstd data: {exc}") from exc
        if not out:
            return
        yield out


def _brotli_layer(chunks: Iterator[bytes]) -> Iterator[bytes]:
    decompressor = brotli.Decompressor()
    try:
        for data in chunks:
            out = decompressor.process(data, output_buffer_limit=_CHUNK)
            while True:
                if out:
                    yield out
                if decompressor.can_accept_more_data():
                    break
                out = decompressor.process(b"", output_buffer_limit=_CHUNK)
    except brotli.error as exc:
        raise BodyError(f"corrupt br data: {exc}") from exc
    if not decompressor.is_finished():
        raise _Incomplete("br")


_LAYERS: dict[str, Callable[[Iterator[bytes]], Iterator[bytes]]] = {
    "gzip": lambda chunks: _zlib_layer(chunks, 31, "gzip"),
    "x-gzip": lambda chunks: _zlib_layer(chunks, 31, "gzip"),
    "deflate": lambda chunks: _zlib_layer(chunks, None, "deflate"),
    "br": _brotli_layer,
    "zstd": _zstd_layer,
}


def content_codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header, in the order they were applied; raises
    BodyError for an unknown one or for more than MAX_LAYERS."""
    codings = [c.strip().lower() for c in (header or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    unknown = sorted({c for c in codings if c not in _LAYERS})
    if unknown:
        raise BodyError(
            f"unsupported Content-Encoding {', '.join(unknown)} (supported: {', '.join(_LAYERS)}, identity)"
        )
    if len(codings) > MAX_LAYERS:
        raise BodyError(f"Content-Encoding with {len(codings)} layers refused (at most {MAX_LAYERS})")
    return codings


def decode_limited(chunks: Iterable[bytes], codings: list[str], limit: int) -> tuple[bytes, bool]:
    """(at most ``limit`` decoded bytes, whether the decoded body was longer or cut short)."""
    stream: Iterator[bytes] = iter(chunks)
    for coding in reversed(codings):
        stream = _LAYERS[coding](stream)
    out = io.BytesIO()  # getvalue() hands over its buffer: the body is not copied at the end
    size, cut = 0, False
    try:
        for piece in stream:
            if size + len(piece) > limit:
                out.write(piece[: limit - size])
                cut = True
                break
            out.write(piece)
            size += len(piece)
    except _Incomplete:
        cut = True
    return out.getvalue(), cut


async def _raw_prefix(response: httpx.Response, limit: int, hold: Hold | None) -> tuple[list[bytes], bool]:
    chunks, size = [], 0
    raw: AsyncIterator[bytes] = response.aiter_raw()
    async for chunk in raw:
        cut = size + len(chunk) > limit
        chunk = chunk[: limit - size]
        if hold is not None:
            await hold.reserve(len(chunk))
        chunks.append(chunk)
        size += len(chunk)
        if cut:
            return chunks, True
    return chunks, False


async def read_body(response: httpx.Response, limit: int, hold: Hold | None = None) -> tuple[bytes, bool]:
    """Read a streamed response's body: (at most ``limit`` DECODED bytes, truncated?).
    At most ``limit`` raw bytes are read too. With a ``hold`` (see budget.py) the raw bytes
    are reserved as they arrive; then ``limit`` more, the most they can decode to, BEFORE
    the decoders exist: a decode never waits, so there is one decoder's state at a time
    (a zstd window up to 8 MB, a brotli one up to 16 MB), not one per waiting fetch. What
    the body did not need goes back after the decode, the raw bytes too. Raises BodyError
    (unknown coding, corrupt data); the caller closes the response."""
    codings = content_codings(response.headers.get("content-encoding"))
    chunks, raw_cut = await _raw_prefix(response, limit, hold)
    if hold is not None:
        await hold.reserve(limit)
    body, cut = decode_limited(chunks, codings, limit)
    if hold is not None:
        hold.release(sum(map(len, chunks)) + limit - len(body))
    return body, cut or raw_cut
