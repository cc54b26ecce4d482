"""Compact, human-readable lines for records: what `newswire tail` and `newswire run` print.

Pure functions over decoded records (plain dicts), no I/O, so both commands print the
same thing and the format is tested without Kafka. Records come from feeds anyone can write,
so whatever of them reaches a terminal goes through :func:`terminal_safe` (or
:func:`json_line`) first: an ESC or BEL in a title must not retitle the window or clear the
screen::

    US envoy calls alleged North Korea, Russia weapons delivery dangerous  [straitstimes.com]
        JAKARTA (ID) / SEOUL (KR)  credit: Reuters  cited: TASS, KCNA  photo: AFP
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

NONE = "-"
INDENT = "    "
MAX_REASON_CHARS = 200
MAX_PAYLOAD_CHARS = 100

# Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC,
# BEL, CR, backspace...), DEL, the C1 controls U+0080-U+009F (CSI, OSC as one character),
# and the bidirectional formatting characters, which reorder the rest of the line.
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_UNSAFE = [*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0), *_BIDI]
_STRIP = dict.fromkeys(_UNSAFE)
# JSON escapes C0 controls itself; the others are valid in JSON strings, so escape them.
_ESCAPE = {code: f"\\u{code:04x}" for code in _UNSAFE if code >= 0x7F}


def terminal_safe(text: str) -> str:
    """``text`` without the characters a terminal would act on (see ``_UNSAFE``)."""
    return text.translate(_STRIP)


def json_line(record: Any) -> str:
    """``record`` as one line of JSON that a terminal shows as it is: the same JSON value,
    with DEL, C1 and bidirectional controls written as \\u escapes."""
    return orjson.dumps(record).decode().translate(_ESCAPE)


def place_label(place: Mapping[str, Any]) -> str:
    """``JAKARTA (ID)``: the place as written, with its country code (``?`` if unresolved)."""
    return f"{place.get('name') or '?'} ({place.get('country') or '?'})"


def dateline_places(record: Mapping[str, Any]) -> str:
    """``JAKARTA (ID) / SEOUL (KR)``, or ``""`` when the story has no dateline."""
    dateline = record.get("dateline") or {}
    return " / ".join(place_label(place) for place in dateline.get("locations") or ())


def _agencies(names: Sequence[str] | None) -> str:
    return ", ".join(names) if names else NONE


def format_story(record: Mapping[str, Any]) -> str:
    """Two lines for an enriched story: title and publisher; dateline, credit, cited, photo."""
    title = " ".join(terminal_safe(record.get("title") or "(no title)").split())
    publisher = (record.get("source") or {}).get("publisher") or "?"
    revision = record.get("revision") or 1
    first = f"{title}  [{publisher}{f', revision {revision}' if revision > 1 else ''}]"
    attribution = record.get("attribution") or {}
    details = (
        f"{dateline_places(record) or 'no dateline'}"
        f"  credit: {_agencies(attribution.get('credit'))}"
        f"  cited: {_agencies(attribution.get('cited'))}"
        f"  photo: {_agencies(attribution.get('photo'))}"
    )
    return terminal_safe(f"{first}\n{INDENT}{details}")


def original_title(record: Mapping[str, Any]) -> str | None:
    """The title of the story a dead letter holds, when its bytes are a JSON story."""
    try:
        original = orjson.loads(base64.b64decode(record.get("value_base64") or "", validate=True))
    except (binascii.Error, ValueError):  # orjson.JSONDecodeError is a ValueError
        return None
    title = original.get("title") if isinstance(original, dict) else None
    return " ".join(title.split()) if isinstance(title, str) and title.strip() else None


def payload_preview(record: Mapping[str, Any], chars: int = MAX_PAYLOAD_CHARS) -> str:
    """``412 bytes: {"schema_version": ...…``: the size of a dead letter's original value and
    its start as text (undecodable bytes and control characters shown as escapes)."""
    encoded = record.get("value_base64")
    if encoded is None:
        return "no value"
    try:
        value = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return "not base64 (the dead letter itself is damaged)"
    text = " ".join(value[: chars * 4].decode("utf-8", "backslashreplace").split())
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    more = "…" if len(text) > chars or len(value) > chars * 4 else ""
    return f"{len(value):,} bytes: {text[:chars]}{more}"


def format_dead_letter(record: Mapping[str, Any], details: bool = False) -> str:
    """Two lines for a dead letter: stage, origin and the story's title; why it failed.
    With ``details`` a third: when it failed, the error type and a view of the payload."""
    source = record.get("source") or {}
    where = (
        f"{source.get('topic')}[{source.get('partition')}]@{source.get('offset')}"
        if source else "no source record"
    )
    reason = " ".join(str(record.get("reason") or "").split())
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    story = original_title(record) or record.get("story_id") or "unknown story"
    text = f"DEAD LETTER  stage {record.get('stage')}  {where}  {story}\n{INDENT}{reason}"
    if details:
        text += (f"\n{INDENT}failed {record.get('failed_at')}  {record.get('error_type')}  "
                 f"payload {payload_preview(record)}")
    return terminal_safe(text)


def story_matches(
    record: Mapping[str, Any],
    *,
    credit: Sequence[str] = (),
    cited: Sequence[str] = (),
    countries: Sequence[str] = (),
) -> bool:
    """True when the story passes every filter given; within one filter any value will do.

    Agency names are compared case-insensitively with the record's canonical names;
    countries are ISO 3166-1 alpha-2 codes of the dateline places.
    """
    attribution = record.get("attribution") or {}

    def any_of(wanted: Sequence[str], present: Sequence[str] | None) -> bool:
        have = {name.casefold() for name in present or ()}
        return any(name.casefold() in have for name in wanted)

    if credit and not any_of(credit, attribution.get("credit")):
        return False
    if cited and not any_of(cited, attribution.get("cited")):
        return False
    if countries:
        places = (record.get("dateline") or {}).get("locations") or ()
        if not any_of(countries, [place.get("country") or "" for place in places]):
            return False
    return True


def format_count(record: Mapping[str, Any]) -> str:
    """One line for a windowed count (schemas/stats.schema.json): the window, what was
    counted, the count so far and which firing this is; terminal-safe (a value may be an
    unknown credit as written in a story)."""
    pane = record.get("pane") or {}
    return terminal_safe(
        f"{record.get('window_start')} .. {record.get('window_end')}  "
        f"{record.get('dimension'):<7} {record.get('value')!s:<12} {record.get('count'):>6}  "
        f"({pane.get('timing')}, pane {pane.get('index')})"
    )


def count_matches(
    record: Mapping[str, Any],
    *,
    credit: Sequence[str] = (),
    cited: Sequence[str] = (),
    countries: Sequence[str] = (),
) -> bool:
    """True when no filter is given, or the count's (dimension, value) is one of those asked
    for: ``--country KR --credit AFP`` shows the counts of KR and of AFP as credit."""
    wanted = {"country": countries, "credit": credit, "cited": cited}
    if not any(wanted.values()):
        return True
    names = {name.casefold() for name in wanted.get(str(record.get("dimension")), ())}
    return str(record.get("value")).casefold() in names


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 feed``, ``2 feeds``, ``0 entries`` (``nouns``: the plural when not noun + "s")."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"
