"""The article in a whole web page: trafilatura finds the body, we put back what it drops.

    extract_page(page_html, url) -> PageArticle

trafilatura (the extractor the public benchmarks rank near the top: F1 0.958 on the
ScrapingHub article-extraction benchmark) finds the article's paragraphs. Like every generic
extractor it leaves out what our extraction needs: the byline, figure captions with their
photo credits, a dateline or sign-off set in an element of its own. So the page is parsed
once (lxml), trafilatura reads a copy, and its paragraphs are located in the original tree;
the article's region is where they are. From that region we put back, in document order:

- figures and caption/credit elements (``<figure>``, ``<figcaption>``, ``class~caption|credit``);
- datelines in an element of their own (``class~dateline``) trafilatura did not keep;
- short closing lines after the body that read like a sign-off (``REUTERS``,
  ``Reporting by ...``).

Bylines (``rel=author``, ``itemprop=author``, ``class~byline|author``) are recorded
directly as removed items of kind ``byline``: the markup says what they are, and the
attribution reads bylines from there. The result, :attr:`PageArticle.body_html`, is an HTML
fragment for ``transforms.clean``, which then removes captions, credits and bylines by kind
as it does for feed content. The
headline is not put in the body: it is page metadata (``transforms.metadata``), and the
record's title when the feed gave none.

Page furniture outside the article (navigation, related links, comments, cookie and
newsletter banners, share bars, the footer) is recorded by kind in :attr:`PageArticle.removed`
(each text cut to ``REMOVED_TEXT_CHARS``, at most ``MAX_REMOVED`` items), so what was left
out can be audited like the rest of cleaning.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass

import trafilatura
from trafilatura.utils import load_html

from transforms.clean import Cleaned, Removed, clean_html
from transforms.metadata import PageMetadata, page_metadata

# Kinds of page furniture, beside the kinds of transforms.clean.KINDS they add to.
PAGE_KINDS = ("navigation", "related", "comments", "banner", "promo", "share", "footer")
# A page body shorter than this (characters) is not an article: a paywall stub, a page
# whose text is written by scripts. The feed's own content is used instead.
MIN_BODY_CHARS = 300
REMOVED_TEXT_CHARS = 200
MAX_REMOVED = 40
_BYLINE_MAX = 200
_CAPTION_MAX = 600
_SIGNOFF_MAX = 160

# Elements whose text may be one of trafilatura's paragraphs: block elements, and containers
# holding no block element (a paragraph written as a <div> of text and inline tags).
_LEAF_TAGS = frozenset(("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "td",
                        "dd", "dt", "figcaption"))
_CONTAINER_TAGS = frozenset(("div", "span", "section", "article", "font", "center"))
_BLOCKISH = _LEAF_TAGS | _CONTAINER_TAGS | {"ul", "ol", "table", "figure", "header", "footer",
                                            "nav", "aside", "main", "form"}


def _token_re(*words: str) -> re.Pattern:
    return re.compile(r"(?:^|[\s_-])(?:" + "|".join(words) + r")(?:$|[\s_-])")


# Furniture by class/id tokens (checked in this order; the first kind that matches wins).
_FURNITURE = (
    ("comments", _token_re("comments?", "disqus", "commentlist", "respond")),
    ("banner", _token_re("cookies?", "consent", "gdpr", "cmp")),
    ("promo", _token_re("newsletter", "subscribe", "subscription", "signup", "sign-up",
                        "promo", "advert", "advertisement", "ad", "ads", "sponsored")),
    ("share", _token_re("share", "sharing", "social", "share-bar", "sharebar", "addthis")),
    ("related", _token_re("related", "recommended", "recommendations", "more-stories",
                          "read-more", "readmore", "trending", "popular", "outbrain", "taboola",
                          "most-read", "mostread", "recirc", "recirculation", "read-next",
                          "up-next", "more-from")),
    ("navigation", _token_re("nav", "navbar", "navigation", "menu", "breadcrumbs?", "masthead",
                             "skip-link")),
)
_FURNITURE_TAGS = {"nav": "navigation", "aside": "related", "footer": "footer"}
_FURNITURE_ROLES = {"navigation": "navigation", "contentinfo": "footer", "complementary": "related"}
_CAPTION = _token_re("caption", "credit", "credits", "photo-credit", "image-credit", "wp-caption-text")
_BYLINE = _token_re("byline", "author", "authors", "author-name", "by-line", "article-author",
                    "contributor")
_DATELINE = _token_re("dateline", "article-dateline")
_SIGNOFF = re.compile(
    r"^\(?\s*(?:(?:Additional\s+)?[Rr]eporting|Writing|Editing|Compiled|Edited)\s+by\b"
    r"|^[\W_]{0,3}[A-Z][A-Z&./ -]{1,28}[\W_]{0,3}$"
)


@dataclass(frozen=True, slots=True)
class PageArticle:
    body_html: str  # the article body as an HTML fragment, for transforms.clean.clean_html
    removed: tuple[Removed, ...]  # page furniture left out, by kind (PAGE_KINDS), in order
    metadata: PageMetadata
    text_chars: int  # characters of article text found (0: trafilatura found no body)


def _norm(text: str) -> str:
    return " ".join(text.split())  # several times faster than a regex over long texts


def _text_of(element) -> str:
    return _norm("".join(element.itertext()))


def _tokens(element) -> str:
    return f"{element.get('class') or ''} {element.get('id') or ''}".lower()


def _furniture_kind(element) -> str | None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _FURNITURE_TAGS:
        return _FURNITURE_TAGS[tag]
    role = (element.get("role") or "").lower()
    if role in _FURNITURE_ROLES:
        return _FURNITURE_ROLES[role]
    tokens = _tokens(element)
    if tokens.strip():
        for kind, pattern in _FURNITURE:
            if pattern.search(tokens):
                return kind
    return None


class _Layout:
    """Document order of a tree: each element's pre-order index and subtree end."""

    def __init__(self, tree) -> None:
        self.elements = [el for el in tree.iter() if isinstance(el.tag, str)]
        self.start = {el: i for i, el in enumerate(self.elements)}
        size = {}
        for el in reversed(self.elements):
            size[el] = 1 + sum(size.get(child, 0) for child in el)
        self.end = {el: self.start[el] + size[el] - 1 for el in self.elements}

    def contains(self, outer, position: int) -> bool:
        return self.start[outer] <= position <= self.end[outer]


def _body_blocks(body) -> list[str]:
    """trafilatura's body (its XML) as one text per paragraph, list item or table row."""
    blocks: list[str] = []
    for child in body:
        if child.tag == "list":
            blocks.extend(_text_of(item) for item in child.iter("item"))
        elif child.tag == "table":
            blocks.extend(" ".join(_text_of(cell) for cell in row) for row in child.iter("row"))
        else:
            blocks.append(_text_of(child))
    return [block for block in blocks if block]


def _locate(blocks: list[str], layout: _Layout) -> list[int | None]:
    """The position in the original tree of each block (None when not found as one element)."""
    wanted = set(blocks)
    where: dict[str, int] = {}
    for el in layout.elements:
        if el.tag in _LEAF_TAGS or (el.tag in _CONTAINER_TAGS
                                    and not any(child.tag in _BLOCKISH for child in el)):
            text = _text_of(el)
            if text in wanted and text not in where:
                where[text] = layout.start[el]
    # a text found several times (a repeated line) is placed at its first unused occurrence
    return [where.get(block) for block in blocks]


def _furniture_around(element, layout: _Layout, first: int, seen: dict) -> str | None:
    """The kind of the furniture container holding ``element``, when that container does
    not also hold the article's first block (at ``first``: a wrapper of the whole article
    whose class merely says "menu-open" is not furniture). A class on the paragraph itself
    does not count: sites mark article paragraphs "paywall", "share-quote"..."""
    node = element.getparent()
    while node is not None and node.tag not in ("body", "html"):
        if node not in seen:  # many paragraphs share their ancestors: classify each once
            seen[node] = _furniture_kind(node)
        kind = seen[node]
        if kind is not None:
            return None if layout.contains(node, first) else kind
        node = node.getparent()
    return None


def _without_furniture(blocks: list[str], positions: list[int | None], layout: _Layout):
    """The blocks trafilatura kept that sit in page furniture (comments, newsletter boxes,
    share bars, related links) taken out, and recorded as removed by kind."""
    found = [p for p in positions if p is not None]
    if not found:
        return blocks, positions, ()
    seen: dict = {}
    kinds = [None if position is None
             else _furniture_around(layout.elements[position], layout, found[0], seen)
             for position in positions]
    # A block not found as one element (text split across elements) goes with its
    # neighbours: furniture when the located blocks before and after it are.
    located = [i for i, position in enumerate(positions) if position is not None]
    for i, position in enumerate(positions):
        if position is None:
            before = [kinds[j] for j in located if j < i][-1:]
            after = [kinds[j] for j in located if j > i][:1]
            if before and before[0] is not None and (not after or after[0] == before[0]):
                kinds[i] = before[0]
    kept_blocks, kept_positions, dropped = [], [], []
    for block, position, kind in zip(blocks, positions, kinds):
        if kind is None:
            kept_blocks.append(block)
            kept_positions.append(position)
        elif len(dropped) < MAX_REMOVED:
            text = block if len(block) <= REMOVED_TEXT_CHARS else block[: REMOVED_TEXT_CHARS - 1].rstrip() + "…"
            dropped.append(Removed(kind, text))
    return kept_blocks, kept_positions, tuple(dropped)


def _region(found: list[int], layout: _Layout) -> tuple[int, int]:
    """(first, last) position of the article: the smallest element holding every located
    block; extended back to the page's first <h1> when that comes before it."""
    first, last = min(found), max(found)
    container = layout.elements[first]
    while container.getparent() is not None and not layout.contains(container, last):
        container = container.getparent()
    start, end = layout.start[container], layout.end[container]
    for el in layout.elements[:start]:
        if el.tag == "h1":
            return layout.start[el], end
    return start, end


def _in_furniture(element, stop) -> bool:
    node = element
    while node is not None and node is not stop:
        if _furniture_kind(node) is not None:
            return True
        node = node.getparent()
    return False


def _restored(layout: _Layout, start: int, end: int, kept: set[str], last_block: int,
              bylines: list[Removed]) -> list[tuple[int, str]]:
    """(position, html) of what the article needs and trafilatura dropped, in the region.
    Bylines found by their markup go to ``bylines`` (removed as kind "byline", where the
    attribution reads them) rather than into the body, where cleaning would have to
    recognise them by their wording."""
    out: list[tuple[int, str]] = []
    taken_until = -1  # skip descendants of an element already restored
    root = layout.elements[start].getparent()
    for el in layout.elements[start : end + 1]:
        position = layout.start[el]
        if position <= taken_until:
            continue
        # what the element is, from its markup (cheap); its text only for the few candidates
        tag, tokens = el.tag, _tokens(el)
        if tag in ("figure", "figcaption") or _CAPTION.search(tokens):
            kind, limit = "caption", _CAPTION_MAX
        elif el.get("rel") == "author" or (el.get("itemprop") or "").lower() == "author" \
                or _BYLINE.search(tokens):
            kind, limit = "byline", _BYLINE_MAX
        elif _DATELINE.search(tokens):
            kind, limit = "dateline", _BYLINE_MAX
        elif tag == "p" and position > last_block:
            kind, limit = "signoff", _SIGNOFF_MAX
        else:
            continue
        text = _text_of(el)
        if not text or text in kept or len(text) > limit or _in_furniture(el, root):
            continue
        if kind == "signoff" and not _SIGNOFF.search(text):
            continue
        taken_until = layout.end[el]
        if kind == "caption":
            out.append((position, f"<figure><figcaption>{_html.escape(text)}</figcaption></figure>"))
        elif kind == "byline":
            bylines.append(Removed("byline", text))
        else:
            out.append((position, f"<p>{_html.escape(text)}</p>"))
    return out


def _furniture(layout: _Layout, body_positions: list[int]) -> tuple[Removed, ...]:
    """The outermost furniture elements of the page that hold no article paragraph."""
    removed: list[Removed] = []
    skip_until = -1
    for el in layout.elements:
        position = layout.start[el]
        if position <= skip_until or el.tag in ("head", "script", "style", "noscript", "template"):
            if el.tag == "head":
                skip_until = layout.end[el]
            continue
        kind = _furniture_kind(el)
        if kind is None or el.tag in ("html", "body"):
            continue
        if any(layout.contains(el, p) for p in body_positions):
            continue  # a wrapper of the article itself (a class that merely says "menu-open")
        skip_until = layout.end[el]
        text = _joined(el)
        if not text:
            continue
        if len(text) > REMOVED_TEXT_CHARS:
            text = text[: REMOVED_TEXT_CHARS - 1].rstrip() + "…"
        removed.append(Removed(kind, text))
        if len(removed) >= MAX_REMOVED:
            break
    return tuple(removed)


def _joined(element) -> str:
    return _norm(" ".join(element.itertext()))


def extract_page(page_html: str, url: str | None = None) -> PageArticle:
    """The article body, the furniture left out and the metadata of one web page."""
    tree = load_html(page_html)
    if tree is None:
        return PageArticle("", (), PageMetadata(), 0)
    metadata = page_metadata(tree, url)
    headlines = {_text_of(h1) for h1 in tree.iter("h1")} | {metadata.headline}
    document = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, include_tables=True, include_images=False,
        with_metadata=False,
    )
    body = getattr(document, "body", None) if document is not None else None
    blocks = _body_blocks(body) if body is not None else []
    if blocks and blocks[0] in headlines:
        blocks = blocks[1:]  # the headline is metadata (the record's title), not body
    if not blocks:
        return PageArticle("", (), metadata, 0)
    layout = _Layout(tree)
    positions = _locate(blocks, layout)
    blocks, positions, dropped = _without_furniture(blocks, positions, layout)
    found = [p for p in positions if p is not None]
    pieces: list[tuple[float, str]] = []
    previous = -1.0
    for block, position in zip(blocks, positions):
        # a block not found as one element stays right after the block before it
        previous = float(position) if position is not None else previous + 1e-6
        pieces.append((previous, f"<p>{_html.escape(block)}</p>"))
    bylines: list[Removed] = []
    if found:
        start, end = _region(found, layout)
        pieces.extend(_restored(layout, start, end, set(blocks), max(found), bylines))
    pieces.sort(key=lambda piece: piece[0])
    return PageArticle(
        body_html="\n".join(snippet for _, snippet in pieces),
        removed=tuple(dict.fromkeys(bylines)) + dropped + _furniture(layout, found),
        metadata=metadata,
        text_chars=sum(len(block) for block in blocks),
    )


def clean_page(page_html: str, url: str | None = None,
               feed_chars: int = 0) -> tuple[Cleaned | None, PageArticle]:
    """The page's article cleaned as ``transforms.clean`` cleans feed content (the page's
    furniture added to ``removed``), or None when the page holds no article body of at least
    ``MIN_BODY_CHARS`` and as long as the feed's own content (``feed_chars``): then the
    feed's content is the story's text."""
    article = extract_page(page_html, url)
    if article.text_chars < max(MIN_BODY_CHARS, feed_chars):
        return None, article
    cleaned = clean_html(article.body_html)
    return Cleaned(cleaned.paragraphs, cleaned.removed + article.removed), article


def page_fields(raw: dict, article: PageArticle | None, used_page: bool) -> dict:
    """The enriched record's page-derived fields: ``article`` (the reader's outcome and where
    the text came from) and ``page`` (the page's metadata), and the feed's empty title,
    authors, times and language filled from the page's metadata."""
    fields: dict = {}
    outcome = raw.get("article")
    if outcome is None and article is None:
        return fields
    fields["article"] = {**(outcome or {"outcome": "fetched"}), "body": "page" if used_page else "feed"}
    if article is None:
        fields["page"] = None
        return fields
    meta = article.metadata
    fields["page"] = meta.to_fields()
    fallbacks = {"title": meta.headline, "authors": list(meta.authors),
                 "published_at": meta.published_at, "updated_at": meta.modified_at,
                 "language": meta.language}
    for key, value in fallbacks.items():
        if not raw.get(key) and value:
            fields[key] = value
    return fields
