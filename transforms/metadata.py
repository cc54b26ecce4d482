"""A news page's own metadata: JSON-LD (schema.org NewsArticle & co.), Open Graph and
``article:*`` meta tags, ``<link rel=canonical>`` and ``<html lang>``.

    page_metadata(tree, url) -> PageMetadata

Why our own code: trafilatura's ``extract_metadata`` gives the headline, authors and the
publication date, but not the modified time, the section or the publisher's paywall flag
(``isAccessibleForFree``), and it guesses dates from the whole page (htmldate), where a
record should carry only what the page states. Reading three well-defined sources takes
less code than adapting it.

Precedence, per field: JSON-LD of the article, then Open Graph / ``article:*`` meta, then
the plain HTML (``<title>``, ``<html lang>``). Times are kept only when they carry a zone
(a time without one is ambiguous) and are given in UTC (RFC 3339). Nothing here raises on
what a page contains: malformed JSON-LD is skipped.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson

from schemas.timefmt import to_rfc3339

# schema.org types whose object describes the article itself.
ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
    "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle", "AskPublicNewsArticle",
    "BlogPosting", "LiveBlogPosting", "Report", "SatiricalArticle", "ScholarlyArticle",
})
_WS = re.compile(r"\s+")
_MAX_AUTHORS = 20
_MAX_FIELD = 500  # characters; metadata longer than this is not metadata


@dataclass(frozen=True, slots=True)
class PageMetadata:
    headline: str | None = None
    authors: tuple[str, ...] = ()
    published_at: str | None = None  # RFC 3339 UTC
    modified_at: str | None = None
    section: str | None = None
    language: str | None = None  # BCP 47
    canonical_url: str | None = None
    accessible_for_free: bool | None = None  # the publisher's paywall flag; None: not stated

    def to_fields(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["authors"] = list(self.authors)
        return fields


def _text(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = _WS.sub(" ", value).strip()
    return value[:_MAX_FIELD] or None


def _types(node: dict) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def _walk(value: Any, depth: int = 0):
    """Every JSON object in a JSON-LD document (lists and @graph included), outermost first."""
    if depth > 6:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, depth + 1)
    elif isinstance(value, dict):
        yield value
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in value:
                yield from _walk(value[key], depth + 1)


def _json_ld_article(tree) -> dict | None:
    """The first JSON-LD object typed as an article, or None."""
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        source = (script.text or "").strip()
        if source.startswith("<!--"):
            source = source[4:].removesuffix("-->")
        try:
            document = orjson.loads(source)
        except orjson.JSONDecodeError:
            continue
        for node in _walk(document):
            if _types(node) & ARTICLE_TYPES:
                return node
    return None


def _names(value: Any) -> list[str]:
    """Author names from a JSON-LD author value (a string, a Person, a list of either)."""
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        name = _text(item.get("name")) if isinstance(item, dict) else _text(item)
        if name and not name.startswith(("http://", "https://")) and name not in out:
            out.append(name)
    return out[:_MAX_AUTHORS]


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _time(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    text = text.replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return to_rfc3339(moment.astimezone(timezone.utc))


def _language(value: Any) -> str | None:
    text = _text(value)
    if not text or not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", text):
        return None
    return text.replace("_", "-")


def _absolute(value: Any, base: str | None) -> str | None:
    text = _text(value)
    if not text:
        return None
    url = urljoin(base or "", text)
    return url if urlsplit(url).scheme in ("http", "https") else None


def _meta(tree) -> dict[str, list[str]]:
    """Meta tags by lower-cased property/name (a name may occur several times)."""
    found: dict[str, list[str]] = {}
    for node in tree.xpath("//meta[@content]"):
        key = (node.get("property") or node.get("name") or node.get("itemprop") or "").strip().lower()
        value = _text(node.get("content"))
        if key and value:
            found.setdefault(key, []).append(value)
    return found


def _first(*values: Any) -> Any:
    return next((value for value in values if value not in (None, "", [], ())), None)


def page_metadata(tree, url: str | None = None) -> PageMetadata:
    """What ``tree`` (an lxml HTML document) states about its article. ``url`` resolves
    relative canonical URLs."""
    article = _json_ld_article(tree) or {}
    meta = _meta(tree)

    def m(key: str) -> str | None:
        return (meta.get(key) or [None])[0]

    canonical = tree.xpath('//link[@rel="canonical"]/@href')
    title = tree.xpath("//title/text()")
    main = article.get("mainEntityOfPage")
    section = article.get("articleSection")
    if isinstance(section, list):
        section = section[0] if section else None
    return PageMetadata(
        headline=_first(_text(article.get("headline")), m("og:title"), m("twitter:title"),
                        _text(title[0]) if title else None),
        authors=tuple(_first(_names(article.get("author")),
                             _names([a for a in meta.get("article:author", []) + meta.get("author", [])]))
                      or ()),
        published_at=_first(_time(article.get("datePublished")), _time(m("article:published_time")),
                            _time(m("datepublished"))),
        modified_at=_first(_time(article.get("dateModified")), _time(m("article:modified_time")),
                           _time(m("og:updated_time")), _time(m("datemodified"))),
        section=_first(_text(section), m("article:section")),
        language=_first(_language(article.get("inLanguage")), _language(tree.get("lang")),
                        _language(m("og:locale")), _language(m("content-language"))),
        canonical_url=_first(_absolute(canonical[0], url) if canonical else None,
                             _absolute(m("og:url"), url),
                             _absolute(main.get("@id") if isinstance(main, dict) else main, url),
                             _absolute(article.get("url"), url)),
        accessible_for_free=_flag(article.get("isAccessibleForFree")),
    )

