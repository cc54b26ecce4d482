"""Story identity: the one place where ``story_id`` is computed.

The id is the Kafka key of raw and enriched records, the dedup key in the pipeline and the
upsert key downstream, so it must be stable: the same story seen twice, or through two feeds
of one publisher, gets the same id. In order of preference it derives from

1. the entry's guid, when it is a real identifier (a URL is canonicalised like a link; a URN
   or tag URI is global; any other opaque string is scoped by the publisher);
2. the canonicalised link;
3. a hash of the normalised title and content, scoped by the publisher.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that track a click, not identify a story.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ocid", "cmpid", "cmp",
        "taid", "smid", "rss", "feedname", "feedtype", "ito", "icid", "s_cid", "sr_share",
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "guccounter", "guce_referrer", "guce_referrer_sig", "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "ns_", "pk_", "mtm_")
# Second-level labels under which registrable domains have three labels (news.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "ac", "edu", "or", "ne", "go", "gob"})
_WS = re.compile(r"\s+")
_GUID_MIN_LENGTH = 4


def _digest(namespace: str, value: str) -> str:
    return hashlib.blake2b(f"{namespace}\x00{value}".encode(), digest_size=16).hexdigest()


def _is_url(value: str) -> bool:
    """An http(s) URL that parses: one whose port or IPv6 host does not (``:00<``, ``[::1``)
    identifies nothing, and the story falls back to its content (found by fuzzing)."""
    if not (value.startswith(("http://", "https://")) and "://" in value[:8] and len(value) > 10):
        return False
    try:
        urlsplit(value.strip()).port
    except ValueError:
        return False
    return True


def canonical_url(url: str) -> str:
    """Canonical form of a story URL: https, lower-case host without ``www.`` or default
    port, no fragment, no tracking parameters, remaining parameters sorted, no trailing
    slash (except the root)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "http":
        scheme = "https"
    host = (parts.hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    )
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def publisher_of(url: str) -> str:
    """The registrable domain of a URL (``feeds.reuters.com`` → ``reuters.com``), by a
    heuristic good enough for news sites; an IP address or single-label host is kept whole."""
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    host = host.removeprefix("www.")
    labels = host.split(".")
    if len(labels) <= 2 or host.replace(".", "").isdigit():
        return host
    if labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _real_guid(guid: str | None, feed_url: str) -> str | None:
    if guid is None:
        return None
    guid = guid.strip()
    if len(guid) < _GUID_MIN_LENGTH or guid == feed_url.strip():
        return None
    return guid


def story_id(
    *,
    guid: str | None,
    link: str | None,
    feed_url: str,
    title: str | None = None,
    content: str | None = None,
) -> str:
    """Deterministic 32-hex-digit id of a story (see the module docstring for the rules)."""
    link = link.strip() if link else None
    publisher = publisher_of(link if link and _is_url(link) else feed_url)
    real_guid = _real_guid(guid, feed_url)
    if real_guid is not None:
        if _is_url(real_guid):
            return _digest("url", canonical_url(real_guid))
        if real_guid.lower().startswith(("urn:", "tag:")):
            return _digest("id", real_guid)
        return _digest(f"guid:{publisher}", real_guid)
    if link and _is_url(link):
        return _digest("url", canonical_url(link))
    body = _WS.sub(" ", f"{title or ''}\n{content or ''}").strip().casefold()
    return _digest(f"content:{publisher}", body)
