"""Turn a fetched feed document into raw story records.

feedparser does the format work (RSS 0.9x/1.0/2.0, Atom, their namespaces), always on bytes
we fetched ourselves, wrapped in a stream so that it never opens a URL or a path. Around it:

- the character encoding is decided here, not by feedparser: a byte order mark wins; else
  bytes that are valid UTF-8 are UTF-8 whatever the document declares (the usual "wrong
  charset": UTF-8 served as ISO-8859-1); else the declared encoding (XML declaration, then
  HTTP header); else UTF-8 with the invalid bytes read as Windows-1252 (mixed encodings);
- unsafe entity declarations are removed from the decoded text, whatever the document's
  encoding (see ``safety.defuse_doctype``);
- character references that name no character (a lone surrogate ``&#xD800;``, beyond
  U+10FFFF, hundreds of digits), escaped or not, become U+FFFD before feedparser sees them
  (its parsers raised on them, losing the whole feed);
- at most ``max_entries`` entries are read from one document (the first ones; the rest are
  counted and reported), so memory stays bounded whatever the document holds; and at most
  ``max_tags`` tags (``<`` or an escaped ``&lt;``: feedparser spends 40-100 µs on each, its
  strict and loose parsers and its HTML sanitizer in turn), so one document cannot hold the
  parser for minutes: the document is cut there like a body over the size limit;
- a field that cannot be read (a date feedparser cannot parse, a value the schema refuses)
  is left empty and the reason recorded; the entry is kept;
- a malformed (``bozo``) document keeps the entries feedparser recovered, and the reason is
  recorded; when the document was cut short, entries after the last closed one are dropped
  (they would be published truncated);
- each entry gets its identity (``schemas.identity.story_id``): a guid that several
  different entries of the feed share is not an identity, so those entries fall back to
  their link (or to their content); exact duplicates are published once.
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import feedparser
import orjson

from pipeline.reader.options import ReaderOptions
from pipeline.reader.redact import redact_url, strip_userinfo
from pipeline.reader.safety import defuse_doctype
from schemas import SCHEMA_VERSION, RecordError
from schemas.codec import TOO_LARGE
from schemas.identity import publisher_of, story_id
from schemas.timefmt import to_rfc3339

_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400,
            "yearly": 365 * 86400}
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# WHATWG: these labels mean windows-1252 on the web.
_WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii",
                        "cp819", "iso_8859-1", "windows-1252", "cp1252"}
_BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
)
_ITEM_CLOSE = re.compile(rb"</(?:[\w.-]+:)?(?:item|entry)\s*>", re.IGNORECASE)
_ROOT_CLOSE_AT_END = re.compile(
    rb"</(?:[\w.-]+:)?(?:rss|feed|RDF|channel)\s*>\s*(?:<!--.*?-->\s*)*\Z", re.IGNORECASE | re.DOTALL
)
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)(?=[\s/>])", re.IGNORECASE)
_TAG_OPEN = re.compile(r"<|&lt;")
_CONTAINER_END = re.compile(r"</(?:[\w.-]+:)?(?:channel|feed|RDF|rss)\s*>", re.IGNORECASE)
# A CDATA section (kept as it is), or an "&" that starts no entity or character reference.
_BARE_AMPERSAND = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)",
    re.DOTALL,
)
# a numeric character reference, possibly escaped ("&amp;#x...;") for HTML inside the XML
_CHAR_REF = re.compile(r"(&(?:amp;)*)#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
# Fields that may be emptied when their value is refused; the entry is kept without them.
_EMPTIABLE = {"title": None, "language": None, "published_at": None, "updated_at": None,
              "html": None, "text": None, "authors": [], "categories": [],
              "source.feed_title": None, "source.entry_id": None, "source.link": None}
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("cp1252", errors="replace"), exc.end


codecs.register_error("newswire-cp1252-fallback", _cp1252_fallback)


@dataclass(frozen=True)
class ParsedEntry:
    story_id: str
    fingerprint: str
    guid: str | None
    record: dict[str, Any]  # a raw story record; the store sets "revision"


@dataclass
class ParsedFeed:
    title: str | None = None
    entries: list[ParsedEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # malformations, what was skipped, why
    error: str | None = None  # set when nothing usable could be read: an error on the feed
    malformed: bool = False  # not well-formed XML (feedparser's bozo); entries were recovered
    interval_hint: float | None = None  # seconds, from <ttl> or sy:updatePeriod/Frequency
    colliding_guids: set[str] = field(default_factory=set)
    encoding: str | None = None


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    if label == "gb2312":
        label = "gb18030"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_XML_START = b"<\t\n\r "


def _sniff_wide(head: bytes) -> str | None:
    """UTF-32/UTF-16 without a byte order mark, told by the zero bytes around the first
    character ('<' or white space), as XML 1.0 appendix F does."""
    if len(head) < 4:
        return None
    if head[:3] == b"\x00\x00\x00" and head[3] in _XML_START:
        return "utf-32-be"
    if head[0] in _XML_START and head[1:] == b"\x00\x00\x00":
        return "utf-32-le"
    if head[0] == 0 and head[1] in _XML_START and head[2] == 0:
        return "utf-16-be"
    if head[0] in _XML_START and head[1] == 0 and head[3] == 0:
        return "utf-16-le"
    return None


def decode_document(data: bytes, content_type: str | None) -> tuple[str, str, str | None]:
    """Decode a feed document: (text, encoding used, note on a declaration that was wrong)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding, None
    sniffed = _sniff_wide(data[:4])
    if sniffed:
        return data.decode(sniffed, errors="replace"), sniffed, None
    xml_match = _XML_ENCODING.match(data[:1024])
    http_match = _CHARSET.search(content_type or "")
    xml_label = xml_match.group(1).decode("ascii") if xml_match else None
    http_label = http_match.group(1) if http_match else None
    declared_label = xml_label or http_label
    declared = _codec_name(xml_label) or _codec_name(http_label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        wrong = declared not in (None, "utf-8") and not data.isascii()
        note = f"declared {declared_label} but the bytes are UTF-8; read as UTF-8" if wrong else None
        return text, "utf-8", note
    if declared not in (None, "utf-8"):
        try:
            return data.decode(declared), declared, None
        except UnicodeDecodeError:
            pass
    text = data.decode("utf-8", errors="newswire-cp1252-fallback")
    return text, "utf-8", (
        f"not valid UTF-8 (declared {declared_label or 'nothing'}): "
        "the invalid bytes were read as Windows-1252"
    )


def _escape_bare_ampersands(utf8: bytes) -> bytes:
    """``R&D`` → ``R&amp;D`` outside CDATA: feedparser's loose parser takes a bare ``&D`` for
    an unknown entity and writes ``&D;``, one character more than the feed had."""
    return _BARE_AMPERSAND.sub(lambda m: m[0] if m[0] != b"&" else b"&amp;", utf8)


def _no_character(match: re.Match) -> bool:
    digits = match.group(2) or match.group(3)
    if len(digits) > 8:
        return True
    code = int(digits, 16 if match.group(2) else 10)
    return code > 0x10FFFF or 0xD800 <= code <= 0xDFFF


def replace_bad_char_refs(text: str) -> tuple[str, int]:
    """Character references that name no character become ``&#xFFFD;``: (text, how many)."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        if not _no_character(match):
            return match.group(0)
        count += 1
        return f"{match.group(1)}#xFFFD;"

    return _CHAR_REF.sub(replace, text), count


def cap_entries(text: str, max_entries: int) -> tuple[str, int]:
    """Keep the first ``max_entries`` entries of a document: (text, entries dropped). Entries
    are counted by their start tags (feedparser's loose parser makes an entry of every
    ``<item>``, closed or not); the document is cut before the first entry too many and
    resumes at the container's end tag (``</channel>``, ``</feed>``, ``</rdf:RDF>``), so it
    stays well-formed when it was."""
    starts = _ENTRY_START.finditer(text)
    cut = None
    for number, match in enumerate(starts, start=1):
        if number > max_entries:
            cut = match.start()
            break
    if cut is None:
        return text, 0
    dropped = 1 + sum(1 for _ in starts)
    end = _CONTAINER_END.search(text, cut)
    return text[:cut] + (text[end.start():] if end else ""), dropped


def cap_tags(text: str, max_tags: int) -> tuple[str, bool]:
    """Cut the document before its tag number ``max_tags + 1``: (text, whether it was cut)."""
    if text.count("<") + text.count("&lt;") <= max_tags:
        return text, False
    for number, match in enumerate(_TAG_OPEN.finditer(text), start=1):
        if number > max_tags:
            return text[: match.start()], True
    return text, False


def _trim_to(value: str, max_bytes: int) -> str:
    return value.encode("utf-8")[: max(max_bytes, 0)].decode("utf-8", errors="ignore")


def encode_repaired(record: dict[str, Any], codec) -> tuple[bytes, list[str]]:
    """``codec.encode(record)``, repairing what the schema refuses instead of losing the entry:
    a text field longer than the schema allows, or a record over its size limit, has its
    longest text (html, text, page html, title) trimmed to fit; another field that may be
    empty is emptied. Returns (bytes, what was trimmed or emptied and why); raises
    RecordError when a field that identifies the entry is refused."""
    notes: list[str] = []
    record = {**record, **({"page": dict(record["page"])} if record.get("page") else {})}
    for _attempt in range(len(_EMPTIABLE) + 8):
        try:
            return codec.encode(record), notes
        except RecordError as exc:
            error = exc
        texts = {name: holder for name, holder in (("html", record), ("text", record), ("title", record),
                                                   ("page.html", record.get("page") or {}))
                 if isinstance(holder.get(name.rpartition(".")[2]), str)}
        if error.kind == TOO_LARGE or error.field in texts:
            name = error.field if error.field in texts else max(
                texts, key=lambda n: len(texts[n][n.rpartition(".")[2]]), default=None)
            if name is None:
                raise error
            holder, key = texts[name], name.rpartition(".")[2]
            before = holder[key]
            if error.kind == TOO_LARGE:
                excess = len(orjson.dumps(record)) - codec.limits.max_record_bytes
                holder[key] = _trim_to(before, len(before.encode("utf-8")) - excess - 1024)
                why = error.reason
            else:
                schema = codec.schema["properties"] if "." not in name else \
                    codec.schema["properties"]["page"]["properties"]
                longest = schema[key].get("maxLength", len(before) // 2)
                holder[key], why = before[:longest], f"the schema allows {longest:,}"
            if len(holder[key]) >= len(before):
                raise error
            notes.append(f"{name} trimmed from {len(before):,} to {len(holder[key]):,} characters ({why})")
            continue
        if error.field not in _EMPTIABLE:
            raise error
        parent, _, name = error.field.rpartition(".")
        holder = record
        if parent:
            holder = record[parent] = dict(record[parent])
        if holder.get(name) == _EMPTIABLE[error.field]:
            raise error
        holder[name] = _EMPTIABLE[error.field]
        notes.append(f"{error.field} emptied ({error.reason})")
    raise error


def _clean_text(value: str | None, detail: dict | None = None) -> str | None:
    if not value:
        return None
    if detail and detail.get("type") in _HTML_TYPES:
        value = html.unescape(_TAG.sub("", value))
    value = _WS.sub(" ", value).strip()
    return value or None


def _timestamp(parsed: Any) -> str | None:
    if not parsed:
        return None
    try:
        return to_rfc3339(datetime(*parsed[:6], tzinfo=timezone.utc))
    except (TypeError, ValueError, OverflowError):
        return None


def _content(entry: dict) -> tuple[str | None, str | None]:
    """(html, text): the richest content; content:encoded / Atom content over summary."""
    groups = [list(entry.get("content") or [])]
    if entry.get("summary_detail"):
        groups.append([entry["summary_detail"]])
    elif entry.get("summary"):
        groups.append([{"type": "text/html", "value": entry["summary"]}])
    for group in groups:
        items = [item for item in group if (item.get("value") or "").strip()]
        markup = [item for item in items if item.get("type") in _HTML_TYPES]
        if markup:
            return max(markup, key=lambda item: len(item["value"]))["value"], None
        if items:
            return None, max(items, key=lambda item: len(item["value"]))["value"]
    return None, None


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        value = _WS.sub(" ", value or "").strip()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def _language(entry: dict, feed: dict, header: str | None) -> str | None:
    for detail in (*(entry.get("content") or []), entry.get("summary_detail"), entry.get("title_detail")):
        if detail and detail.get("language"):
            return detail["language"].strip().replace("_", "-") or None
    value = feed.get("language") or header
    if not value:
        return None
    return value.split(",")[0].strip().replace("_", "-") or None


def fingerprint(title: str | None, html_content: str | None, text: str | None) -> str:
    """What an edit changes: the title and the content, whitespace-normalised."""
    body = "\x1f".join(_WS.sub(" ", part or "").strip() for part in (title, html_content, text))
    return hashlib.blake2b(body.encode("utf-8"), digest_size=16).hexdigest()


def interval_hint(feed: dict) -> float | None:
    """Seconds between updates the feed announces (<ttl> minutes, sy:updatePeriod and
    sy:updateFrequency); the longer one when both are given."""
    hints = []
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        hints.append(int(ttl) * 60.0)
    period = _PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period:
        frequency = str(feed.get("sy_updatefrequency") or "1").strip()
        hints.append(period / (int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1))
    return max(hints) if hints else None


def _entry_fields(entry: dict) -> dict[str, Any]:
    title = _clean_text(entry.get("title"), entry.get("title_detail"))
    html_content, text = _content(entry)
    guid = (entry.get("id") or "").strip() or None
    link = (entry.get("link") or "").strip() or None
    return {"guid": guid, "link": link, "title": title, "html": html_content, "text": text,
                "fingerprint": fingerprint(title, html_content, text)}


def _assign_ids(items: list[dict], feed_url: str, unreliable: set[str]) -> tuple[list[tuple[str, dict]], set[str], int]:
    """(story_id, item) for each distinct entry; guids shared by different entries; number of
    exact duplicates dropped."""
    by_guid: dict[str, set[tuple]] = defaultdict(set)
    for item in items:
        if item["guid"]:
            by_guid[item["guid"]].add((item["link"], item["fingerprint"]))
    colliding = {guid for guid, variants in by_guid.items() if len(variants) > 1}
    untrusted = colliding | unreliable

    def ident(item: dict, *, use_guid: bool, use_link: bool) -> str:
        return story_id(
            guid=item["guid"] if use_guid and item["guid"] not in untrusted else None,
            link=item["link"] if use_link else None, feed_url=feed_url,
            title=item["title"], content=item["html"] or item["text"],
        )

    ids = [ident(item, use_guid=True, use_link=True) for item in items]
    variants: dict[str, set[str]] = defaultdict(set)
    for sid, item in zip(ids, items):
        variants[sid].add(item["fingerprint"])
    ids = [
        ident(item, use_guid=False, use_link=False) if len(variants[sid]) > 1 else sid
        for sid, item in zip(ids, items)
    ]
    out: list[tuple[str, dict]] = []
    seen: set[str] = set()
    for sid, item in zip(ids, items):
        if sid not in seen:
            seen.add(sid)
            out.append((sid, item))
    return out, colliding, len(items) - len(out)


def parse_feed(
    body: bytes,
    *,
    feed_url: str,
    fetched_at: datetime,
    headers: dict[str, str] | None = None,
    base_url: str | None = None,
    truncated: bool = False,
    unreliable_guids: set[str] | frozenset[str] = frozenset(),
    max_entries: int = ReaderOptions.max_entries,
    max_tags: int = ReaderOptions.max_tags,
) -> ParsedFeed:
    """Parse one fetched document. ``feed_url`` is the feed's identity (the URL as listed; it
    scopes story ids and goes into the records); ``base_url`` is where the bytes came from
    (after redirects), used to resolve relative links; ``headers`` are the response headers
    with lower-case names. Credentials in ``feed_url`` are redacted in the records."""
    headers = headers or {}
    base_url = strip_userinfo(base_url or feed_url)
    feed_url = redact_url(feed_url)
    result = ParsedFeed()
    if truncated:
        result.problems.append(f"the body was cut off at {len(body)} bytes (size limit)")
    text, result.encoding, note = decode_document(body, headers.get("content-type"))
    if note:
        result.problems.append(note)
    text, note = defuse_doctype(text)  # on the decoded text: what the parser will read
    if note:
        result.problems.append(note)
    text, replaced = replace_bad_char_refs(text)
    if replaced:
        result.problems.append(f"{replaced} character reference(s) naming no character (lone surrogate, "
                               "beyond U+10FFFF) replaced by U+FFFD")
    text, dropped = cap_entries(text, max_entries)
    if dropped:
        result.problems.append(f"{dropped} entries after the first {max_entries} not read "
                               "(entries per poll limit, --max-entries)")
    text, cut = cap_tags(text, max_tags)
    if cut:
        result.problems.append(f"more than {max_tags} tags: the document was cut at character {len(text)} "
                               "(markup limit, --max-tags)")
    utf8 = text.encode("utf-8")
    response_headers = {
        "content-type": "application/xml; charset=utf-8",
        "content-location": base_url,
        **({"content-language": headers["content-language"]} if headers.get("content-language") else {}),
    }
    try:
        parsed = feedparser.parse(io.BytesIO(utf8), response_headers=response_headers)
        if parsed.get("bozo") and (escaped := _escape_bare_ampersands(utf8)) != utf8:
            # Read again with bare "&" escaped; the problem reported is the first parse's.
            reparsed = feedparser.parse(io.BytesIO(escaped), response_headers=response_headers)
            reparsed["bozo"], reparsed["bozo_exception"] = True, parsed.get("bozo_exception")
            parsed = reparsed
    except Exception as exc:  # noqa: BLE001 - feedparser's own bugs on hostile markup
        # feedparser is meant to turn any input into a result; some malformed documents make
        # its loose parser raise (seen by the fuzzer: KeyError 'links'). The feed is then
        # unreadable this time, said so, and the reader goes on with the other feeds.
        result.error = f"the feed parser failed on this document ({type(exc).__name__}: {exc})"
        return result
    feed = parsed.get("feed", {})
    entries = list(parsed.get("entries", []))
    if parsed.get("bozo"):
        reason = parsed.get("bozo_exception")
        if not entries and not feed.get("title"):
            result.error = f"not a readable feed: {reason}"
            return result
        result.malformed = True
        result.problems.append(f"malformed XML ({reason}); {len(entries)} entries recovered")
        if not _ROOT_CLOSE_AT_END.search(utf8.rstrip()):
            complete = len(_ITEM_CLOSE.findall(utf8))
            if complete < len(entries):
                dropped = len(entries) - complete
                entries = entries[:complete]
                result.problems.append(
                    f"the document ends early: {dropped} unfinished entr{'y' if dropped == 1 else 'ies'} skipped"
                )
    elif not parsed.get("version") and not entries:
        result.error = "not an RSS or Atom feed (no known feed format found)"
        return result
    if len(entries) > max_entries:
        # cap_entries cuts the text by its tags, which a malformed document can defeat (the
        # loose parser makes entries of markup the cut does not see as one): the cap holds
        # on what the parser returned, too.
        result.problems.append(f"{len(entries) - max_entries} entries after the first {max_entries} "
                               "not read (entries per poll limit, --max-entries)")
        entries = entries[:max_entries]
    result.title = _clean_text(feed.get("title"), feed.get("title_detail"))
    result.interval_hint = interval_hint(feed)
    items = []
    for entry in entries:
        fields = _entry_fields(entry)
        fields["entry"] = entry
        items.append(fields)
    assigned, result.colliding_guids, duplicates = _assign_ids(items, feed_url, set(unreliable_guids))
    if result.colliding_guids:
        result.problems.append(
            f"{len(result.colliding_guids)} guid(s) shared by different entries; those entries "
            "are identified by link or content instead"
        )
    if duplicates:
        result.problems.append(f"{duplicates} duplicate entr{'y' if duplicates == 1 else 'ies'} skipped")
    fetched = to_rfc3339(fetched_at)
    unread_dates = []
    for sid, item in assigned:
        record = _record(sid, item, feed, feed_url, result.title, fetched, headers)
        unread_dates += _unread_dates(item["entry"], item["guid"] or item["link"] or sid)
        result.entries.append(ParsedEntry(sid, item["fingerprint"], item["guid"], record))
    if unread_dates:
        result.problems.append(f"{len(unread_dates)} date(s) not understood, left empty "
                               f"(first: {unread_dates[0]})")
    return result


def _unread_dates(entry: dict, name: str) -> list[str]:
    """The dates an entry gave that could not be read (their record field stays empty)."""
    missing = []
    for raw in ("published", "updated"):
        value = dict.get(entry, raw)
        if value and _timestamp(dict.get(entry, f"{raw}_parsed")) is None:
            missing.append(f"entry {name}: {raw} {str(value)[:60]!r}")
    return missing


def _publisher(link: str | None, site: str | None, feed_url: str) -> str:
    """Registrable domain of the story link, else of the feed's site, else of the feed URL."""
    for url in (link, site, feed_url):
        if url and urlsplit(url).scheme in ("http", "https"):
            publisher = publisher_of(url)
            if publisher:
                return publisher
    return "localhost"  # a file:// feed without web links


def _record(sid: str, item: dict, feed: dict, feed_url: str, feed_title: str | None,
            fetched_at: str, headers: dict[str, str]) -> dict[str, Any]:
    entry = item["entry"]
    authors = [a.get("name") or a.get("email") or "" for a in entry.get("authors") or []]
    if not authors and entry.get("author"):
        authors = [entry["author"]]
    published = _timestamp(entry.get("published_parsed"))
    # dict.get: feedparser's own .get("updated_parsed") falls back to the published date
    updated = _timestamp(dict.get(entry, "updated_parsed"))
    return {
        "schema_version": SCHEMA_VERSION,
        "story_id": sid,
        "revision": 1,
        "source": {
            "feed_url": feed_url,
            "feed_title": feed_title,
            "publisher": _publisher(item["link"], feed.get("link"), feed_url),
            "entry_id": item["guid"],
            "link": item["link"],
        },
        "title": item["title"],
        "authors": _unique(authors),
        "categories": _unique([t.get("term") or t.get("label") or "" for t in entry.get("tags") or []]),
        "language": _language(entry, feed, headers.get("content-language")),
        "published_at": published or updated,
        "updated_at": updated,
        "fetched_at": fetched_at,
        "html": item["html"],
        "text": item["text"],
    }
