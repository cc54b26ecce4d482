"""The list of feeds to poll: an OPML file (what feed readers export) or plain text.

Plain text has one feed per line; ``#`` starts a comment; blank lines are ignored. A line
may be an ``http(s)://`` URL, a ``file://`` URL, or a path (relative to the list's folder).
OPML outlines with an ``xmlUrl`` attribute are feeds, at any nesting depth. Errors name the
file and line (or outline) and are all reported at once.

Local files are feeds only inside the list's own folder (a list and its files kept together),
so that a list written elsewhere (an OPML export) cannot make the reader publish
``file:///etc/passwd``; ``allow_file_feeds`` lifts that. The fetcher checks it again when it
reads (``ReaderOptions.file_feed_dir``), after resolving symbolic links.
A feed may set its own article fetching (``--fetch-articles``): ``fetch-articles=always``
(``auto``, ``never``) after the URL on its line, or ``fetchArticles="always"`` on its
OPML outline.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pipeline.reader.options import FETCH_ARTICLES
from pipeline.reader.safety import UnsafeURLError, check_feed_url

_TRAILING_COMMENT = re.compile(r"\s#")
_FETCH_SETTING = re.compile(r"\s+fetch-articles=(\S*)$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class FeedListError(ValueError):
    """The feed list cannot be used as given; the message lists every problem."""


@dataclass(frozen=True)
class FeedSource:
    url: str
    title: str | None = None
    fetch_articles: str | None = None  # auto/always/never for this feed; None: the reader's


def _fetch_setting(value: str | None, where: str) -> str | None:
    if value is not None and value not in FETCH_ARTICLES:
        raise UnsafeURLError(f"{where}: fetch articles {value!r}: use one of {', '.join(FETCH_ARTICLES)}")
    return value


def load_feed_list(path: str | Path, *, allow_file_feeds: bool = False) -> list[FeedSource]:
    """Read a feed list file (OPML or plain text, told apart by content)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedListError(f"feed list {path}: cannot read it ({exc.strerror})") from exc
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if head.startswith(b"<"):
        return parse_opml(data, origin=str(path), base_dir=path.parent, allow_file_feeds=allow_file_feeds)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedListError(f"feed list {path}: not UTF-8 text ({exc})") from exc
    return parse_plain_list(text, origin=str(path), base_dir=path.parent, allow_file_feeds=allow_file_feeds)


def _to_url(value: str, base_dir: Path) -> str:
    """A URL as given, or a local path turned into a file:// URL (relative to base_dir)."""
    if _SCHEME.match(value):
        return value
    return (base_dir / value).resolve().as_uri()


def _feed_url(value: str, base_dir: Path, allow_file_feeds: bool) -> str:
    url = check_feed_url(_to_url(value, base_dir))
    if allow_file_feeds or urlsplit(url).scheme.lower() != "file":
        return url
    real, root = Path(url2pathname(urlsplit(url).path)).resolve(), base_dir.resolve()
    if not real.is_relative_to(root):
        raise UnsafeURLError(f"{url}: a local file outside the feed list's folder {root} "
                             "(allow with --allow-file-feeds)")
    return url


def _unique(sources: list[tuple[str, FeedSource]], origin: str) -> list[FeedSource]:
    seen: dict[str, str] = {}
    problems = []
    out = []
    for where, source in sources:
        if source.url in seen:
            problems.append(f"{origin} {where}: {source.url} is listed twice (first at {seen[source.url]})")
            continue
        seen[source.url] = where
        out.append(source)
    if problems:
        raise FeedListError("\n".join(problems))
    return out


def parse_plain_list(text: str, *, origin: str = "feed list", base_dir: Path = Path("."),
                     allow_file_feeds: bool = False) -> list[FeedSource]:
    sources: list[tuple[str, FeedSource]] = []
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = _TRAILING_COMMENT.split(line.strip(), maxsplit=1)[0].strip()
        if not value or value.startswith("#"):
            continue
        setting = _FETCH_SETTING.search(value)
        try:
            mode = _fetch_setting(setting.group(1) if setting else None, "fetch-articles=")
            url = _feed_url(value[: setting.start()] if setting else value, base_dir, allow_file_feeds)
        except UnsafeURLError as exc:
            problems.append(f"{origin} line {number}: {exc}")
            continue
        sources.append((f"line {number}", FeedSource(url, fetch_articles=mode)))
    if problems:
        raise FeedListError("\n".join(problems))
    if not sources:
        raise FeedListError(f"{origin}: no feeds listed (one URL or path per line)")
    return _unique(sources, origin)


def parse_opml(data: bytes, *, origin: str = "feed list", base_dir: Path = Path("."),
               allow_file_feeds: bool = False) -> list[FeedSource]:
    # The operator's own file, but still never expand entity declarations from it.
    if b"<!ENTITY" in data.upper():
        raise FeedListError(f"{origin}: OPML with entity declarations (<!ENTITY) is refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FeedListError(f"{origin}: not well-formed OPML/XML ({exc})") from exc
    if root.tag.lower() != "opml":
        raise FeedListError(f"{origin}: the root element is <{root.tag}>, expected <opml>")
    sources: list[tuple[str, FeedSource]] = []
    problems = []
    for number, outline in enumerate(root.iter("outline"), start=1):
        raw = outline.get("xmlUrl") or outline.get("xmlurl")
        if raw is None:
            continue  # a folder/category outline
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        where = f"outline {number}" + (f" ({title})" if title else "")
        try:
            mode = _fetch_setting(outline.get("fetchArticles"), "fetchArticles")
            url = _feed_url(raw.strip(), base_dir, allow_file_feeds)
        except UnsafeURLError as exc:
            problems.append(f"{origin} {where}: {exc}")
            continue
        sources.append((where, FeedSource(url, title, mode)))
    if problems:
        raise FeedListError("\n".join(problems))
    if not sources:
        raise FeedListError(f"{origin}: no <outline xmlUrl=...> feeds found in the OPML")
    return _unique(sources, origin)
