"""Credentials in feed URLs (``https://user:secret@host/feed``) stay where they are needed
to fetch (the store, the request) and nowhere else: records, logs, ``feeds status`` and
error texts show ``https://***@host/feed``.

:func:`redact_url` is for one URL, :func:`redact_text` for any text that may hold URLs (an
error message, a log line), and :class:`RedactingFilter` applies it to every log record a
handler emits, whoever logged it (httpx at DEBUG logs request URLs).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

# the user information of a URL inside any text: "scheme://" then "user[:password]@"
_USERINFO = re.compile(r"(?<=[A-Za-z0-9+.-]://)[^/?#@\s\"'<>]+@")


def redact_url(url: str) -> str:
    """``url`` with its user information (name and password) replaced by ``***``."""
    return _USERINFO.sub("***@", url)


def strip_userinfo(url: str) -> str:
    """``url`` without user information: a base for resolving relative links."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact_text(text: str) -> str:
    return _USERINFO.sub("***@", text)


class RedactingFilter(logging.Filter):
    """A handler filter that redacts credentials in the formatted message and in the
    ``feed`` field of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        feed = getattr(record, "feed", None)
        if isinstance(feed, str):
            record.feed = redact_text(feed)
        return True
