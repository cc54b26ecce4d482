"""Article pages for entries whose feed gives only a summary.

When a page is fetched (``--fetch-articles``, per feed in the feed list):

- ``auto`` (the default): when the entry's content (its HTML without tags, or its text) is a
  summary: shorter than ``SUMMARY_MAX_CHARS`` characters (summaries seen on five real
  publishers' feeds ran ~110; the shortest full wire briefs of the bundled sample ~285), or
  shorter than ``TEASER_MAX_CHARS`` and ending like a teaser (``…``, ``...``, ``[…]``,
  "Read more", "Continue reading"). Else the outcome is ``not_needed``.
- ``always``: for every new or edited entry with an http(s) link; ``never``: never
  (``skipped``). Entries the store has already published unchanged are not fetched again.

Each page: robots.txt first (``robots.RobotsCache``), then one paced request through the
per-host limits (``politeness.HostLimiter``) with the reader's client (address guard on
every hop, timeouts), ``page_max_bytes`` at most, HTML only. A redirect to another host is
followed only if that host's robots.txt allows the target, and after that host's turn. The bytes are decoded by the
same rules as feeds (a byte order mark, else bytes that are valid UTF-8, else the declared
charset: HTTP header, then ``<meta charset>``; else UTF-8 with stray bytes read as
Windows-1252), then scripts (JSON-LD kept), styles, comments, SVG, templates and frames are
stripped. A page whose visible text, navigation, header, footer and asides left out, is
under ``MIN_BODY_CHARS`` characters is ``too_little_text`` (a paywall stub, a page written
by scripts); a page still larger than ``page_record_bytes``, or one that would make the
record larger than the raw schema's ``max_record_bytes``, is ``too_large``.

Every entry leaves with an outcome in ``record["article"]`` (see schemas/raw_story.schema.json)
and, when fetched (or too little text), the page in ``record["page"]``. Nothing here raises
for anything a page does: the entry goes out with its feed summary and the outcome.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import orjson
from selectolax.lexbor import LexborHTMLParser

from pipeline.reader.fetch import Fetcher, FetchResult
from pipeline.reader.parse import ParsedEntry, decode_document
from pipeline.reader.politeness import HostLimiter
from pipeline.reader.robots import RobotsCache
from schemas import RAW_STORY
from transforms.page import MIN_BODY_CHARS

log = logging.getLogger(__name__)

SUMMARY_MAX_CHARS = 250
TEASER_MAX_CHARS = 1500
_SUMMARY_SOURCE_MAX = 100_000  # content longer than this (markup included) is not a summary
_TEASER_END = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\]|read more|continue reading|more»?)\W*$",
                         re.IGNORECASE)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HTTP_CHARSET = re.compile(r"charset\s*=", re.IGNORECASE)
_LOOKS_HTML = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
                         re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")
_STRIPPED = ("style", "noscript", "svg", "template", "iframe", "object", "embed", "canvas")
_NOT_ARTICLE = "nav, header, footer, aside, form, button, select"


@dataclass(frozen=True)
class PageResult:
    article: dict[str, Any]  # the record's "article" outcome
    page: dict[str, Any] | None  # the record's "page", or None


def content_text(record: dict[str, Any]) -> str:
    """The entry's own content as text: its HTML without tags, else its text."""
    html, text = record.get("html"), record.get("text")
    if html:
        return _WS.sub(" ", _TAG.sub(" ", html)).strip()
    return _WS.sub(" ", text or "").strip()


def is_summary(record: dict[str, Any]) -> bool:
    html, text = record.get("html") or "", record.get("text") or ""
    if len(html) + len(text) > _SUMMARY_SOURCE_MAX:  # no copies of a feed's 10 MB entry
        return False
    text = content_text(record)
    return len(text) < SUMMARY_MAX_CHARS or (len(text) < TEASER_MAX_CHARS and bool(_TEASER_END.search(text)))


def decision(record: dict[str, Any], mode: str) -> str | None:
    """None when the entry's page is to be fetched, else its outcome ("not_needed", "skipped")."""
    link = (record.get("source") or {}).get("link")
    if mode == "never" or not link or urlsplit(link).scheme.lower() not in ("http", "https"):
        return "skipped"
    if mode == "auto" and not is_summary(record):
        return "not_needed"
    return None


def decode_page(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, encoding) of a page: the feed rules, with ``<meta charset>`` as the declared
    charset when the HTTP header names none."""
    declared = content_type or ""
    if not _HTTP_CHARSET.search(declared):
        meta = _META_CHARSET.search(body[:4096])
        if meta:
            declared = f"text/html; charset={meta.group(1).decode('ascii')}"
    text, encoding, _note = decode_document(body, declared)
    return text, encoding


def strip_page(text: str) -> tuple[str, int]:
    """(the page without scripts, styles, comments, SVG, templates and frames; the length of
    its visible article-like text: without navigation, header, footer, asides and forms)."""
    tree = LexborHTMLParser(text)
    for node in tree.css("script"):
        if (node.attributes.get("type") or "").strip().lower() != "application/ld+json":
            node.decompose()
    tree.strip_tags(list(_STRIPPED), recursive=True)
    for node in [n for n in tree.root.traverse(include_text=False) if n.tag == "-comment"] if tree.root else []:
        node.decompose()
    stripped = tree.html or ""
    body = tree.body
    if body is None:
        return stripped, 0
    for node in body.css(_NOT_ARTICLE):
        node.decompose()
    for node in body.css("script"):  # JSON-LD is data, not visible text
        node.decompose()
    visible = _WS.sub(" ", body.text(separator=" ")).strip()
    return stripped, len(visible)


def _outcome(outcome: str, url: str, result=None, reason: str | None = None,
             size: int | None = None) -> dict[str, Any]:
    return {
        "outcome": outcome, "url": url,
        "final_url": getattr(result, "final_url", None),
        "status": getattr(result, "status", None),
        "bytes": size, "reason": reason,
    }


def process_page(url: str, result, options) -> PageResult:
    """A fetched response → outcome and page (CPU work: run it off the event loop)."""
    size = len(result.body)
    content_type = result.headers.get("content-type")
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in _HTML_TYPES and not (not media and _LOOKS_HTML.match(result.body[:1024])):
        return PageResult(_outcome("not_html", url, result, f"content type {media or 'none'}, "
                                   "not HTML", size), None)
    text, encoding = decode_page(result.body, content_type)
    stripped, visible = strip_page(text)
    record_bytes = len(stripped.encode("utf-8"))
    if record_bytes > options.page_record_bytes:
        return PageResult(_outcome(
            "too_large", url, result,
            f"{record_bytes} bytes after stripping scripts and styles; a record carries at "
            f"most {options.page_record_bytes}", size), None)
    page = {"url": result.final_url, "html": stripped, "content_type": content_type,
            "encoding": encoding}
    if visible < MIN_BODY_CHARS:
        return PageResult(_outcome(
            "too_little_text", url, result,
            f"{visible} characters of text outside navigation and footers (fewer than "
            f"{MIN_BODY_CHARS}): a paywall stub or a page written by scripts", size), page)
    return PageResult(_outcome("fetched", url, result, None, size), page)


def with_page(record: dict[str, Any], result: PageResult) -> dict[str, Any]:
    """The record with its article outcome and page; a page that would make the record larger
    than the raw schema allows (``max_record_bytes``: the feed's own content counts too) is
    left out, and the outcome says ``too_large``."""
    out = {**record, "article": result.article}
    if result.page is None:
        return out
    out["page"] = result.page
    size = len(orjson.dumps(out))
    limit = RAW_STORY.limits.max_record_bytes
    if size <= limit:
        return out
    del out["page"]
    out["article"] = {**result.article, "outcome": "too_large",
                      "reason": f"the record with the page would be {size} bytes; a raw record "
                                f"may be {limit} (x-newswire-limits in schemas/raw_story.schema.json)"}
    return out


class PageFetcher:
    """Fetches the article pages of one feed's new entries; one per reader run."""

    def __init__(self, fetcher: Fetcher, limiter: HostLimiter, robots: RobotsCache,
                 executor: Executor | None = None) -> None:
        self.fetcher = fetcher
        self.options = fetcher.options
        self.limiter = limiter
        self.robots = robots
        self.executor = executor

    async def attach(self, entries: list[ParsedEntry], mode: str,
                     wanted: Callable[[ParsedEntry], bool] = lambda entry: True) -> list[ParsedEntry]:
        """The entries with their article outcome (and page) in their records; entries not
        ``wanted`` (already published unchanged) are returned as they are."""
        async def one(entry: ParsedEntry) -> ParsedEntry:
            if not wanted(entry):
                return entry
            result = await self.page_for(entry.record, mode)
            return replace(entry, record=with_page(entry.record, result))

        return list(await asyncio.gather(*(one(entry) for entry in entries)))

    async def page_for(self, record: dict[str, Any], mode: str) -> PageResult:
        url = (record.get("source") or {}).get("link")
        skip = decision(record, mode)
        if skip is not None:
            return PageResult(_outcome(skip, url), None)
        try:
            return await self._fetch(url)
        except Exception as exc:  # a bug met on odd input: the entry still goes out
            log.exception("internal error while fetching the page %s", url)
            return PageResult(_outcome("fetch_error", url, None,
                                       f"internal error: {type(exc).__name__}: {exc}"), None)

    async def _fetch(self, url: str) -> PageResult:
        allowed, why = await self.robots.check(url)
        if not allowed:
            return PageResult(_outcome("robots_disallow", url, None, why), None)
        disallowed: list[str] = []

        async def before_hop(target: str) -> str | None:
            """robots.txt and the pace of each redirect target's host, too."""
            allowed, why = await self.robots.check(target)
            if not allowed:
                disallowed.append(f"redirect to {target}: {why}")
                return disallowed[-1]
            await self.limiter.turn(target)
            return None

        async with self.fetcher.budget.hold(f"page {url}") as hold:
            async with self.limiter.request(url):
                result = await self.fetcher.fetch(url, accept=PAGE_ACCEPT,
                                                  max_bytes=self.options.page_max_bytes,
                                                  timeout=self.options.page_timeout,
                                                  before_hop=before_hop, hold=hold)
            if disallowed:
                return PageResult(_outcome("robots_disallow", url, result, disallowed[-1]), None)
            return await self._page_result(url, result)

    async def _page_result(self, url: str, result: FetchResult) -> PageResult:
        if result.error:
            kind = "http_error" if result.status is not None else "fetch_error"
            return PageResult(_outcome(kind, url, result, result.error), None)
        if result.truncated:
            return PageResult(_outcome("too_large", url, result,
                                       f"larger than {self.options.page_max_bytes} bytes",
                                       len(result.body)), None)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, process_page, url, result, self.options)
