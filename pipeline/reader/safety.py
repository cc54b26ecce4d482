"""Guards between the reader and untrusted feeds.

- Feed URLs: only ``http``, ``https`` and ``file``.
- Addresses: a feed (or a redirect target) whose host resolves to a loopback, private,
  link-local or otherwise non-global address is refused unless explicitly allowed. The
  check happens when the connection is made, on the address actually connected to, so a
  redirect or a DNS answer that changes between check and use cannot get around it.
- XML entities: feedparser hands expat a document whose DOCTYPE may declare entities, and
  its fallback parser expands declared entities without any limit (a 200 KB entity used 2,000
  times became 400 MB of text here). :func:`defuse_doctype` keeps only short literal
  entities (``&#160;``, a few characters), so expansion grows a document by a small factor.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore

ALLOWED_SCHEMES = ("http", "https", "file")


class UnsafeURLError(ValueError):
    """A feed URL the reader will not fetch (wrong scheme, no host, ...)."""


class PrivateAddressError(httpcore.ConnectError):
    """The host resolved only to addresses the reader may not connect to."""


def check_feed_url(url: str) -> str:
    """Return ``url`` if the reader may fetch it, else raise UnsafeURLError saying why."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeURLError(f"{url!r} is not a URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURLError(
            f"{url!r}: scheme {scheme or '(none)'!r} is not accepted "
            f"(accepted: {', '.join(ALLOWED_SCHEMES)})"
        )
    if scheme in ("http", "https") and not parts.hostname:
        raise UnsafeURLError(f"{url!r}: no host name")
    if scheme == "file" and (not parts.path or parts.netloc not in ("", "localhost")):
        raise UnsafeURLError(f"{url!r}: a file URL needs a local absolute path (file:///path)")
    return url


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use only
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d: never routed publicly
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 ::ffff:0:a.b.c.d
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated, but still routed locally


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64,
    6to4), or None (for ``::`` and ``::1`` too)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_TRANSLATED or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local,
    site-local, carrier-grade NAT, multicast, reserved or unspecified). An IPv6 address
    that carries an IPv4 address (NAT64, 6to4, IPv4-mapped/-translated) is judged by that
    IPv4 address; the deprecated IPv4-compatible form (``::a.b.c.d``) is never public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _SITE_LOCAL or ip in _NAT64_LOCAL or ip in _IPV4_COMPATIBLE:
            return False
        ip = embedded_ipv4(ip) or ip
    return ip.is_global and not ip.is_multicast


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return [host.strip("[]")]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout
        )
    except (TimeoutError, OSError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc or 'timed out'}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the reader may use."""

    def __init__(self, allow_private_addresses: bool) -> None:
        self.allow_private_addresses = allow_private_addresses
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.allow_private_addresses:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = await _resolve(host, port, timeout)
        allowed = [address for address in addresses if is_public_address(address)]
        if not allowed:
            raise PrivateAddressError(
                f"refused: {host} resolves to {', '.join(addresses)}, a loopback/private/"
                "non-global address (allow with --allow-private-addresses)"
            )
        last_error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not used by the feed reader")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --- XML entity declarations ---------------------------------------------------------------
# These work on the DECODED document (the text handed to the parser): a guard on the raw
# bytes missed every declaration of a UTF-16 document.

_PROLOG_SKIP = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_LITERAL_ENTITY = re.compile(
    r"""<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:"([^"]*)"|'([^']*)')\s*>""", re.IGNORECASE
)
_ANY_DECLARATION = re.compile(r"<!ENTITY", re.IGNORECASE)
# A value that cannot amplify: one character reference, or a few literal characters.
_SAFE_VALUE = re.compile(r"&#[0-9]{1,7};|&#x[0-9a-fA-F]{1,6};|[^&%<]{0,8}")
_SUBSET_CLOSE = re.compile(r"\]\s*>")


def _find_doctype(text: str) -> int | None:
    """Index of the DOCTYPE declaration in the prolog (after the XML declaration, comments,
    processing instructions, white space), or None."""
    i = 1 if text.startswith("\ufeff") else 0
    while True:
        skipped = _PROLOG_SKIP.match(text, i)
        if skipped is None or skipped.end() == i:
            break
        i = skipped.end()
    return i if _DOCTYPE.match(text, i) else None


def _scan_internal_subset(text: str, start: int) -> tuple[int, int] | None:
    """From a ``<!DOCTYPE`` at ``start``: (index of '[', index just after ']>'), or None
    when there is no internal subset. Raises ValueError when the subset never closes."""
    quote = None
    i = start + len("<!DOCTYPE")
    open_at = None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif open_at is None:
            if ch == ">":
                return None
            if ch == "[":
                open_at = i
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                break
            i = end + 3
            continue
        elif ch == "]":
            close = _SUBSET_CLOSE.match(text, i)
            if close:
                return open_at, close.end()
        i += 1
    raise ValueError("unterminated DOCTYPE")


def defuse_doctype(text: str) -> tuple[str, str | None]:
    """Return the (decoded) document with unsafe entity declarations removed from its
    DOCTYPE, and a note saying what was removed (None when nothing was)."""
    start = _find_doctype(text)
    if start is None:
        return text, None
    try:
        subset = _scan_internal_subset(text, start)
    except ValueError:
        return text[:start], "unterminated DOCTYPE: the document was cut there"
    if subset is None:
        return text, None
    open_at, end = subset
    body = text[open_at + 1 : end]
    declared = len(_ANY_DECLARATION.findall(body))
    kept = [
        match.group(0)
        for match in _LITERAL_ENTITY.finditer(body)
        if _SAFE_VALUE.fullmatch(match.group(2) if match.group(2) is not None else match.group(3))
    ]
    if declared == len(kept):
        return text, None
    head = text[start:open_at].rstrip()
    subset_text = "[\n" + "".join(line + "\n" for line in kept) + "]>"
    rebuilt = text[:start] + "\n" + head + " " + subset_text + text[end:]
    return rebuilt, (
        f"removed {declared - len(kept)} entity declaration(s) from the DOCTYPE "
        "(only short literal entities are expanded)"
    )
