"""Clean a story's HTML or plain text into readable paragraphs, recording what was removed.

``clean_html`` parses with selectolax (lexbor), drops what is not article text (head,
scripts, styles, iframes, forms, nav/aside/footer, screen-reader-only text), records
embedded posts (tweets, Instagram...) and figures as ``Removed`` items in document order,
and splits the rest into paragraphs at block elements and ``<br>`` (table rows become
paragraphs, cells are joined by spaces). ``clean_text`` takes one paragraph per line;
hard-wrapped paragraphs separated by blank lines, or begun by an indented line (wire copy),
are joined back together.

Both then normalise each paragraph (entities left over from double escaping decoded,
mojibake repaired by ftfy when a cheap check says it is there, NFC, invisible characters
dropped, whitespace collapsed; typographic quotes and dashes kept) and remove boilerplate,
each removal recorded with its kind (``KINDS``):

- a whole paragraph matching a phrase of ``data/boilerplate.json`` (by its first word) or a
  shape written here (photo credits, bylines and their date lines, tweet signatures),
  never one longer than its kind's ``max_length``: a paragraph that merely mentions a
  newsletter does not start like a promo, and real paragraphs are long;
- a leading ``(Corrects ...)`` / ``(Adds ...)`` note, even when the paragraph goes on;
- a photo credit closing a short caption (``... on Sept 13. PHOTO: AFP``), caption and
  credit recorded apart; in a figure also ``(PA Wire)``, ``| Kyodo``, ``© name, AFP``;
- the caption right before a line that is only a credit (``PHOTO: AFP``), when it reads
  like a caption: short, ends like a sentence, no dateline, no reported speech. After the
  story's last paragraph a bare ``WAM/Name/Name`` is a sign-off and stays.

The headline line, the dateline, the sign-off (``... REUTERS``) and ``Reporting by ...;
Editing by ...`` stay in the text.

Costs per story, kept to whole-text passes in C: one lexbor parse, two regex passes over
the source (tags present, paragraph marks), one over the text for the candidates a rule
may take, and a few byte-level checks that tell when the stripped paragraphs are already
normalised (see _is_plain). Python looks only at the few candidates; the paragraphs between
them are text as they are. Where a shortcut does not apply, the full way gives the same.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import ftfy
import orjson
from selectolax.lexbor import LexborHTMLParser

KINDS = ("promo", "photo_credit", "caption", "related", "share", "copyright",
         "editor_note", "correction", "byline", "embed")

DATA_PATH = Path(__file__).parent / "data" / "boilerplate.json"


@dataclass(frozen=True, slots=True)
class Removed:
    kind: str  # one of KINDS
    text: str  # the removed paragraph (or part of one), whitespace-normalised


@dataclass(frozen=True, slots=True)
class Cleaned:
    paragraphs: tuple[str, ...]  # readable paragraphs in order, boilerplate removed
    removed: tuple[Removed, ...]  # what was removed, in document order

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def clean_html(html: str) -> Cleaned:
    """Clean a story given as HTML (a fragment or a whole page)."""
    if "<" not in html:
        return clean_text(html)  # entities are decoded per paragraph there too
    # Work on UTF-8 bytes: lexbor parses them as they are, and a few quick scans of them
    # (tags present, class names) decide which tree steps this document needs at all.
    # (A one-byte search is a memchr(); it rules out longer ones cheaply.)
    raw = html.encode("utf-8", "replace")
    if _PARA_B in raw:  # the input's own is not taken for our mark (see _NOT_OURS)
        raw = raw.replace(_PARA_B, _NOT_OURS.encode())
    if b"\xee" in raw and (_IMAGE_B in raw or _SLOT_B in raw):  # keep our two markers out
        raw = raw.replace(_IMAGE_B, b"").replace(_SLOT_B, b"")  # of the input (icon fonts)
    if b"\xa9" in raw and _PARAGRAPH_SEPARATOR_B in raw:  # U+2029: a paragraph break too
        raw = raw.replace(_PARAGRAPH_SEPARATOR_B, _PARA_B)
    tags = set(_STEP_TAG.findall(raw))  # "<" and a name (see _STEP_TAG)
    block_tag = _BLOCK_TAG
    if not tags <= _STEP_OPENINGS:  # a tag name with a capital
        tags = {t.lower() for t in _STEP_TAG_ANY_CASE.findall(raw)}
        block_tag = _BLOCK_TAG_ANY_CASE
    marked, n_blocks = block_tag.subn(_PARA_B + b"<", raw)
    if n_blocks > MAX_BLOCK_DEPTH:  # fewer block tags cannot nest deeper
        _check_block_depth(raw)
    # every class name, to look for hints in
    classes = b" ".join(_CLASS_ATTR.findall(raw)) if b"class=" in raw else b""
    if b"<img" in tags:
        marked = _IMG_TAG.sub(_PARA_B + _IMAGE_B + _PARA_B, marked)
    tree = LexborHTMLParser(marked)
    if not tags.isdisjoint(_JUNK_OPENINGS):
        tree.strip_tags([t for t in _JUNK_TAGS if f"<{t}".encode() in tags], recursive=True)
    if any(h in classes for h in _HIDDEN_HINTS):
        for node in tree.css(_HIDDEN_SELECTOR):
            node.decompose()
    if b"<table" in tags:
        for cell in tree.css("td, th"):
            cell.insert_after(" ")
        for row in tree.css("tr"):
            row.insert_after(_PARA)
    slots: list[list[tuple[str, str]]] = []
    if b"<blockquote" in tags or b"embed" in classes or b"fb-" in classes:
        _replace_with_slots(tree, _EMBED_SELECTOR, "embed", slots)
    if b"<figure" in tags or b"<figcaption" in tags or b"caption" in classes:
        _replace_with_slots(tree, _CAPTION_SELECTOR, "caption", slots)
    root = tree.body
    if root is None:
        root = tree.root
    text = root.text() if root is not None else ""
    # Without any block element the feed put plain text in an HTML field: read it by lines.
    return _finish(*_paragraphs(text, _split_blocks if n_blocks else _split_lines, raw), slots)


def clean_text(text: str) -> Cleaned:
    """Clean a story given as plain text: one paragraph per line (or per blank-line block)."""
    if _PARA in text:  # the input's own is not taken for our mark (see _NOT_OURS)
        text = text.replace(_PARA, _NOT_OURS)
    if _IMAGE in text or _SLOT in text:  # our markers: never taken from the input
        text = text.replace(_IMAGE, "").replace(_SLOT, "")
    return _finish(*_paragraphs(text, _text_pieces, None), [])


# ---------------------------------------------------------------------------------------
# Character-level normalisation

# Marks put into the text; the input's own are dropped first. The paragraph mark is ASCII, so
# a story in ASCII stays a one-byte-per-character string through every step.
_PARA = "\x01"  # where block elements (and <br>, table rows) were
_IMAGE = "\ue000"  # an <img> stood here (a caption never reaches back across it)
_SLOT = "\ue001"  # followed by digits: the removals of an embed/figure, in place
# What an input's own _PARA becomes: another invisible control character, which normalising
# drops as it would have dropped that one.
_NOT_OURS = "\x02"

# Control characters that are not whitespace, soft hyphen, zero-width space, word joiner, BOM.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1b\x7f\u00ad\u200b\u2060\ufeff]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A character U+00C2..U+00F4 (a UTF-8 lead byte read as Latin-1/cp1252) followed by one that
# a continuation byte becomes. Legitimate text rarely has such a pair; ftfy decides for sure.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]"
)
# The same pairs as UTF-8 bytes: U+00C2..U+00F4 is C3 82..C3 B4, then one of the above.
_MOJIBAKE_UTF8 = re.compile(
    rb"\xc3[\x82-\xb4](?:\xc2[\x80-\xbf]|\xc5[\x92\x93\xa0\xa1\xb8\xbd\xbe]|\xc6\x92"
    rb"|\xcb[\x86\x9c]|\xe2\x80[\x93\x94\x98-\x9a\x9c-\x9e\xa0-\xa2\xa6\xb0\xb9\xba]"
    rb"|\xe2\x82\xac|\xe2\x84\xa2)"
)
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False, uncurl_quotes=False, fix_latin_ligatures=False,
    fix_character_width=False, fix_line_breaks=False, normalization="NFC", explain=False,
)


# Characters that need no look: printable, never changed by NFC nor part of a composition
# (no combining marks): Latin, Greek, Cyrillic, Hebrew and Arabic letters, punctuation and
# symbols, CJK, kana, Hangul, fullwidth forms; and our two marks, each a paragraph of its own
# that normalising leaves as it is. Text of nothing else in single-spaced stripped
# paragraphs is normalised already. (tests/transforms/test_clean.py checks the ranges.)
_PLAIN_RANGES = (
    (0x20, 0x7e), (0xa1, 0xac), (0xae, 0x2ff), (0x386, 0x386), (0x388, 0x38a), (0x38c, 0x38c),
    (0x38e, 0x3a1), (0x3a3, 0x3ff), (0x400, 0x482), (0x48a, 0x52f), (0x5d0, 0x5ea),
    (0x621, 0x64a), (0x660, 0x66f), (0x671, 0x6d3), (0x2010, 0x2027), (0x2030, 0x205e),
    (0x20a0, 0x20c0), (0x2100, 0x2125), (0x2127, 0x2129), (0x212c, 0x218b), (0x2190, 0x2328),
    (0x232b, 0x23ff), (0x2460, 0x27bf), (0x3001, 0x3029), (0x3030, 0x303f), (0x3041, 0x3096),
    (0x309b, 0x30ff), (0x3400, 0x9fff), (0xac00, 0xd7a3), (0xe000, 0xe001), (0xff01, 0xff5e),
)


def _byte_class(values: Iterable[int]) -> str:
    """A regex class for these byte values, as ranges."""
    out, run = [], []
    for v in sorted(values):
        if run and v != run[-1] + 1:
            out.append(run)
            run = []
        run.append(v)
    out.append(run)
    return "[" + "".join(f"\\x{r[0]:02x}" + (f"-\\x{r[-1]:02x}" if len(r) > 1 else "")
                         for r in out) + "]"


def _utf8_checks(
        ranges: tuple[tuple[int, int], ...]) -> tuple[bytes, bytes, dict[int, re.Pattern]]:
    """What tells, in a text's UTF-8, that it has characters outside ``ranges``: the bytes
    that need no look (ours, the ASCII in the ranges, continuation bytes, the lead bytes all
    of whose characters are in the ranges); the lead bytes some of whose characters are,
    each with a regex finding one of the others. Any other byte is a character outside."""
    tails: dict[int, set[bytes]] = {}
    for first, last in ranges:
        for cp in range(max(first, 0x80), last + 1):
            data = chr(cp).encode()
            tails.setdefault(data[0], set()).add(data[1:])
    plain = {0x01, *(b for first, last in ranges for b in range(first, min(last, 0x7f) + 1)),
             *range(0x80, 0xc0)}
    mixed: dict[int, re.Pattern] = {}
    for lead, allowed in tails.items():
        if len(allowed) == (64 if lead < 0xe0 else 4096):
            plain.add(lead)
            continue
        if lead < 0xe0:
            ok = _byte_class(t[0] for t in allowed)
        else:
            by_second: dict[int, set[int]] = {}
            for t in allowed:
                by_second.setdefault(t[0], set()).add(t[1])
            whole = [b for b, thirds in by_second.items() if len(thirds) == 64]
            ok = "|".join([*([_byte_class(whole) + "[\\x80-\\xbf]"] if whole else []),
                           *(f"\\x{b:02x}" + _byte_class(thirds)
                             for b, thirds in sorted(by_second.items()) if len(thirds) < 64)])
        mixed[lead] = re.compile(f"\\x{lead:02x}(?!{ok})".encode())
    return bytes(plain), bytes(mixed), mixed


_PLAIN_BYTES, _MIXED_LEADS, _NOT_PLAIN_AFTER = _utf8_checks(_PLAIN_RANGES)


def _is_plain(data: bytes) -> bool:
    """Whether this UTF-8 text holds only _PLAIN_RANGES characters and _PARA, and no double
    space: a few passes in C, far cheaper than str.isprintable() and an NFC check."""
    odd = data.translate(None, _PLAIN_BYTES)
    if odd and (odd.translate(None, _MIXED_LEADS)  # a control character or another script
                or any(_NOT_PLAIN_AFTER[lead].search(data) for lead in set(odd))):
        return False
    return b"  " not in data


def _prepare(text: str, utf8: bytes | None) -> tuple[str, bool, bool]:
    """NFC for the whole text, and the gates for the per-paragraph repairs: whether entities
    are left to decode, whether mojibake is there to fix (looked for in ``utf8``, the
    source's UTF-8 bytes when at hand: a byte pattern with a literal first byte is a fast
    scan, a character class over the decoded text is not)."""
    entities = "&" in text and _ENTITY.search(text) is not None
    if text.isascii():
        return text, entities, False
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if utf8 is None:
        utf8 = text.encode("utf-8", "surrogatepass")
    mojibake = b"\xc3" in utf8 and _MOJIBAKE_UTF8.search(utf8) is not None
    return text, entities, mojibake


def _normalise_space(piece: str) -> str:
    """Whitespace collapsed to single spaces, invisible characters dropped."""
    # isprintable() is False for any whitespace but " " and for every invisible character,
    # so the common case costs one C-level pass.
    if piece.isprintable() and "  " not in piece:
        return piece.strip()
    p = " ".join(piece.split())
    if not p.isprintable():
        p = " ".join(_INVISIBLE.sub("", p).split())
        if not p.isascii():  # what the dropped characters separated may now need repair
            p = _repair(unicodedata.normalize("NFC", p), False, True)
    return p


def _repair(p: str, entities: bool, mojibake: bool) -> str:
    """One whitespace-normalised paragraph: leftover entities decoded, mojibake repaired.

    May return "": a paragraph that was only "&amp;nbsp;" or "&amp;#8203;"."""
    if entities and "&" in p and _ENTITY.search(p):
        p = _normalise_space(_html.unescape(p))
        if not p.isascii():
            p = unicodedata.normalize("NFC", p)
    if mojibake and _MOJIBAKE.search(p):
        p = " ".join(ftfy.fix_text(p, config=_FTFY).split())
    return p


def _text_pieces(text: str) -> list[str]:
    """Plain text to paragraph candidates: lines, or hard-wrapped paragraphs joined (marked
    by blank lines between them, or by an indented first line)."""
    lines = text.splitlines()
    if len(lines) >= 3 and _indents_paragraphs(lines):
        return _indented_pieces(lines)
    if len(lines) < 3 or not any(not line.strip() for line in lines):
        return lines
    pieces: list[str] = []
    block: list[str] = []
    for line in (*lines, ""):
        if line.strip():
            block.append(line.strip())
            continue
        if _looks_wrapped(block):
            pieces.append(" ".join(block))
        else:
            pieces.extend(block)
        block = []
    return pieces


#: A line of wrapped text (one that the next, unindented line may continue) is this long.
_WRAPPED_LINE = range(40, 101)


def _indents_paragraphs(lines: list[str]) -> bool:
    """Wire text that starts each paragraph with an indent and wraps its lines at a fixed
    width (``    The company said it\nwould...``): two lines other than the first are
    indented, and an unindented line follows one of wrapping length broken mid-sentence."""
    indented = 0
    wrapped = False
    previous = lines[0].rstrip()
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            indented += bool(line.strip())
        elif line and len(previous) in _WRAPPED_LINE and previous[-1] not in ".!?:\"”’":
            wrapped = True
        if indented >= 2 and wrapped:
            return True
        previous = line.rstrip()
    return False


def _indented_pieces(lines: list[str]) -> list[str]:
    """One piece per paragraph: a new one at an indented or blank line, or after a short line
    (a heading, a dateline alone, a table row); an unindented line after a line of wrapping
    length continues it."""
    pieces: list[str] = []
    previous = 0
    for line in lines:
        stripped = line.strip()
        if stripped and pieces and line[:1] not in (" ", "\t") and previous in _WRAPPED_LINE:
            pieces[-1] = f"{pieces[-1]} {stripped}"
        else:
            pieces.append(stripped)
        previous = len(line.rstrip()) if stripped else 0
    return pieces


def _looks_wrapped(block: list[str]) -> bool:
    """Lines of one paragraph broken at a fixed width (not separate short paragraphs)."""
    if len(block) < 2:
        return False
    inner = block[:-1]
    if any(not 40 <= len(line) <= 100 for line in inner):
        return False
    if max(map(len, inner)) - min(map(len, inner)) > 30:
        return False
    mid_sentence = sum(1 for line in inner if line[-1] not in ".!?:\"”’")
    lower_start = sum(1 for line in block[1:] if line[0].islower())
    return mid_sentence * 2 > len(inner) and lower_start > 0


# ---------------------------------------------------------------------------------------
# Regexes for many words at once


def _trie(words: list[tuple[str, str]], *, caseless: bool, more: tuple[str, ...] = ()) -> str:
    """An alternation of (word, suffix) pairs as a trie on the words: at each character the
    engine follows the one branch for it instead of trying every word. A word with no
    suffix also stands for every longer word it begins. ``more``: further alternatives,
    tried after the words (in the same alternation, so the words cost no extra step).

    Words are matched in lower case, or in any case if ``caseless``. The engine passes over
    an alternative that opens with a literal other than the next character at almost no
    cost, but tries every one opening with a case-insensitive literal; so the first
    character becomes two literal branches ("T...|t..."), later ones classes ("[hH]"). In
    phrases a space matches any run of whitespace and ' matches ’, as in the phrase rules."""
    root: dict = {}
    for word, suffix in words:
        node = root
        for ch in word.strip().lower():
            node = node.setdefault(ch, {})
        node.setdefault("", set()).add(suffix)

    def char(ch: str) -> str:
        if ch == " ":
            return r"\s+"
        if ch == "'":
            return "['’]"
        if not caseless or ch.lower() == ch.upper():
            return re.escape(ch)
        return f"[{ch}{ch.upper()}]" if ch.isascii() else f"(?i:{re.escape(ch)})"

    def branch(node: dict, first: bool = False) -> str:
        ends = node.get("", set())
        if "" in ends:
            return ""
        alts = sorted(ends)
        for ch, child in sorted(node.items()):
            if ch:
                rest = branch(child)
                if first and caseless and ch.isascii() and ch.isalpha():
                    alts += [ch.upper() + rest, ch + rest]
                else:
                    alts.append(char(ch) + rest)
        if first:
            alts += more
        return alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"

    return branch(root, first=True)


# ---------------------------------------------------------------------------------------
# HTML structure

# Paragraph breaks go in as text before block-level tags (and <br>), before parsing: one
# C-level pass instead of a walk over the tree in Python. A break inside a table would be
# moved out of it by the parser, so tables get theirs from the tree (rows, cells) instead.
_PARA_B = _PARA.encode()
_IMAGE_B = _IMAGE.encode()
_SLOT_B = _SLOT.encode()
_PARAGRAPH_SEPARATOR_B = "\u2029".encode()
_BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt",
               "dd", "blockquote", "pre", "section", "article", "header", "footer", "main",
               "aside", "nav", "figure", "figcaption", "address", "details", "summary",
               "hgroup", "center", "fieldset", "legend", "dialog", "table", "caption", "br",
               "hr")


def _block_tag_regex(flags: int = 0) -> re.Pattern[bytes]:
    """"<" before a block tag, but for an end tag right before another block tag (spaces
    between): the break there is the next tag's, and fewer marks make fewer pieces.

    That exception is tested first: at "</p>" between paragraphs it ends the attempt, and
    at a start tag it fails on the first character. Nothing here needs to backtrack, so the
    repeats are possessive (a name opens with a letter, "<" and ">" are not spaces)."""
    names = _trie([(t, r"\b") for t in _BLOCK_TAGS], caseless=False).encode()
    return re.compile(rb"<(?!/" + names + rb"\s*+>\s*+</?+" + names + rb")(?=/?+" + names + rb")",
                      flags)


_BLOCK_TAG = _block_tag_regex()
_BLOCK_TAG_ANY_CASE = _block_tag_regex(re.IGNORECASE)

# At each start tag of these elements an HTML parser looks through every open element (for
# a <p> to close), so nested N deep they cost it N²: lexbor took 0.3 s for 10,000 nested
# divs and 86 s for 100,000 (found by fuzzing). A story nesting them deeper than this is
# refused instead (HtmlTooDeepError); real pages nest them a few dozen deep.
MAX_BLOCK_DEPTH = 512
_NESTING_TAG = re.compile(
    rb"<(/?)(?:div|blockquote|section|article|aside|ul|ol|dl|menu|dir|nav|header|footer|main"
    rb"|figure|figcaption|fieldset|details|summary|center|address|hgroup|dialog|search)\b",
    re.IGNORECASE,
)


class HtmlTooDeepError(ValueError):
    """HTML whose block elements nest deeper than MAX_BLOCK_DEPTH."""


def _check_block_depth(raw: bytes) -> None:
    depth = 0
    for closing in _NESTING_TAG.findall(raw):
        depth = max(depth - 1, 0) if closing else depth + 1
        if depth > MAX_BLOCK_DEPTH:
            raise HtmlTooDeepError(
                f"block elements (div, section, ul, ...) nest more than {MAX_BLOCK_DEPTH} deep: "
                "refused, as an HTML parser takes time quadratic in that depth"
            )
_IMG_TAG = re.compile(rb"<img\b[^>]*>", re.IGNORECASE)
_JUNK_TAGS = ("head", "script", "style", "noscript", "template", "iframe", "form", "nav",
              "aside", "footer", "button", "svg", "object", "embed", "video", "audio",
              "canvas", "select", "textarea", "dialog", "noembed", "noframes")
_JUNK_OPENINGS = frozenset(f"<{t}".encode() for t in _JUNK_TAGS)


# The tags whose presence decides which tree steps run, found as "<" and the name. Tag names
# are matched as written in lower case, the fastest; the same pass finds any tag name with a
# capital ("<P", "</Di"), and such a document is scanned again ignoring case. (No group: the
# engine skips an alternative opening with a character other than the next one for almost
# nothing, but enters every one opening with a group; "/?+" does not backtrack.)
_STEP_TAGS = (*_JUNK_TAGS, "figure", "figcaption", "table", "img", "blockquote")
_STEP_OPENINGS = frozenset(f"<{t}".encode() for t in _STEP_TAGS)
_STEP_WORDS = [(t, r"\b") for t in _STEP_TAGS]
_STEP_TAG = re.compile(("<" + _trie(_STEP_WORDS, caseless=False,
                                    more=("/?+[a-z0-9]*+[A-Z]",))).encode())
_STEP_TAG_ANY_CASE = re.compile(("<" + _trie(_STEP_WORDS, caseless=False)).encode(),
                                re.IGNORECASE)
_CLASS_ATTR = re.compile(rb"class=[\"']([^\"']*)")
_HIDDEN_HINTS = (b"hidden", b"sr-only", b"screen-reader")  # looked for in class names
_HIDDEN_SELECTOR = ".sr-only, .visually-hidden, .visuallyhidden, .screen-reader-text"
_EMBED_CLASSES = ("twitter-tweet", "twitter-video", "instagram-media", "tiktok-embed",
                  "reddit-embed-bq", "reddit-card", "bluesky-embed", "text-post-media",
                  "fb-post", "fb-video", "twitter-embed", "instagram-embed", "social-embed")
_EMBED_SELECTOR = ", ".join("." + c for c in _EMBED_CLASSES)
_CAPTION_CLASSES = ("wp-caption", "wp-caption-text", "image-caption", "photo-caption",
                    "media-caption", "img-caption", "caption")
_CAPTION_SELECTOR = "figure, figcaption, " + ", ".join("." + c for c in _CAPTION_CLASSES)
_TRAILING_SOURCE = re.compile(r"(?:\s\|\s*[^|()\[\]]{1,60}|\s*[(\[][^()\[\]]{1,60}[)\]])\s*$")
_CAPTION_NOTES = {"file", "file photo", "file image", "left", "right", "centre", "center", "l",
                  "r", "c", "front", "representational image", "representative image",
                  "representational", "representative", "photo", "image", "video"}


def _replace_with_slots(tree: LexborHTMLParser, selector: str, kind: str,
                        slots: list[list[tuple[str, str]]]) -> None:
    """Replace each matching element by a slot marker holding its removals.

    Innermost first (reverse document order), so a figure holding an embedded tweet keeps
    the tweet's slot inside its own."""
    for node in reversed(tree.css(selector)):
        items: list[tuple[str, str]] = []
        for piece in node.text().split(_PARA):
            p = _repair(_normalise_space(piece), True, True)
            if not p or p == _IMAGE:
                continue
            if p[0] == _SLOT:
                items.extend(slots[int(p[1:])])
            elif kind == "caption":
                items.extend(_caption_parts(p))
            elif items and items[-1][0] == kind:  # one embedded post, one record
                items[-1] = (kind, f"{items[-1][1]} {p}")
            else:
                items.append((kind, p))
        if kind == "caption" and len(items) > 1 and items[-1][0] == "caption" \
                and items[-2][0] == "caption" and _looks_like_source(items[-1][1]):
            # "<figcaption>Dmitry Peskov.</figcaption><span>kremlin.ru</span>"
            items[-1] = ("photo_credit", items[-1][1])
        node.replace_with(f"{_PARA}{_SLOT}{len(slots)}{_PARA}")
        slots.append(items)


def _caption_parts(p: str) -> list[tuple[str, str]]:
    """A paragraph known to be a caption (inside a figure): split off its credit, if any.

    Here a closing "(PA Wire)", "[File: Adem Altan/AFP]" or "| Bloomberg" is a credit too,
    and so is a copyright line ("© Dimitar Dilkoff, AFP")."""
    if _kind_of(p) in ("photo_credit", "copyright"):
        return [("photo_credit", p)]
    split = _split_credit(p)
    if split is None and (m := _TRAILING_SOURCE.search(p, max(0, len(p) - 72))) is not None:
        credit = m.group(0).strip().lstrip("| ")
        if p[:m.start()].strip() and _looks_like_source(credit.strip("()[] ")):
            split = (p[:m.start()].strip(), credit)
    if split is not None:
        return [("caption", split[0]), ("photo_credit", split[1])]
    return [("caption", p)]


def _looks_like_source(text: str) -> bool:
    """A short name standing for a picture's source ("PA Wire", "kremlin.ru"), not a note
    such as "File" or "left", nor a sentence."""
    return (0 < len(text) <= 60 and len(text.split()) <= 6 and text[-1] not in ".!?"
            and text.lower() not in _CAPTION_NOTES)


# ---------------------------------------------------------------------------------------
# Boilerplate: phrase rules from data/boilerplate.json


def _load_data(path: Path) -> dict:
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise RuntimeError(f"cannot read boilerplate phrases from {path}: {exc}; "
                           "reinstall newswire or restore the file") from exc


def _phrase_regex(phrase: str) -> str:
    out = re.escape(phrase.strip()).replace("'", "['’]").replace(r"\ ", r"\s+")
    return out + (r"\b" if phrase[-1].isalnum() else "")


def _alternation(phrases: list[str]) -> str:
    return "|".join(_phrase_regex(p) for p in sorted(phrases, key=len, reverse=True))


_KEY = re.compile(r"[\s(\[{*•·»>|–—-]*(\w+|\S)")


def _first_key(text: str) -> str:
    """The first word (lower case) or symbol, past opening brackets and bullets.

    A paragraph opening with a quotation mark has the mark as its key: it quotes someone."""
    m = _KEY.match(text)
    return m.group(1).lower() if m else ""


@dataclass(frozen=True, slots=True)
class _PhraseRule:
    kind: str
    max_length: int
    pattern: re.Pattern[str]


def _phrase_rule(kind: str, spec: dict, key: str) -> _PhraseRule | None:
    """The rule for paragraphs of this kind whose first word is ``key`` (None: there is none).

    One small regex per (kind, first word) keeps each match attempt short."""
    def starting(field: str) -> list[str]:
        return [p for p in spec.get(field, ()) if _first_key(p) == key]

    alts = []
    if openers := starting("openers"):
        alts.append(f"(?:{_alternation(openers)})")
    if labels := starting("labels"):
        alts.append(f"(?:{_alternation(labels)})(?=\\s*(?:[:|»>]|$))")
    if lines := starting("lines"):
        alts.append(f"(?:{_alternation(lines)})\\s*[.!?:]?\\s*[)\\]]?\\s*$")
    if first_tokens := starting("tokens"):
        token = f"(?:{_alternation(spec['tokens'])})"
        alts.append(f"(?:{_alternation(first_tokens)})(?:[\\s|,·•/]+{token})+[\\s|,·•/]*$")
    if not alts:
        return None
    pattern = re.compile(r"[(\[]?\s*(?:" + "|".join(alts) + ")", re.IGNORECASE)
    return _PhraseRule(kind, int(spec["max_length"]), pattern)


def _keys_of(spec: dict) -> set[str]:
    return {_first_key(p) for field in ("openers", "labels", "lines", "tokens")
            for p in spec.get(field, ())}


_DATA = _load_data(DATA_PATH)
_RULE_ORDER = ("embed", "correction", "editor_note", "copyright", "related", "share", "promo")
# First word of a paragraph -> the rules for phrases starting with it, in _RULE_ORDER: a
# paragraph opening with any other word costs one dict lookup.
_RULES_BY_KEY: dict[str, tuple[_PhraseRule, ...]] = {
    key: tuple(rule for kind in _RULE_ORDER
               if (rule := _phrase_rule(kind, _DATA["kinds"][kind], key)) is not None)
    for key in set().union(*(_keys_of(_DATA["kinds"][kind]) for kind in _RULE_ORDER))
}
_MAX_LENGTH = max(rule.max_length for rules in _RULES_BY_KEY.values() for rule in rules)
# Paragraphs ending with a call to action and no full stop ("... SUBSCRIBE NOW"), by kind.
_CLOSERS = tuple(
    (kind, int(spec["max_length"]),
     re.compile(rf"(?:^|\W)(?:{_alternation(spec['closers'])})\s*[!:]?$", re.IGNORECASE),
     {_first_key(c.split()[-1]) for c in spec["closers"]})
    for kind in _RULE_ORDER if (spec := _DATA["kinds"][kind]).get("closers")
)
_CLOSER_WORDS = set().union(*(last_words for *_, last_words in _CLOSERS))
_SHARE_TOKENS = re.compile(rf"(?:{_alternation(_DATA['kinds']['share']['tokens'])})"
                           r"(?:[\s|,·•/]+(?:" + _alternation(_DATA["kinds"]["share"]["tokens"])
                           + r"))*[\s|,·•/]*$", re.IGNORECASE)

# A leading "(Corrects ...)" / "(Adds ...)" note; one level of nested parentheses allowed.
_NOTE = re.compile(
    r"[(\[]\s*(?:(?P<correction>" + _alternation(_DATA["kinds"]["correction"]["note_verbs"])
    + r")|(?P<editor_note>" + _alternation(_DATA["kinds"]["editor_note"]["note_verbs"])
    + r"))(?:[^()\[\]]|\([^()]*\))*[)\]]",
    re.IGNORECASE,
)

# ---------------------------------------------------------------------------------------
# Boilerplate: shapes

_PHOTO = _DATA["photo"]
_PHOTO_WORDS = _alternation(_PHOTO["words"])
_STOCK = _alternation(_PHOTO["stock"])
_CAP = r"[A-Z][\w.'’&-]*"  # a capitalised (or all-caps) word
_LINK = r"(?:van|von|de|da|del|der|den|di|du|la|le|al|bin|binti|el|y|dos|das)"
_NAMEISH = rf"{_CAP}(?:\s+(?:{_CAP}|{_LINK}))*"

_CREDIT_WORD = re.compile(  # "PHOTO: AFP", "(Photo: Reuters)", "Photo by Jane Doe/AP",
    # "ST PHOTO: KUA CHEE SIONG"
    rf"[(\[]?\s*(?:{_CAP}\s+){{0,3}}(?i:{_PHOTO_WORDS})\s*(?::|\||,|-|–|—|\s(?i:by)\b)"
    r"\s*[^()\[\]]{1,70}?\s*[)\]]?\.?$"
)
_CREDIT_SLASH = re.compile(  # "REUTERS/Jane Doe", "(AP Photo/Evan Vucci)", "KCNA via REUTERS",
    # "ZUMA/REX", "[File: Adem Altan/AFP]", "Sputnik/Gavriil Grigorov/Kremlin via REUTERS/File
    # Photo Purchase Licensing Rights"; not CNA's "Enditem/AW"
    rf"[(\[]?\s*(?:(?i:file)\s*:\s*)?(?!(?i:enditem|end)\b)"
    rf"{_NAMEISH}(?:\s*/\s*{_NAMEISH}|\s+via\s+{_NAMEISH}){{1,5}}"
    r"(?:\s+(?:Acquire|Purchase)\s+Licensing\s+Rights)?\s*[)\]]?\.?$"
)
_CREDIT_NAMED = re.compile(  # "(PTI Photo)", "AP Photo", "(Express photo by Jane Doe)",
    # "KT file photo"
    rf"[(\[]?\s*(?:{_CAP}\s+){{1,3}}(?i:file\s+)?(?i:photos?|pics?|images?|picture)"
    r"(?:\s+(?i:by)\s+[^()]{1,50}|\s*/\s*[^()]{1,50})?\s*[)\]]?\.?$"
)
_CREDIT_STOCK = re.compile(rf"[(\[]?\s*(?:{_STOCK})\s*[)\]]?\.?$")  # "Getty Images"
# A credit's last word is capitalised ("AFP", "Vucci)", "Images") or one of these ("PTI photo").
_CREDIT_LAST_WORDS = {"photo", "photos", "pic", "pics", "image", "images", "picture"}
_CREDIT_MAX = 100

# Where a credit may start inside a caption: after a sentence end or a closing quote, at a
# bracket or a bar. One character class, so the scan for candidates stays in C.
_CUT = re.compile(r"[.!?”’\"(\[|]")


def _minimal_substrings(words: list[str]) -> tuple[str, ...]:
    """The fewest strings such that each word contains one of them ("photo" covers "photos")."""
    kept: list[str] = []
    for word in sorted({w.lower() for w in words}, key=len):
        if not any(k in word for k in kept):
            kept.append(word)
    return tuple(kept)


# A credit of the word or stock form contains one of these: the regexes run only then.
_WORD_HINTS = _minimal_substrings(_PHOTO["words"])
_STOCK_HINTS = _minimal_substrings(_PHOTO["stock"])
_PHOTO_WORD_KEYS = {_first_key(w) for w in _PHOTO["words"]}
_STOCK_WORDS = {w.lower() for w in _PHOTO["stock"] if " " not in w}

_BYLINE_ORG = _alternation(_DATA["byline"]["orgs"])
_BYLINE_ROLE = _alternation(_DATA["byline"]["roles"])
_BYLINE_TAIL = r"(?:\s*[|·•,–—-]?\s*(?i:(?:last\s+)?updated|published|posted)\b.*|\s*\|.*)?"
_NAMES = rf"{_NAMEISH}(?:\s*(?:,|&|\band\b)\s*{_NAMEISH})*"
_BYLINE_BY = re.compile(  # "By Jane Doe", "BY JANE DOE, Associated Press", "Edited by: X"
    rf"[(\[]?(?:(?i:written|edited|reported|compiled|posted)\s+)?(?i:by)\s*:?\s+{_NAMES}"
    rf"\s*,?{_BYLINE_TAIL}[)\]]?$"
)
_BYLINE_PIPE = re.compile(  # "Jane Doe | AP", "Press Trust of India | New Delhi | Updated ...",
    # "Bloomberg | Updated: Oct 17, 2023"
    rf"{_CAP}(?:\s+(?:{_CAP}|{_LINK}|of|the)){{1,5}}\s*\|\s*[^|]{{1,60}}(?:\|.*)?$"
    rf"|{_CAP}\s*\|\s*(?i:(?:last\s+)?updated|published|posted)\b.*$"
)
_BYLINE_ORG_FORM = re.compile(  # "Jane Doe, Associated Press", "Jane Doe, Staff Writer"
    rf"{_NAMES},\s+(?:(?:{_BYLINE_ORG})(?:\s+(?:{_BYLINE_ROLE}))?|(?:{_CAP}\s+){{0,3}}"
    rf"(?:{_BYLINE_ROLE}))\s*$"
)
_BYLINE_KEYS = {"by", "written", "edited", "reported", "compiled", "posted"}
_BYLINE_LAST_WORDS = {phrase.split()[-1].lower()
                      for phrase in (*_DATA["byline"]["orgs"], *_DATA["byline"]["roles"])}
_AFFILIATION = re.compile(rf"(?:{_BYLINE_ORG})(?:\s+(?:{_BYLINE_ROLE}))?\s*$|(?:{_CAP}\s+){{0,3}}"
                          rf"(?:{_BYLINE_ROLE})\s*$")

_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
          r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_WEEKDAY = r"(?:Mon|Tue(?:s)?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?"
_DATE = (rf"(?:{_WEEKDAY},?\s+)?(?:\d{{1,2}}\s+{_MONTH}\.?,?|{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd"
         rf"|th)?,?)\s+\d{{4}}|\d{{4}}-\d\d-\d\d|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}")
_TIME = r"(?:\s*(?:[,|•·-]|at)?\s*\d{1,2}[:.]\d\d(?:\s*[ap]\.?m\.?)?(?:\s*\(?[A-Z]{2,5}\)?)?)?"
_STAMP = re.compile(  # "Updated: Oct 17, 2023 10:20 IST", "Published 3 hours ago"
    rf"(?i:(?:last|first)\s+)?(?i:updated|published|posted|modified)(?i:\s+on)?\s*[:|–—-]?\s*"
    rf"(?:(?i:{_DATE}){_TIME}|\d+\s+(?i:min(?:ute)?s?|hours?|days?)\s+(?i:ago))"
    rf"(?:\s*[|,•·]\s*.{{0,60}})?$"
)
# A credit followed by the date of the picture ("CNA photo Jan. 13, 2025", Focus Taiwan).
_DATED_CREDIT = re.compile(rf"(?P<credit>.*?\S)\s*,?\s+(?i:{_DATE})$")
_DATE_LINE = re.compile(rf"(?i:{_DATE}){_TIME}\s*$")
_DATE_KEYS = {
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june",
    "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov",
    "november", "dec", "december", "mon", "monday", "tue", "tues", "tuesday", "wed",
    "wednesday", "thu", "thurs", "thursday", "fri", "friday", "sat", "saturday", "sun", "sunday"}
_STAMP_KEYS = {"updated", "published", "posted", "modified", "last", "first"}
_READ_TIME = re.compile(r"\d+\s*(?i:min(?:ute)?s?)\.?\s+(?i:read)$")

_TWEET = re.compile(  # "pic.twitter.com/abc", "— Jane Doe (@jane) October 17, 2023"
    r"pic\.twitter\.com/\w+|—\s*[^—()]{1,60}\(@\w{1,15}\)\s+" + _MONTH + r"\s+\d{1,2},\s+\d{4}$"
)
_COPYRIGHT = re.compile(  # "Copyright 2023 ...", "(c) Agencia EFE", "[Copyright The Jiji Press]"
    r"(?i:copyright|\(c\))\s*(?:©\s*)?\d{4}\b|\(c\)\s+[A-Z][^.]{0,60}$"
    r"|[(\[]\s*(?i:copyright)\s[^()\[\]]{1,80}[)\]]$|.{0,200}\b(?i:all rights reserved)\b"
)

_DATELINE_START = re.compile(r"[A-Z]{2}[A-Z.'’ /-]*(?:,|\s*\(|\s+[-–—]|:\s)")
_CAPTION_CUE = re.compile(r"\((?:left|right|centre|center|L|R|C|front|back|top|bottom|second "
                          r"(?:from )?(?:left|right))\)|\b(?:pictured|file photo|in this "
                          r"(?:photo|picture|image|handout))\b", re.IGNORECASE)
_REPORTING = re.compile(r"\b(?:said|says|told|tells|according to|reported|reports|added|quoted"
                        r"|stressed|noted|urged|warned|announced|stated|insisted|argued)\b"
                        r"|[“”\"]")
_CAPTION_MAX = 300
_BYLINE_MAX = 160
_SHAPE_MAX = 300  # no shape rule (credit, copyright, byline, date) matches anything longer
_CAPTION_LABEL = re.compile(r"(?i:image caption|photo caption|caption)\s*[,:]\s*\S")  # BBC
_CAPTION_KEYS = {"image", "photo", "caption"}
_SPLIT_CAPTION_MAX = 400
_COPYRIGHT_KEYS = {"copyright", "c", "all"}
_DATE_MAX = 60  # a byline's date line ("Oct 17, 2023 10:20 IST") is no longer


# ---------------------------------------------------------------------------------------
# Candidates: the paragraphs a rule may take, all found by one regex


def _rule_openings() -> list[tuple[str, str]]:
    """How a paragraph that a phrase rule or an anchored shape takes must open, as (literal,
    what must follow it) pairs. Only necessary conditions: the rules decide."""
    sep = re.escape(_PARA)
    pairs: list[tuple[str, str]] = []
    for kind in _RULE_ORDER:
        spec = _DATA["kinds"][kind]
        pairs += [(p, "") for p in spec.get("openers", ())]
        pairs += [(p, rf"\s*(?:[:|»>]|{sep})") for p in spec.get("labels", ())]
        pairs += [(p, rf"\s*[.!?:]?\s*[)\]]?\s*{sep}") for p in spec.get("lines", ())]
        pairs += [(p, r"[\s|,·•/]") for p in spec.get("tokens", ())]
    pairs += [(p, r"\s*[,:]") for p in ("image caption", "photo caption", "caption")]
    pairs += [(f"{verb} by".strip(), r"[\s:]")
              for verb in ("", "written", "edited", "reported", "compiled", "posted")]
    pairs += [(f"{when} {what}".strip(), "") for when in ("", "last", "first")
              for what in ("updated", "published", "posted", "modified")]
    return pairs


# A paragraph no rule can take is text, and most are. The others (candidates) open with a
# bracket (a note) or the way a phrase rule or an anchored shape needs (_rule_openings), or
# with the first word of a copyright line ("... All rights reserved") or of a photo credit
# ("Photo: jane doe"); or they end like no sentence does (closers, credits after captions,
# bylines with an agency); or they are short and have no space or a last word that is not in
# lower case or is a photo word (photo credits), or open like a date (a byline's date line);
# or they hold "@" or "|" (tweets, bylines); or they follow a byline or share line.
_SKIP = "[ (\\[{*•·»>|–—-]*+"  # what _first_key skips
_WORD_END = r"(?!\w)"
_OPENING_PATTERN = _SKIP + _trie(
    [*_rule_openings(), *((key, _WORD_END) for key in (*_COPYRIGHT_KEYS, *_PHOTO_WORD_KEYS))],
    caseless=True)
_DATE_WORDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "jan", "feb", "mar", "apr",
               "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_START = _trie([(word, "") for word in _DATE_WORDS], caseless=True)


def _after(credit: str) -> str:
    """The tests on the paragraph after a _PARA; a match of the last one, a short paragraph
    whose last word is not in lower case or is a photo word, sets the group ``credit``."""
    return (rf"(?=[(\[]|{_OPENING_PATTERN}|(?=[^\x01]{{0,{_CREDIT_MAX}}}+\x01)(?:"
            r"[^ \x01]*+\x01"  # one word
            rf"|(?=[^\x01]{{0,{_DATE_MAX}}}+\x01)(?:\d|{_DATE_START})"
            r"|(?>[^\x01]* )(?:(?-i:[^a-z])|(?i:photos?|pics?|images?|picture)[.)\]]*\x01)"
            f"(?P<{credit}>)))")


# All tests at once, over the paragraphs joined by _PARA (one in front, one after), at each
# _PARA: for the paragraph before it, whether it ends like no sentence ("end"); for the one
# after it, the others.
_CANDIDATES_PATTERN = (r"\x01(?:(?<=[^.?;,\"'”’…\x01]\x01)(?P<end>)(?P<too>"
                       + _after("credit_too") + ")?|" + _after("credit") + ")")
assert _PARA == "\x01"  # as _CANDIDATES_PATTERN has it
# The only characters besides ASCII letters that match one when case is ignored, as the rules
# do: in a text with one of them the candidates are looked for ignoring case too.
_FOLDS_TO_ASCII = "\u0130\u0131\u017f\u212a"  # İ ı ſ K
_CANDIDATES = re.compile(_CANDIDATES_PATTERN)
_CANDIDATES_ANY_CASE = re.compile(_CANDIDATES_PATTERN, re.IGNORECASE)


def _kind_of(p: str) -> str | None:
    """The boilerplate kind of a whole paragraph, or None if it is text."""
    n = len(p)
    if n > _MAX_LENGTH:
        return None
    key = _first_key(p)
    for rule in _RULES_BY_KEY.get(key, ()):
        if n <= rule.max_length and rule.pattern.match(p):
            return rule.kind
    if "@" in p and ("pic.twitter.com/" in p or "(@" in p) and _TWEET.search(p):
        return "embed"
    last = p.rpartition(" ")[2].lower()
    if last in _CLOSER_WORDS:
        for kind, max_length, pattern, last_words in _CLOSERS:
            if last in last_words and n <= max_length and pattern.search(p, max(0, n - 40)):
                return kind
    if n > _SHAPE_MAX:
        return None
    if n <= _CREDIT_MAX and _is_photo_credit(p, key):
        return "photo_credit"
    if key in _CAPTION_KEYS and _CAPTION_LABEL.match(p):
        return "caption"
    if key in _COPYRIGHT_KEYS and _COPYRIGHT.match(p):
        return "copyright"
    if n > _BYLINE_MAX:
        return None
    if key in _BYLINE_KEYS and _BYLINE_BY.match(p):
        return "byline"
    if "|" in p and _BYLINE_PIPE.match(p):
        return "byline"
    if n <= 100 and "," in p and last in _BYLINE_LAST_WORDS and _BYLINE_ORG_FORM.match(p):
        return "byline"
    if key in _STAMP_KEYS and _STAMP.match(p):
        return "byline"  # the date line of a byline block
    if n <= _DATE_MAX and (key in _DATE_KEYS or key.isdigit()):
        if _DATE_LINE.match(p):
            return "byline"
        if _READ_TIME.match(p):
            return "share"
    return None


def without_picture_date(credit: str) -> str:
    """A photo credit without the date of the picture written after it ("CNA photo Jan. 13,
    2025" → "CNA photo"); attribution reads the credits cleaning removed the same way."""
    if credit[-1:].isdigit() and (dated := _DATED_CREDIT.match(credit)) is not None:
        return dated["credit"]
    return credit


def _is_photo_credit(p: str, key: str | None = None) -> bool:
    """A whole (short) paragraph that credits a photo (``key``: its _first_key, if known)."""
    p = without_picture_date(p)
    if " " not in p and "/" not in p:  # one word: "Shutterstock" may be, "REUTERS" is not
        return p.lower().strip("().[]") in _STOCK_WORDS
    last = p.rstrip(" .)]").rpartition(" ")[2].lstrip("([")
    # Cheap gate: a credit opens with a photo word ("Bild: dpa") or ends with a name or an
    # agency ("... AFP", "... Vucci)", "... Images") or a photo word ("(PTI photo)").
    if not (last[:1].isupper() or last.lower() in _CREDIT_LAST_WORDS
            or (key if key is not None else _first_key(p)) in _PHOTO_WORD_KEYS):
        return False
    low = p.lower()
    if any(h in low for h in _WORD_HINTS) and (_CREDIT_WORD.match(p) or _CREDIT_NAMED.match(p)):
        return True
    if ("/" in p or " via " in p) and _CREDIT_SLASH.match(p):
        return True
    return any(h in low for h in _STOCK_HINTS) and _CREDIT_STOCK.match(p) is not None


def _split_credit(p: str) -> tuple[str, str] | None:
    """(caption, credit) when a short paragraph ends with a photo credit.

    The credit starts after a sentence end, a bracket or a bar within the last _CREDIT_MAX
    characters; the leftmost such start whose rest is a whole credit wins ("Oct. 17, 2023.
    (AP Photo/Evan Vucci)" cuts after "2023.", "Photo by J. Doe/AP" is not cut at "J.")."""
    if len(p) > _SPLIT_CAPTION_MAX or not (p[-1].isalnum() or p[-1] in ")]"):
        return None  # a caption's credit does not end with a full stop or a quote
    for m in _CUT.finditer(p, max(1, len(p) - _CREDIT_MAX - 1)):
        cut = m.start()
        if p[cut] in ".!?”’\"":
            cut += 1  # the credit starts after it: "13. PHOTO", "13.PHOTO", "” REUTERS/..."
            if p[m.start()] in "”’\"" and not p[cut:cut + 1].isspace():
                continue  # an apostrophe: "Korea’s"
        rest = p[cut:].lstrip(" |–—-")
        if rest and _is_photo_credit(rest):
            caption = p[:cut].rstrip(" |–—-")
            return (caption, rest) if caption else None
    return None


def _looks_like_caption(p: str) -> bool:
    """Short, ends like a sentence (or points at a picture), neither a dateline paragraph
    nor reported speech: captions describe a picture, they do not quote or attribute."""
    if len(p) > _CAPTION_MAX or _REPORTING.search(p):
        return False
    if _DATELINE_START.match(p) and not p.upper().startswith("FILE PHOTO"):
        return False
    return p[-1] in ".)]" or _CAPTION_CUE.search(p) is not None


def _classify(p: str) -> list[tuple[str, str]] | None:
    """What to remove from one normalised paragraph, as (kind, text) items in order; None
    when it is all text (the common case, kept cheap)."""
    if p[0] in "([" and (m := _NOTE.match(p)) is not None:
        kind = "correction" if m.group("correction") else "editor_note"
        rest = p[m.end():].lstrip(" -–—:")
        return [(kind, m.group(0)), *((_classify(rest) or [(_TEXT, rest)]) if rest else ())]
    kind = _kind_of(p)
    if kind is not None:
        return [(kind, p)]
    split = _split_credit(p)
    if split is not None:
        return [("caption", split[0]), ("photo_credit", split[1])]
    return None


# Item kinds that are not removals: kept text, where an image stood, a line that is only a
# photo credit (resolved once the whole story is seen).
_TEXT = "text"
_CONTINUED = ("byline", "share")  # kinds the next paragraph may continue
_BARRIER = "image"
_CREDIT_LINE = "credit line"


def _resolve_credit_lines(items: list[tuple[str, str]]) -> None:
    """A line that is only a photo credit takes the caption right before it, if that reads
    like one, unless it comes after the last paragraph of text: there the paragraph before
    is more likely the story's end than a caption, and a bare "AGENCY/Name/Name" (no photo
    word) is the agency's sign-off with its staff, as WAM and CNA write it: it stays text."""
    last_text = max((i for i, (kind, _) in enumerate(items) if kind is _TEXT), default=-1)
    for i, (kind, part) in enumerate(items):
        if kind is not _CREDIT_LINE:
            continue
        if i > last_text:
            bare = not any(h in part.lower() for h in _WORD_HINTS)
            items[i] = (_TEXT if bare else "photo_credit", part)
            continue
        items[i] = ("photo_credit", part)
        if i and items[i - 1][0] is _TEXT and _looks_like_caption(items[i - 1][1]):
            items[i - 1] = ("caption", items[i - 1][1])


def _paragraphs(text: str, split: Callable[[str], list[str]],
                utf8: bytes | None) -> tuple[list[str], str, bytes]:
    """The text's paragraphs (``split`` gives the candidates), NFC, whitespace-normalised,
    repaired; them joined by _PARA with one in front and one after (as _finish reads them),
    and that in UTF-8; ``utf8`` is the source as UTF-8 when at hand (see _prepare).

    Most texts need no more than their pieces stripped, which _is_plain tells for all of them
    at once; the others take the full way, piece by piece."""
    paras = list(filter(None, map(str.strip, split(text))))
    joined = _joined(paras)
    data = joined.encode("utf-8", "surrogatepass")
    if _is_plain(data):
        entities = b"&" in data and _ENTITY.search(joined) is not None
        # mojibake is looked for in the source, as _prepare does: characters that the parser
        # brought together (a NUL dropped between them) were not one character's bytes
        source = data if utf8 is None else utf8
        mojibake = b"\xc3" in source and _MOJIBAKE_UTF8.search(source) is not None
        if not (entities or mojibake):
            return paras, joined, data
    else:
        text, entities, mojibake = _prepare(text, utf8)
        paras = [p for p in map(_normalise_space, split(text)) if p]
    if entities or mojibake:
        paras = [p for p in (_repair(p, entities, mojibake) for p in paras) if p]
    joined = _joined(paras)
    return paras, joined, joined.encode("utf-8", "surrogatepass")


def _joined(paras: list[str]) -> str:
    """The paragraphs joined by _PARA, with one in front and one after."""
    return f"{_PARA}{_PARA.join(paras)}{_PARA}"


def _split_blocks(text: str) -> list[str]:
    return text.split(_PARA)


def _split_lines(text: str) -> list[str]:
    return _text_pieces(text.replace(_PARA, "\n"))


def _take(p: str, previous: str | None,
          slots: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """What a candidate paragraph is, as (kind, text) items; ``previous`` is the kind of the
    item before it. A line that is only a photo credit is one _CREDIT_LINE item."""
    if p[0] == _SLOT:
        return slots[int(p[1:])]
    if p == _IMAGE:
        return [(_BARRIER, "")]
    if len(p) <= 12 and not any(map(str.isalnum, p)):
        return []  # a separator such as "___" or "* * *"
    if previous == "byline" and _AFFILIATION.match(p):
        return [("byline", p)]  # "By JANE DOE<br>Associated Press"
    if previous == "share" and _SHARE_TOKENS.match(p):
        return [("share", p)]  # "Share this:" then a list of networks
    found = _classify(p)
    if found is None:
        return [(_TEXT, p)]
    return [(_CREDIT_LINE, p)] if found == [("photo_credit", p)] else found


def _finish(paras: list[str], joined: str, data: bytes,
            slots: list[list[tuple[str, str]]]) -> Cleaned:
    """Classify the paragraphs (``joined``: them joined by _PARA with one in front and one
    after, ``data``: that in UTF-8) and build the result.

    Only candidates (see _CANDIDATES_PATTERN) go through the rules; the paragraphs between
    them are text as they are."""
    if not paras:
        return Cleaned(paragraphs=(), removed=())
    found = _CANDIDATES
    if ((b"\xc4" in data or b"\xc5" in data or b"\x84" in data)  # the UTF-8 of _FOLDS_TO_ASCII
            and any(ch in joined for ch in _FOLDS_TO_ASCII)):
        found = _CANDIDATES_ANY_CASE
    # candidate paragraph -> whether only a photo credit can take it: a short paragraph that
    # ends like a sentence and was found by nothing but its last word (see _after)
    found_by: dict[int, bool] = {}
    index = at = 0
    for m in found.finditer(joined):
        index += joined.count(_PARA, at, m.start())  # the paragraph after this _PARA
        at = m.start()
        if m.group("end") is None:
            found_by[index] = m.group("credit") is not None
        else:
            found_by[index - 1] = False
            if m.group("too") is not None:
                found_by[index] = m.group("credit_too") is not None
    if b"@" in data or b"|" in data:
        found_by.update((i, False) for i, p in enumerate(paras) if "@" in p or "|" in p)
        found_by = dict(sorted(found_by.items()))
    if not found_by:
        return Cleaned(paragraphs=tuple(paras), removed=())
    # the candidates in order, each as (first, i, items): paragraphs[first:i] are text
    # as they are, then paragraph i is items
    taken: list[tuple[int, int, list[tuple[str, str]]]] = []
    previous: str | None = None  # the kind of the last item so far
    done = 0  # paragraphs[:done] are taken
    credit_lines = False
    for i, credit_only in found_by.items():
        if i < done:  # taken already, after a byline
            continue
        if i > done:
            previous = _TEXT
        p = paras[i]
        while True:
            if credit_only and len(p) > 12 and previous not in _CONTINUED:
                # what _take would find: no rule but a photo credit can take it
                items = [(_CREDIT_LINE, p)] if _is_photo_credit(p) else [(_TEXT, p)]
            else:
                items = _take(p, previous, slots)
            taken.append((done, i, items))
            if items:
                previous = items[-1][0]
                credit_lines = credit_lines or items[0][0] is _CREDIT_LINE
            done = i = i + 1
            if i == len(paras) or previous not in _CONTINUED:
                break
            p, credit_only = paras[i], False  # what follows a byline or share line
    if not credit_lines:
        kept: list[str] = []
        removed: list[Removed] = []
        for first, i, items in taken:
            kept += paras[first:i]
            for kind, part in items:
                if kind is _TEXT:
                    kept.append(part)
                elif kind is not _BARRIER:
                    removed.append(Removed(kind, part))
        kept += paras[done:]
        return Cleaned(paragraphs=tuple(kept), removed=tuple(removed))
    every: list[tuple[str, str]] = []
    for first, i, items in taken:
        every += zip(repeat(_TEXT), paras[first:i])
        every += items
    every += zip(repeat(_TEXT), paras[done:])
    _resolve_credit_lines(every)
    return Cleaned(
        paragraphs=tuple([part for kind, part in every if kind is _TEXT]),
        removed=tuple([Removed(kind, part) for kind, part in every
                       if kind is not _TEXT and kind is not _BARRIER]),
    )
