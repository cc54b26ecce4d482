"""Find the dateline that opens a wire story, resolve its places, date and agencies, strip it.

A dateline is where and (often) when a story was filed, written before the first sentence:
``LONDON, Oct 17 (Reuters) -``, ``JAKARTA/SEOUL –``, ``BOSTON, Mass. (AP) _``,
``MOSCOW, 12 May. /TASS/.``, ``NEW DELHI:``, ``Lyon, 3 févr 2021 (AFP) -``. It may follow a
Reuters-style prefix (``UPDATE 2-``) or a byline in the same paragraph, and it opens one of the
first few paragraphs (a headline line may come first).

Being wrong is worse than finding nothing, so an opening counts as a dateline only when its
shape and its words agree:

- *strong*: an agency is named (``(Reuters)``, ``/TASS/``, ``, SPA --``, ``(ANSA) - ROMA``):
  the places must be known to the gazetteer (countries too), or qualified by a known region
  (``PLAINS, Ga. (AP)``: country and state, no city), or, with a known agency, written in
  capitals or (dated) as a name (then unresolved: ``NAOSHIMA (Kyodo) -``);
- *dated or qualified*: a date (``BAHIA BLANCA, Argentina, Feb 26 -``) or a known region
  (``MITO, Japan -``): the places must be known cities or qualified by a known region;
- *bare*: a place and a dash or colon only (``JAKARTA/SEOUL –``, ``NEW DELHI:``): each place
  must be a city's own name (not one of its alternate names) or a hand-kept special, written in
  capitals or as a name, not a country, not a common word or person's name unless in capitals
  before a dash (``READING –`` yes, ``Reading –``, ``POLICE:``, ``CLINTON:`` no), before a colon
  a city of 50,000 people or more, and the text after it must read like a sentence
  (``GAZA: ISRAELI STRIKES...`` or ``Gaza: Israeli strikes kill 20`` is a headline).

Labels (``BREAKING:``, ``UPDATE:``, ``EXCLUSIVE:``, ``WARNING:``) are never places. Same-named
places are ranked by population; a region written in the dateline decides (``PARIS, Texas``),
and in a bare dateline so does a state named in the text after it (a local paper's
``ST. PETERSBURG — ... Florida``).

A paragraph holding nothing but a known place in capitals (``ANKARA``), followed by body text,
is a dateline too (Anadolu's layout).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache

from transforms.agencies import Registry, default_registry
from transforms.gazetteer import (
    Gazetteer,
    GeoEntry,
    Region,
    default_gazetteer,
    normalize_key,
)
from transforms.spelling import one_edit_apart

#: How many opening paragraphs may hold the dateline (headline, promo, caption, credit, body).
MAX_PARAGRAPHS = 5
#: A paragraph longer than this that holds no dateline is body text: stop looking after it.
BODY_PARAGRAPH_CHARS = 300
#: Lines shorter than this (menu items, labels) do not count towards MAX_PARAGRAPHS ...
SHORT_LINE_CHARS = 20
#: ... up to this many paragraphs in all.
MAX_LINES = 15
#: How much of the text after a bare dateline may name the region that picks among
#: same-named places.
CONTEXT_CHARS = 300
#: A place before a colon and nothing else ("NEW DELHI:") must be a city at least this big
#: (or a hand-kept place): "CLINTON: I did not..." is a transcript, not a dateline.
COLON_MIN_POPULATION = 50_000
#: A bare dateline may name a city by another of its names (``München/London –``, ``Wien:``)
#: when the city is this big.
BARE_OTHER_NAME_MIN_POPULATION = 100_000
#: A name no place has, in a dateline whose shape leaves no doubt (agency or wire date), is
#: read as a misspelling of a city's name one letter away when the city is this big
#: (``ALTANTA``: Atlanta); smaller places are too many to guess among.
MISSPELT_MIN_POPULATION = 100_000


@dataclass(frozen=True, slots=True)
class Place:
    name: str                 # as written: "JAKARTA"
    normalized: str | None    # gazetteer name "Jakarta" (None if unresolved)
    country: str | None       # ISO 3166-1 alpha-2
    lat: float | None
    lon: float | None
    geonameid: int | None
    admin1: str | None        # GeoNames admin1 code ("TX" for US states) when known


@dataclass(frozen=True, slots=True)
class Dateline:
    raw: str                  # as written, without the separator: "LONDON, Oct 17 (Reuters)"
    paragraph: int            # index of the paragraph it opens
    start: int                # span within that paragraph, separator included (what is cut);
    end: int                  # a prefix or byline before ``start`` is cut with it
    places: tuple[Place, ...]
    date_raw: str | None      # "Oct 17"
    date_iso: str | None      # "2023-10-17": with the year written, or resolved from published_at
    agencies: tuple[str, ...]  # canonical names ("Reuters",); unknown credits as written ("tca")
    agency_spans: tuple[tuple[int, int], ...] = ()  # where each of ``agencies`` is written in raw
    byline: str | None = None  # "By Jane Doe" when it opened the same paragraph


# --- months in the languages agencies file in ------------------------------------------------

_MONTH_NAMES = {
    1: "january jan januar jänner enero ene janvier janv janeiro gennaio gen "
       "январь января янв",
    2: "february feb februar feber febrero février fevrier févr fevr fév fev fevereiro febbraio "
       "февраль февраля фев",
    3: "march mar märz maerz mär mrz marzo mars março marco март марта",
    4: "april apr abril abr avril avr aprile апрель апреля",
    5: "may mai mayo maio maggio mag май мая",
    6: "june jun juni junio juin junho giugno giu июнь июня июн",
    7: "july jul juli julio juillet juil julho luglio lug июль июля июл",
    8: "august aug agosto ago août aout авг август августа",
    9: "september sep sept septiembre setiembre set septembre setembro settembre "
       "сентябрь сентября сен сент",
    10: "october oct oktober okt octubre octobre outubro out ottobre ott октябрь октября окт",
    11: "november nov noviembre novembre novembro ноябрь ноября ноя",
    12: "december dec dezember dez diciembre dic décembre decembre déc dezembro dicembre "
        "декабрь декабря дек",
}
MONTHS: dict[str, int] = {
    name: number for number, names in _MONTH_NAMES.items() for name in names.split()
}


def _alternation(words: list[str]) -> str:
    """A regex matching any of ``words``, written as a trie so that matching tries a few
    branches per character instead of every word in turn."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict) -> str:
        branches = [re.escape(ch) + render(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return render(trie)


# A letter of the Latin (with its extensions and Vietnamese), Greek or Cyrillic scripts:
# an explicit class is several times faster for the regex engine than [^\W\d_].
_L = "[A-Za-zªºÀ-ÖØ-öø-ɏΆ-ώЀ-ӿḀ-ỿ]"
# A word of a place name: WINSTON-SALEM, N'DJAMENA, or an abbreviation: ST., D.C., W.Va., N.C
# (before a comma). Other words
# take no dot, so that "MOSCOW. Oct 17" and "ASTANA. KAZINFORM -" end the place at the dot.
_WORD = (rf"(?:{_L}\.(?:{_L}{{1,3}}\.){{1,2}}|{_L}\.{_L}(?=,)|{_L}{{1,3}}\.(?=[ \u00a0]{_L})"
         rf"|{_L}[{_L[1:-1]}'’\-]*+)")
_MONTH_WORD = rf"(?i:{_alternation(list(MONTHS))})(?!{_L})"
_MONTH = _MONTH_WORD + r"\.?"
# Up to six words, as many as there are (no backtracking keeps a failed match cheap), but not
# a month and its day (``JOHANNESBURG March 13``, ``RICHMOND, Va. Feb 26``).
_PLACE = rf"(?>{_WORD}(?:[ \u00a0](?![A-Za-z]{{3,9}}\.?\s*\d){_WORD}){{0,5}})"
_DAY = r"\d{1,2}(?:st|nd|rd|th|er)?(?!\d)"
_DATE = (rf"(?:{_DAY}\.?\s+(?i:de\s+)?{_MONTH}(?:,?\s+(?i:de\s+)?\d{{4}})?"
         rf"|{_MONTH}\s+{_DAY}(?:,?\s+\d{{4}})?"
         r"|\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2})")
_AGENCY = rf"{_L}[^()\[\]/\n\d]{{0,40}}?"            # Reuters, Jiji Press
_AGENCIES = rf"{_L}[^()\[\]\n\d]{{0,40}}?"             # tca/dpa
_BARE_AGENCY = rf"{_L}[\w\-]*+(?:[ ]{_L}[\w\-]*+)?"
# Reuters-style slugs before a dateline: UPDATE 2-, EXCLUSIVE-, REFILE-UPDATE 1-.
_PREFIX = (r"(?:(?:UPDATE|EXCLUSIVE|REFILE|RPT|CORRECTED|CORRECTION|WRAPUP|ANALYSIS|INSIGHT"
           r"|FACTBOX|FEATURE|BREAKINGVIEWS|COLUMN|INTERVIEW|PREVIEW|EXPLAINER|TIMELINE|POLL"
           r"|URGENT|FLASH|FOCUS|BRIEF|SPECIAL[ ]REPORT|GLOBAL[ ]MARKETS|WRAP)"
           r"(?:[ ]\d{1,2})?[ ]?[-–](?!-)[ ]?)+")
_DASH = r"(?:\.-|--|[-–—―_])"

_HEAD = re.compile(rf"""
    (?P<prefix>{_PREFIX})?
    (?:\((?P<lead>{_AGENCIES})\)\s*{_DASH}\s*)?            # (ANSA) - ROMA, 17 OTT -
    (?:
        (?!{_MONTH}\s*\d)(?P<places>{_PLACE}(?:\s?/\s?{_PLACE}){{0,5}})
        (?:\s*,\s*(?!{_MONTH}\s*[-–—\d])(?P<region>{_PLACE}\.?)  # BOSTON, Mass.
           (?:\s*,\s*(?!{_MONTH}\s*[-–—\d])(?P<region2>{_PLACE}\.?))?  # Washington, DC, USA
          | (?:\s*\((?P<pregion>{_PLACE})\))?\s*\[(?P<bregion>{_PLACE})\])?  # NAME (Assam) [India]
        (?:(?:\s*[,;]\s*(?:-\s+)?|\.?\s+)(?P<date>{_DATE})     # BOSTON, Mass., - March 4
          | \s*,\s*(?P<odd_date>(?P<odd_month>{_L}{{3,9}})\.?(?:\s+\w{{1,3}})?)  # , Marc 3 -
            (?=,?\s*[-–—]))?                                                  # , April -
      | (?P<date_only>{_DATE})
    )
    (?:\s*\((?P<paren>{_AGENCIES})\)                       # (Reuters)  (tca/dpa)
      | \s*\((?P<pdate>{_DATE})\)                          # WASHINGTON (Aug. 13) --
      | \.?\s*/(?P<slash>{_AGENCY})/                     # /TASS/
      | (?:\s*[,;]\s*|\.?\s+)(?P<bare>{_BARE_AGENCY})(?=\s*(?:{_DASH}|:)|\.\s)   # , SPA --
    )?
    (?:(?P<sep>,?\s*(?:--|[–—―]|\.-|:(?=\s|$))|,?\s+[-_]|-(?=\s|$)|\.(?=\s))\s*  # - – -- _ : .
      | (?(paren)\.?\s+|(?(slash)\.?\s+|(?(bare)\.\s+|(?!))))   # (PTI) The; /TASS/. The
    )
    """, re.VERBOSE)
# Cheap test first: a dateline has a comma, bracket, slash, colon, dash or digit in one of its
# first seven words, and before it no lower-case word of four letters or more ("de", "am",
# "the" may be part of a name), unless the place is one word ("jakarta (ANTARA) -"), a word and
# a full stop ("Berlin. Die") or a few words, a comma and a month ("des moines, april 7 -"). Most body
# paragraphs and headlines fail it and skip the full pattern.
_STRUCTURE = r",(\[/:–—―_\-\d"
_QUICK = re.compile(
    rf"[^\s{_STRUCTURE}]*+[{_STRUCTURE}]"
    rf"|[^\s{_STRUCTURE}]++\s++[{_STRUCTURE}]"
    rf"|(?:(?![a-z][^\s{_STRUCTURE}]{{3}})[^\s{_STRUCTURE}]++\s++){{1,6}}+"
    rf"(?![a-z][^\s{_STRUCTURE}]{{3}})[^\s{_STRUCTURE}]*+[{_STRUCTURE}]"
    rf"|[^\s{_STRUCTURE}.]++\.\s"                           # Berlin. Die Regierung
    rf"|[^\s,]++(?:\s[^\s,]++){{0,2}}+,\s*{_MONTH_WORD}")   # des moines, april 7 -
_POST_AGENCY = re.compile(rf"(?P<name>{_L}[^.\n\d]{{0,30}}?)\.(?:\s+|$)")   # — РИА Новости.
_BYLINE = re.compile(r"(?:By|BY)\s+\S")
# What may stand before a dateline, ended by a comma or a dash: "AFP, ", "Canadian Press - ".
_PREFIX_END = re.compile(r"(?P<prefix>[^\W\d][^,\-–—:()/\n]{1,40}?)(?:,|\s[-–—]{1,2})\s+(?=[^\W\d_]|\()")
_WORD_START = re.compile(r"\s+(?=\S)")
# Up to four words in capitals, then a capitalised word in lower case: NEW YORK Another ...
_CAPS_OPENING = re.compile(r"(?P<place>[A-Z][A-Z.'’\-]*(?: [A-Z][A-Z.'’\-]*){0,3}) (?=[A-Z][a-z])")

#: Openers that look like a place before a colon or dash but never are one.
LABELS = frozenset(normalize_key(w) for w in (
    "Breaking", "Breaking news", "Update", "Updated", "Exclusive", "Warning", "Watch", "Live",
    "Video", "Photos", "Opinion", "Analysis", "Editorial", "Comment", "Review", "Note",
    "Editor's note", "Correction", "Clarification", "Urgent", "Alert", "Flash", "Bulletin",
    "Advisory", "Sponsored", "Advertisement", "Related", "Read more", "See also", "Also read",
    "Listen", "Podcast", "Gallery", "Explainer", "Factbox", "Timeline", "Poll", "Interview",
    "Feature", "Obituary", "Developing", "Just in", "Summary", "Highlights", "Source", "Credit",
    "Caption", "Photo", "File", "Transcript", "Quote", "News", "Top news", "World", "Business",
    "Politics", "Markets", "Sports", "Technology", "Health", "Science", "Entertainment", "To",
    "From", "Subject", "Date",
))


def find_dateline(paragraphs: Sequence[str], published_at: datetime | None = None, *,
                  gazetteer: Gazetteer | None = None,
                  registry: Registry | None = None) -> Dateline | None:
    """The dateline opening one of the first paragraphs, or None when the story has none."""
    gazetteer = default_gazetteer() if gazetteer is None else gazetteer
    registry = default_registry() if registry is None else registry
    counted = 0
    for index, paragraph in enumerate(paragraphs[:MAX_LINES]):
        found = _parse_paragraph(paragraph, index, paragraphs, published_at, gazetteer, registry)
        if found is not None:
            return found
        if len(paragraph) > BODY_PARAGRAPH_CHARS:
            return None
        if len(paragraph) >= SHORT_LINE_CHARS:
            counted += 1
            if counted >= MAX_PARAGRAPHS:
                return None
    return None


def strip_dateline(paragraphs: Sequence[str], dateline: Dateline) -> tuple[str, ...]:
    """The paragraphs without the dateline (and any prefix or byline before it in its
    paragraph); a paragraph left empty is dropped."""
    rest = paragraphs[dateline.paragraph][dateline.end:]
    before = tuple(paragraphs[:dateline.paragraph])
    after = tuple(paragraphs[dateline.paragraph + 1:])
    return before + ((rest,) if rest.strip() else ()) + after


# --- parsing ----------------------------------------------------------------------------------

def _parse_paragraph(paragraph: str, index: int, paragraphs: Sequence[str],
                     published_at: datetime | None, gazetteer: Gazetteer,
                     registry: Registry) -> Dateline | None:
    start = len(paragraph) - len(paragraph.lstrip("*")) if paragraph[:1] == "*" else 0
    if not paragraph[start:] or not (paragraph[start].isalpha() or paragraph[start] == "("):
        return None                         # a transmission's "****" before it is skipped
    following = paragraphs[index + 1] if index + 1 < len(paragraphs) else ""
    if _BYLINE.match(paragraph):
        found = _after_byline(paragraph, index, following, published_at, gazetteer, registry)
    elif _QUICK.match(paragraph, start) is None:  # most paragraphs: checked here, no call
        found = None
    else:
        found = _parse_at(paragraph, start, index, following, published_at, gazetteer,
                          registry)
    if found is None or any(p.country is None for p in found.places):
        found = _after_prefix(paragraph, start, index, following, published_at, gazetteer,
                              registry) or found
    if found is None and (len(paragraph) <= 40 or paragraph[:2].isupper()):
        found = _place_alone(paragraph, index, paragraphs, gazetteer, registry)
    return found


def _resolved(found: Dateline) -> bool:
    """Every place of the dateline is a place the gazetteer knows."""
    return all(p.normalized is not None for p in found.places)


def _after_prefix(paragraph: str, pos: int, index: int, following: str,
                  published_at: datetime | None, gazetteer: Gazetteer,
                  registry: Registry) -> Dateline | None:
    """``AFP, MANILA -``, ``Canadian Press - VANCOUVER (CP) -``, ``Sports News, New Delhi, Oct
    12 (IANS)``: a short prefix (agency, publisher, section) ending in a comma or a dash, then
    a dateline whose places all resolve. The prefix is kept as the dateline's byline (an
    agency there is a credit)."""
    head = paragraph[pos:pos + 46]
    if ", " not in head and " -" not in head and " –" not in head and " —" not in head:
        return None                                   # the common case: no prefix
    prefix = _PREFIX_END.match(paragraph, pos)
    if prefix is None:
        return None
    found = _parse_at(paragraph, prefix.end(), index, following, published_at, gazetteer,
                      registry)
    if found is None or not found.places or not _resolved(found):
        return None
    return _with_byline(found, prefix["prefix"])


def _after_byline(paragraph: str, index: int, following: str, published_at: datetime | None,
                  gazetteer: Gazetteer, registry: Registry) -> Dateline | None:
    """``By Jane Doe WASHINGTON (Reuters) - ...``: the dateline after a byline of at most a
    dozen words; a reading whose places all resolve beats one whose places have a country
    (``By JANE DOE BRUNSWICK, Maine (AP)``: Brunswick, not "DOE BRUNSWICK"), which beats one
    with neither."""
    fallback = None
    for count, space in enumerate(_WORD_START.finditer(paragraph, 0, 120)):
        if count >= 12:
            break
        if count == 0:
            continue  # "By" + at least one word of a name
        found = _parse_at(paragraph, space.end(), index, following, published_at, gazetteer,
                          registry)
        if found is None:
            continue
        found = _with_byline(found, paragraph[:space.start()].strip())
        if _resolved(found):
            return found
        if all(p.country is not None for p in found.places):
            fallback = found if fallback is None or not all(
                p.country is not None for p in fallback.places) else fallback
        fallback = fallback or found
    return fallback


def _with_byline(found: Dateline, byline: str) -> Dateline:
    return Dateline(found.raw, found.paragraph, found.start, found.end, found.places,
                    found.date_raw, found.date_iso, found.agencies, found.agency_spans, byline)


def _place_alone(paragraph: str, index: int, paragraphs: Sequence[str], gazetteer: Gazetteer,
                 registry: Registry) -> Dateline | None:
    """``ANKARA`` alone on its line, then the body; or in capitals with no separator before
    the first sentence (``NEW YORK Another rise in oil prices...``): held to the rules of a
    bare dateline before a colon (no common word), the body deciding between same-named
    places."""
    if len(paragraph) <= 40 and paragraph.isupper() and index + 1 < len(paragraphs):
        text, body, end = paragraph.strip(), paragraphs[index + 1], len(paragraph)
    else:
        caps = _CAPS_OPENING.match(paragraph)
        if caps is None or registry.names_another(paragraph, caps.end("place")):
            return None                    # LONDON Stock Exchange shares fell ...
        text, body, end = caps["place"], paragraph[caps.end():], caps.end()
    if not (len(body) >= 60 and _reads_like_sentence(body, strict=True)):
        return None
    options = _place_options(text, (), "bare", False, False, False, True, gazetteer)
    if not options:
        return None
    place = _by_context(options, body[:CONTEXT_CHARS], gazetteer)
    return Dateline(text, index, paragraph.index(text), end, (place,), None, None, ())


def _parse_at(paragraph: str, pos: int, index: int, following: str,
              published_at: datetime | None, gazetteer: Gazetteer,
              registry: Registry) -> Dateline | None:
    """The dateline at ``pos`` of the paragraph; ``following`` (the next paragraph) is the text
    after it when the dateline stands alone on its line."""
    if _QUICK.match(paragraph, pos) is None:
        return None
    match = _HEAD.match(paragraph, pos)
    if match is None:
        return None
    g = match.groupdict()
    sep = g["sep"].strip(" ,") if g["sep"] else None  # None: a space or a dot after an agency
    odd_date = g["odd_month"] is not None
    if odd_date and not _misspelt_month(g["odd_month"]):
        return None
    head_end = match.start("sep") if g["sep"] else len(paragraph[:match.end()].rstrip(" .\u00a0"))
    end = match.end()
    date_text = g["date"] or g["odd_date"] or g["date_only"] or g["pdate"]
    place_texts = _split_places(g["places"], gazetteer) if g["places"] else ()

    # Agencies: (ANSA) - ROMA..., PLACE (Reuters), PLACE /TASS/, PLACE, SPA --, ASTANA.
    # KAZINFORM -, and below: Tehran, IRNA –; PLACE — РИА Новости.
    agencies: list[tuple[str, int, int, bool]] = []   # name, start, end (in paragraph), known
    paren_region: tuple[Region, ...] = ()   # Wiesbaden (Hessen) –: a region, not an agency
    if g["paren"] is not None and registry.lookup(g["paren"]) is None:
        paren_region = gazetteer.regions(g["paren"])
    for group in ("lead", "paren", "slash", "bare"):
        if g[group] is not None and not (group == "paren" and paren_region) and not (
                _add_agencies(agencies, g[group], match.start(group), group == "bare",
                              registry)):
            return None
    region_group = "region" if g["region"] else "bregion"
    region_text = g[region_group]
    regions = gazetteer.regions(region_text) if region_text else paren_region
    if g["pregion"]:
        regions = gazetteer.regions(g["pregion"]) or regions
    if g["region2"]:                        # Washington, DC, United States: the first decides
        second = gazetteer.regions(g["region2"])
        if not second and not _add_agencies(agencies, g["region2"], match.start("region2"),
                                            True, registry):
            return None
        regions = regions or second
    if region_text and not regions and not agencies and not date_text:
        if not _add_agencies(agencies, region_text, match.start(region_group), True, registry):
            return None
        region_text = None
    if sep and not agencies:
        post = _POST_AGENCY.match(paragraph, end)
        if post is not None and (agency := registry.lookup(post["name"].strip())) is not None:
            name_end = post.start("name") + len(post["name"].rstrip())
            agencies.append((agency.name, post.start("name"), name_end, True))
            end = post.end()
    known_agency = any(known for *_, known in agencies)

    if sep is None and not (known_agency and date_text
                            and _starts_capitalised(paragraph[end:])):
        return None                       # "Police (AFP) officers arrested...": no dateline
    if not place_texts:
        if not (date_text and known_agency):
            return None                   # "(Bloomberg) -- Treasuries rallied...": no dateline
        places: tuple[Place, ...] = ()
    else:
        # "dated": the wire's own form, PLACE[, Region], Date -: a comma after the place.
        date_group = "date" if g["date"] else "odd_date"
        dated = (g[date_group] is not None and sep not in (None, ":")
                 and "," in paragraph[match.end("places"):match.start(date_group)])
        shape = ("strong" if agencies else "dated" if dated
                 else "qualified" if date_text or regions else "bare")
        rest = paragraph[end:] or following
        if shape == "dated":
            if not _starts_text(rest):
                return None
        elif shape != "strong" and not _reads_like_sentence(rest, strict=shape == "bare"):
            return None
        resolved = _resolve(place_texts, regions, shape, known_agency, bool(date_text),
                            colon=sep in (":", "."), context=rest[:CONTEXT_CHARS],
                            gazetteer=gazetteer)
        if resolved is None:
            return None
        places = resolved

    start = match.start("lead") - 1 if g["lead"] else (
        match.start("places") if g["places"] else match.start("date_only"))
    raw_end = max([head_end] + [a_end for _, _, a_end, _ in agencies])
    raw = paragraph[start:raw_end].rstrip(" \u00a0")
    date_raw = date_text.rstrip(".") if date_text else None
    spans: dict[str, tuple[int, int]] = {}
    for name, a_start, a_end, _ in agencies:
        spans.setdefault(name, (a_start - start, a_end - start))
    return Dateline(raw, index, start, end, places, date_raw,
                    _iso_date(date_raw, published_at) if date_raw and not odd_date else None,
                    tuple(spans), tuple(spans.values()))


def _add_agencies(agencies: list[tuple[str, int, int, bool]], text: str, offset: int,
                  known_only: bool, registry: Registry) -> bool:
    """Add the agencies written in ``text`` (``tca/dpa``: two) found at ``offset``; False when
    it is no credit: an unknown name where only a known one may stand (``known_only``), or
    one too long for a name."""
    at = offset
    known = False
    for part in text.replace(",", "/").split("/"):
        name = part.strip()
        if name:
            agency = registry.lookup(name)
            if agency is None and known and name.islower() and len(name) <= 4:
                at += len(part) + 1
                continue                    # a regional desk after the agency: (dpa/lno)
            if agency is None and (known_only or len(name.split()) > 4):
                return False
            known = agency is not None
            start = at + len(part) - len(part.lstrip())
            agencies.append((agency.name if agency else name, start, start + len(name),
                             agency is not None))
        at += len(part) + 1
    return True


def _split_places(text: str, gazetteer: Gazetteer) -> tuple[str, ...]:
    """``TOKYO/SINGAPORE`` -> ("TOKYO", "SINGAPORE"); a trailing dot ("MOSCOW.") dropped; one
    place whose name has a slash stays whole (``Frankfurt/Main``)."""
    if "/" in text and text.count("/") == 1 and gazetteer.lookup(text, alternates=False):
        return (text.strip(),)
    return tuple(name for part in text.split("/") if (name := part.strip().rstrip(".")))


def _resolve(place_texts: tuple[str, ...], regions: tuple[Region, ...], shape: str,
             known_agency: bool, dated: bool, colon: bool, context: str,
             gazetteer: Gazetteer) -> tuple[Place, ...] | None:
    """The places of a dateline of the given shape, or None when one of them is not a place."""
    places = []
    several = len(place_texts) > 1
    for text in place_texts:
        options = _place_options(text, regions, shape, several, known_agency, dated, colon,
                                 gazetteer)
        if not options:
            return None
        places.append(options[0][0] if len(options) == 1
                      else _by_context(options, context, gazetteer))
    return tuple(places)


@lru_cache(maxsize=8192)
def _place_options(text: str, regions: tuple[Region, ...], shape: str, several: bool,
                   known_agency: bool, dated: bool, colon: bool,
                   gazetteer: Gazetteer) -> tuple[tuple[Place, GeoEntry | None], ...]:
    """What a name written in a dateline of this shape may stand for, best first; () when it is
    no place. Bare datelines take only the own names of cities and hand-kept places (several
    same-named ones: the text around decides; before a bare colon, only a city of some size);
    qualified ones any city name; strong ones
    countries too, and, with a known agency, a name the gazetteer lacks. A region decides
    among same-named places (it may qualify only the last of several places). A country's name
    is no bare or qualified dateline unless a city has it too ("Mexico: ..." no, "SINGAPORE –"
    yes). Labels ("BREAKING") never are; common words ("Reading") not in bare datelines unless
    in capitals before a dash."""
    key = normalize_key(text)
    style = _style(text)
    if key in LABELS or (shape != "dated" and (style == "mixed" or (
            style == "lower" and (shape == "bare" or not known_agency)))):
        return ()
    if shape == "bare":
        if len(key) < 3 or (key in gazetteer.words and (colon or style != "caps")):
            return ()
        found = tuple(e for e in gazetteer.lookup(text, alternates=False)
                      if e.kind == "place" or (e.kind == "city" and (
                          not colon or e.population >= COLON_MIN_POPULATION)))
        if not found and key not in gazetteer.words:   # München, Wien: a big city's other name
            found = tuple(e for e in gazetteer.lookup(text) if e.kind == "city"
                          and e.population >= BARE_OTHER_NAME_MIN_POPULATION)[:1]
    else:
        kinds = ("city", "place", "country") if shape in ("strong", "dated") else ("city",
                                                                                   "place")
        entry = gazetteer.best(text, regions, kinds) if regions else None
        if entry is None and (not regions or several):
            entry = gazetteer.best(text, (), kinds)
        found = (entry,) if entry is not None else ()
    if found and shape not in ("strong", "dated") and gazetteer.is_country(text) and (
            normalize_key(found[0].name) != key):
        return ()
    if found:
        return tuple((Place(text, e.name, e.country, e.lat, e.lon, e.geonameid, e.admin1), e)
                     for e in found)
    if shape == "bare":
        return ()
    if regions:
        return ((Place(text, None, regions[0].country, None, None, None, regions[0].admin1),
                 None),)
    if (known_agency or shape == "dated") and len(key) >= 3 and len(text.split()) <= 4 and (
            style == "caps" or (style == "name" and dated)):
        near = gazetteer.near(text, MISSPELT_MIN_POPULATION)
        if near is not None:
            return ((Place(text, near.name, near.country, near.lat, near.lon, near.geonameid,
                           near.admin1), near),)
        return ((Place(text, None, None, None, None, None, None), None),)
    return ()


def _by_context(options: tuple[tuple[Place, GeoEntry | None], ...], context: str,
                gazetteer: Gazetteer) -> Place:
    """Among same-named places, the most populous one unless the opening text names the
    state or province of another and neither the region nor the country of its own
    (``ST. PETERSBURG — ... in Florida``: a local paper leaves out its home state)."""
    top = options[0][1]
    if top is None or _mentions(context, gazetteer.region_names(top)):
        return options[0][0]
    for place, entry in options[1:8]:
        if (entry is not None and (entry.country, entry.admin1) != (top.country, top.admin1)
                and _mentions(context, gazetteer.region_names(entry, country=False))):
            return place
    return options[0][0]


def _mentions(text: str, names: tuple[str, ...]) -> bool:
    for name in names:
        at = text.find(name)
        while at >= 0:
            after = at + len(name)
            if ((at == 0 or not text[at - 1].isalnum())
                    and (after == len(text) or not text[after].isalnum())):
                return True
            at = text.find(name, after)
    return False


def _style(text: str) -> str:
    """"caps" (NEW DELHI), "name" (New Delhi, Rio de Janeiro), "lower" or "mixed"."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "mixed"
    if not any(ch.islower() for ch in letters):
        return "caps"
    words = [w for w in re.split(r"[\s\-]+", text) if w]
    if all(not w[0].isupper() for w in words):
        return "lower"
    if words[0][0].isupper() and all(w[0].isupper() or len(w) <= 3 for w in words):
        return "name"
    return "mixed"


@lru_cache(maxsize=1024)
def _misspelt_month(word: str) -> bool:
    """A month's name (``April -``), or one letter away from one of four letters or more
    (``Marc``, ``Narch``, ``Marchg``, ``Macrh``)."""
    word = word.lower()
    return word in MONTHS or any(len(name) >= 4 and one_edit_apart(word, name) for name in MONTHS)


def _starts_capitalised(text: str) -> bool:
    first = text[:4].lstrip("\"“‘'([<")[:1]
    return first.isupper() or first.isdigit()


def _starts_text(rest: str) -> bool:
    """After a dated dateline and a dash: words of any case (``- colombia's cost of living``),
    a figure or a quoted or bracketed name, not more punctuation."""
    first = rest[:4].lstrip("\"“‘'([<")[:1]
    return first.isalnum()


def _reads_like_sentence(rest: str, strict: bool) -> bool:
    """The text after a dateline starts like a sentence; ``strict`` (bare datelines): it also
    has lower-case letters (not a headline in capitals) and ends like a sentence or is long."""
    if not _starts_capitalised(rest):
        return False
    if not strict:
        return True
    opening = rest[:80]
    if opening == opening.upper():
        return False                      # no lower-case letter: a headline in capitals
    return len(rest) >= 100 or rest.rstrip().rstrip("\"”’')]")[-1:] in (".", "!", "?", "…")


# --- dates ------------------------------------------------------------------------------------

_DATE_PARTS = re.compile(rf"(?P<month>{_MONTH_WORD})|(?P<year>\d{{4}})|(?P<day>\d{{1,2}})")


def _iso_date(text: str, published_at: datetime | None) -> str | None:
    """``Oct 17`` -> "2023-10-17" given a story published in October 2023; a date without its
    year takes the year that puts it nearest the publication time (Dec 31 on Jan 1: last year).
    None when the year is neither written nor inferable, or the date does not exist."""
    if published_at is not None and published_at.tzinfo is not None:
        published_at = published_at.astimezone(timezone.utc)
    return _date_iso(text, published_at.date() if published_at is not None else None)


@lru_cache(maxsize=4096)
def _date_iso(text: str, reference: date | None) -> str | None:
    numeric = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})|(\d{4})-(\d{2})-(\d{2})", text)
    if numeric:
        if numeric[1]:
            day, month, year = int(numeric[1]), int(numeric[2]), int(numeric[3])
        else:
            year, month, day = int(numeric[4]), int(numeric[5]), int(numeric[6])
    else:
        day = month = year = None
        for part in _DATE_PARTS.finditer(text):
            if part["month"] and month is None:
                month = MONTHS.get(part["month"].lower())
            elif part["year"] and year is None:
                year = int(part["year"])
            elif part["day"] and day is None:
                day = int(part["day"])
        if day is None or month is None:
            return None
    if year is not None:
        return _valid(year, month, day)
    if reference is None:
        return None
    candidates = [d for y in (reference.year - 1, reference.year, reference.year + 1)
                  if (d := _valid(y, month, day)) is not None]
    if not candidates:
        return None
    return min(candidates, key=lambda d: abs((date.fromisoformat(d) - reference).days))


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
