"""Attribution: which agencies a story is credited to, which it cites, whose photos it carries.

Each Finding names the rule that produced it:
- credit
  - ``dateline``: the agency in the dateline's parenthesis (``LONDON (Reuters) -``).
  - ``byline``: ``By Jane Doe, Reuters``, ``Jane Doe | AP``, ``By Yonhap``, ``KYODO``.
  - ``signoff``: a closing ``REUTERS``, ``-- BERNAMA``, ``(ANI)``, ``/TASS/``, ``==Kyodo``,
    ``PTI ABC DEF`` (desk initials), ``REUTERS, BLOOMBERG``, ``With inputs from AP, AFP``,
    ``(With reports from PNA)``, ``Source: Reuters``.
  - ``contributors``: ``Reporting by Reuters`` in the ``Reporting by ...; Editing by ...``
    block; ``contributed``: ``Associated Press writer X contributed to this report``;
    ``report_by``: ``This report by The Canadian Press ...``.
  - ``copyright``: ``© Agence France-Presse``, ``Distributed by Tribune Content Agency``.
- cited: ``cited_verb`` (``Yonhap reported``, ``Xinhua said``, ``a Reuters poll``) and
  ``cited_source`` (``according to state media KCNA``, ``told Reuters``, ``quoted by
  Interfax``, ``..., reported the TASS news agency``). A mention without such a cue
  ("Reuters journalists won a Pulitzer") is no citation.
- photo: ``photo_credit``: a removed credit line (``PHOTO: AFP``, ``Photo by Jane Doe/AP``,
  ``EPA-EFE/JANE DOE``) or a caption's closing credit (``(Xinhua/Li Yahui)``, ``| Bloomberg``,
  ``Image Credit: Reuters``), the photographer split out where written so.

Offsets: ``field`` "text" indexes ``text``, "dateline" ``Dateline.raw``, "byline"
``Dateline.byline`` and "removed" ``removed[index].text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from transforms.agencies import Agency, Phrases, Registry, default_registry
from transforms.clean import without_picture_date

if TYPE_CHECKING:
    from transforms.clean import Removed
    from transforms.dateline import Dateline


@dataclass(frozen=True, slots=True)
class Finding:
    agency: str  # canonical name
    role: str  # "credit" | "cited" | "photo"
    rule: str  # which rule found it (see the module docstring)
    field: str  # "text" | "dateline" | "byline" | "removed"
    index: int | None  # removed[] index when field == "removed"
    start: int
    end: int
    photographer: str | None = None


@dataclass(frozen=True, slots=True)
class Contributor:
    name: str
    role: str  # "byline", "reporting", "additional reporting", "writing", "editing",
    #            "translation", "assistance", "graphics", "contributing"


@dataclass(frozen=True, slots=True)
class Attribution:
    credit: tuple[str, ...]  # canonical names, first-seen order, no repeats
    cited: tuple[str, ...]
    photo: tuple[str, ...]
    contributors: tuple[Contributor, ...]
    findings: tuple[Finding, ...]


Hit = tuple[int, int, Agency]

# Each field's slot, set directly: a frozen dataclass's __init__ sets each field through
# object.__setattr__, and there is a finding for each mention of an agency.
_SET_AGENCY, _SET_ROLE, _SET_RULE, _SET_FIELD = (Finding.agency.__set__, Finding.role.__set__,
                                                 Finding.rule.__set__, Finding.field.__set__)
_SET_INDEX, _SET_START, _SET_END, _SET_PHOTOGRAPHER = (
    Finding.index.__set__, Finding.start.__set__, Finding.end.__set__,
    Finding.photographer.__set__)


def _finding(agency: str, role: str, rule: str, field: str, index: int | None, start: int,
             end: int, photographer: str | None) -> Finding:
    """``Finding(...)``, made about three times as fast (tests check it sets every field)."""
    finding = object.__new__(Finding)
    _SET_AGENCY(finding, agency)
    _SET_ROLE(finding, role)
    _SET_RULE(finding, rule)
    _SET_FIELD(finding, field)
    _SET_INDEX(finding, index)
    _SET_START(finding, start)
    _SET_END(finding, end)
    _SET_PHOTOGRAPHER(finding, photographer)
    return finding

# --- closing lines ----------------------------------------------------------------------------
_DECORATION = " \t-–—=_/().:|*•~,[]"
# DW-style closing: editor initials, then the agencies: "dj/rc (dpa, AFP)".
_SLUG_THEN_LIST = re.compile(r"^\s*[a-z]{1,4}(?:/[a-z]{1,4})*\s*\((?P<list>[^()]{2,80})\)\s*$")
_OPENING = re.compile(r"^\s*\((?P<list>[^()]{2,40})\)\s*(?:[-–—_:]+|\.-)\s")
# A publisher's closing "with" credit: "(FRANCE 24 with AFP)", "Euronews with AP, AFP".
_OUTLET_WITH = re.compile(r"^[\s(]*[\w .'’&-]{1,40}?\s+with\s+(?P<list>[^()]{2,60}?)[\s).]*$")
_SENTENCE_ENDS = frozenset(".!?:;\"”’)]")
# Closing lines that are neither content nor credit: desk slugs, end markers, contacts, links.
_JUNK_LINE = re.compile(
    r"""^\s*(?:
        [a-z]{1,8}(?:[-/][a-zA-Z]{1,8})*                # bur-jh/js, abc/xyz, gb
      | [A-Za-z]{1,8}-[A-Z]{2,8}(?:/[A-Za-z]{1,8})+     # dpa-AFX/mne/DP/zb
      | \(?END\)?|Enditem(?:/\w+)?|ENDS?|[_\-=*#]{3,}
      | \S+@\S+\.\w+.*|\(\(.*\)\)|https?://\S+
      | (?i:to\ contact|follow|read\ more|also\ read|related|sign\ up|click\ here|
         download|join\ the\ discussion|most\ popular|share)\b.*
    )\s*$""", re.VERBOSE)
_DESK_INITIALS = re.compile(r"(?:\s+[A-Z]{1,4}){1,5}\s*$")
# What a transmission leaves after a closing agency name: a shown carriage return (^M), a
# time (REUTER11:43), desk letters glued to dots (REUTER...).
_TRANSMISSION_TAIL = re.compile(r"(?:\^[@-_]|\d{1,2}:\d{2}|[\s.])+$")
# What ends the sentence before a paragraph's closing sign-off ("... Ministry. REUTERS").
_SENTENCE_BREAKS = (". ", "! ", "? ", "\" ", "” ", "’ ", ") ", "] ")
# Any of them (or, where a caption's credit may start, also "|") written backwards, to find
# the last one in a line's reversal: a search skips at once to where one could start, which
# beats looking for each of them in turn.
_SENTENCE_BREAK_REVERSED = re.compile("|".join(re.escape(b[::-1]) for b in _SENTENCE_BREAKS))
_CAPTION_BREAK_REVERSED = re.compile(_SENTENCE_BREAK_REVERSED.pattern + r"|\|")
_HYPHEN = re.compile("-")
_COPYRIGHT = re.compile(r"^\s*[\[(]?\s*(?:©|\(c\)|copyright\b|all\s+rights\s+reserved)",
                        re.IGNORECASE)
_ROLE_LINE = re.compile(
    r"^[\s(\[–—-]*(?:(?:additional\s+)?reporting|writing|editing|compiled|graphics|"
    r"with\s+assistance)\s+(?:by|from)\b", re.IGNORECASE)
_ROLE = re.compile(
    r"(?P<role>(?:additional\s+)?reporting|writing|editing|compiled|graphics|with\s+assistance)"
    r"\s+(?:by|from)\s+(?P<names>[^;()\n]+)", re.IGNORECASE)
_LABEL_LINE = re.compile(r"^\s*(?P<role>Translator|Editor|Edited by|Written by)\s*:?\s+"
                         r"(?P<names>[^;()\n]{2,80}?)\s*$")
# What follows a byline's lead word (Registry.byline_lead: "By", "Por", "Von:") on its line.
_BY_NAMES = re.compile(r"(?P<names>[^()\n]{2,100}?)(?:\s*\([^()\n]{2,40}\))?\s*\)?\s*$")
_CONTRIBUTED = re.compile(
    r"(?P<names>(?:[^.!?\n]|(?<=\b[A-Z])\.){3,200}?)\s+contributed(?:\s+(?:to\s+this\s+(?:report|story)|"
    r"(?:additional\s+)?reporting))?\.?\s*$")
_AGENCY_WRITER = re.compile(r"^\s+(?:[A-Z][\w-]*\s+){0,2}(?:writers?|reporters?|"
                            r"correspondents?|journalists?|staff)\b\s*", re.IGNORECASE)
_REPORT_BY = re.compile(r"\b(?:This|The)\s+(?:report|story|article)\s+(?:by|from)\s+$",
                        re.IGNORECASE)
_DISTRIBUTED = re.compile(r"\b(?:Distributed|Syndicated|Provided)\s+by\s+$", re.IGNORECASE)
_ROLE_NAMES = {
    "reporting": "reporting", "additional reporting": "additional reporting",
    "writing": "writing", "editing": "editing", "compiled": "writing", "graphics": "graphics",
    "with assistance": "assistance", "translator": "translation", "editor": "editing",
    "edited by": "editing", "written by": "writing",
}
# A byline's names and agencies: "Jane Doe, Reuters", "Hans Müller (dpa)".
_BYLINE_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bwith\b|&|\||●|/|\()\s*")
_NAME_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bwith\b|&|\||●|/)\s*")
_TEAM = re.compile(r"(?:\s+[A-Z][\w-]*){0,2}\s+(?:bureau|staff|desk|newsroom|team|editor|"
                   r"correspondent|reporter|writer|journalist)$", re.IGNORECASE)
_IN_PLACE = re.compile(r"\s+in\s+[A-Z][\w .'-]*$")
_PERSON = re.compile(r"^[A-ZÀ-Þ][\w.'’-]*(?:\s+[A-ZÀ-Þa-z][\w.'’-]*){1,4}$")
_NOT_PERSON = re.compile(
    r"\b(?:photo|photos|foto|file|handout|pool|images?|agency|ministry|office|press|service|"
    r"courtesy|via|staff|desk|writer|correspondent|news|updated?|archives?)\b", re.IGNORECASE)

# --- citations --------------------------------------------------------------------------------
# "according to [North Korea's state media] KCNA": the cue phrases and the descriptors that may
# stand between a cue and the agency are the registry's, per language (agencies.json
# "phrases": "según la agencia EFE", "gegenüber der dpa", "à l'AFP", "all'ANSA").
_INVERTED_VERBS = frozenset({"reported", "reports", "said", "says", "wrote", "added"})
_NATIONALITY = re.compile(r"[A-Z][a-z]+(?:an|ese|ish|i|ch)$")
# --- photo credits ----------------------------------------------------------------------------
_PHOTO_LEAD = re.compile(
    r"^\s*[(\[]?\s*(?:(?:file\s*:\s*)?(?:photo|photos|photograph|photographer|picture|pictures|"
    r"image|images|foto)(?:\s+credits?)?\s*(?:by|:|/)|credits?\s*:|©|\(c\)|copyright\b"
    r"|(?:image|photo|picture)\s+copyright\b"
    r"|(?:illustrative|illustration|file|handout|archive|representative|representational|stock)"
    r"\s+(?:photo|image|picture)s?\s*:)\s*",
    re.IGNORECASE)
# Where a credit left in the text could be: a slash or a label, in any of its usual cases
# (found in the same pass over the text as the agency mentions).
_CREDIT_HINTS = ("/", *(v for w in ("photo", "image", "credit", "foto")
                        for v in (w, w.title(), w.upper())))
# Full-width forms (U+FF01-FF5E) and the ideographic space, as their ASCII characters.
_HALF_WIDTH = {**{code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}, 0x3000: " "}
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
# A sentence's full stop with a capitalised credit right after it, no space between.
_GLUED_CREDIT = re.compile(r"[a-z)][.。](?=[A-Z][^.]*$)")
# BBC-style captions open with the credit: "Image copyright Reuters Image caption Protesters ...".
_COPYRIGHT_LEAD = re.compile(r"(?:image|photo|picture)\s+copyright\b", re.IGNORECASE)
_CAPTION_LABEL = re.compile(r"\s+(?:image\s+caption|caption)\b", re.IGNORECASE)
_PHOTO_WORDS = re.compile(r"\s+(?:photo|photos|foto|images?|pictures?|pool)$", re.IGNORECASE)

_PHOTO_KINDS = ("photo_credit", "caption")


def find_attribution(text: str, removed: Sequence[Removed] = (), dateline: Dateline | None = None,
                     registry: Registry | None = None) -> Attribution:
    """Credit, cited and photo agencies of one story, with contributors and findings.

    ``text`` is the cleaned text (dateline cut), ``removed`` what cleaning removed, and
    ``dateline`` the dateline found (its ``agencies`` count as credit).
    """
    registry = registry or default_registry()
    out = _Collector(registry)
    if dateline is not None:
        out.dateline(dateline)
    for index, item in enumerate(removed):
        if item.kind == "byline":
            out.byline(item.text, "removed", index, 0)
    mentions, hints = registry.find_all_marked(text, _CREDIT_HINTS)  # the one pass over text
    lines = _Lines(text)
    head = dateline.paragraph if dateline is not None else 0
    used = out.closing(lines, head)
    out.cited(text, mentions, used, "text", None)
    out.text_photos(lines, head, used, hints)
    for index, item in enumerate(removed):
        if item.kind in _PHOTO_KINDS:
            out.photo(item.text, item.kind == "photo_credit", "removed", index)
            if item.kind == "caption":
                out.cited(item.text, registry.find_all(item.text), (), "removed", index)
        elif item.kind == "copyright":
            out.add_hits(registry.find_all(item.text), "credit", "copyright", "removed", index)
    findings = out.findings
    names: dict[str, dict[str, None]] = {"credit": {}, "cited": {}, "photo": {}}
    for finding in findings:  # canonical names by role, first-seen order
        names[finding.role][finding.agency] = None
    return Attribution(
        credit=tuple(names["credit"]), cited=tuple(names["cited"]), photo=tuple(names["photo"]),
        contributors=tuple(dict.fromkeys(out.contributors)), findings=tuple(findings))


class _Lines:
    """The non-blank lines of a text as ``(offset, line)``, read when asked for: the rules
    read a story's first and last lines and the few lines holding a credit hint, so the
    text is never split whole."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._read: list[tuple[int, str]] = []  # the first lines, read so far
        self._next = 0  # where reading on starts; past the end once all is read

    def get(self, number: int) -> tuple[int, str] | None:
        """Line ``number`` (from 0), or None past the last line."""
        read = self._read
        if number < len(read):
            return read[number]
        text = self.text
        pos = self._next
        while len(read) <= number and pos <= len(text):
            end = text.find("\n", pos)
            if end < 0:
                end = len(text)
            line = text[pos:end]
            if line and not line.isspace():
                read.append((pos, line))
            pos = end + 1
        self._next = pos
        return read[number] if number < len(read) else None

    def first(self, count: int) -> list[tuple[int, str]]:
        """The first ``count`` lines (all of them if there are fewer)."""
        if count > 0:
            self.get(count - 1)
        return self._read[:count]

    def backwards(self, number: int) -> Iterator[tuple[int, str]]:
        """The lines from the last one back to line ``number``."""
        text = self.text
        found = self.get(number)
        stop = found[0] if found else len(text)
        end = len(text)
        while True:
            newline = text.rfind("\n", stop, end)
            start = newline + 1 if newline >= 0 else stop
            line = text[start:end]
            if line and not line.isspace():
                yield start, line
            if newline < 0:
                return
            end = newline


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip()
    return bool(stripped) and stripped[-1] in _SENTENCE_ENDS


def _closing_segment(line: str) -> int:
    """Where the last sentence of ``line`` ends (0 if it has one sentence): a sign-off
    may follow ("... Foreign Ministry. REUTERS")."""
    end = len(line.rstrip(" ."))
    return _last_break(line, max(0, end - 91), end, _SENTENCE_BREAK_REVERSED)


def _last_break(line: str, start: int, end: int, breaks_reversed: re.Pattern[str]) -> int:
    """Where the last break (``breaks_reversed`` finds them reversed) within
    ``line[start:end]`` ends, or 0."""
    found = breaks_reversed.search(line[start:end][::-1])
    return end - found.start() if found else 0


def _cue_before(text: str, start: int, phrases: Phrases) -> bool:
    """Whether the words before ``start`` cite a source: a cue ("according to", "told",
    "quoted by", ", reported") then up to five descriptors ("the", "state media",
    "North Korea's", "Russian")."""
    descriptors = phrases.descriptors
    words = text[max(0, start - 90):start].split()
    if start > 90:
        words = words[1:]  # may be cut
    i = len(words)
    skipped = 0
    cues, cue_ends = phrases.citation_cues, phrases.cue_ends
    while True:
        # a cue may end here, after the descriptors skipped so far ("dijo a | la agencia")
        if i and words[i - 1].lower() in cue_ends:
            cue = tuple(map(str.lower, words[max(0, i - 4):i]))  # the last four words before
            if cue[-1:] in cues or cue[-2:] in cues or cue[-3:] in cues or (
                    len(cue) == 4 and cue in cues):
                return True
        if i == 0 or skipped >= 6:
            break
        word = words[i - 1]
        if word[-1] in ",.;:!?)" and skipped:
            return False
        # a nationality ("Russian") starts with a capital too, so a lowercase word needs
        # no regex
        if not (word.lower() in descriptors
                or word[0].isupper() and (_NATIONALITY.match(word)
                                          or word.endswith(("'s", "’s")) or skipped
                                          and words[i].endswith(("'s", "’s", "ern")))):
            break
        i -= 1
        skipped += 1
    if i >= 2 and words[i - 1].lower().strip("\"”") in _INVERTED_VERBS:
        before = words[i - 2]
        return before[-1] in ",\"”" or words[i - 1][0] in "\"”"
    return False


def _parts(s: str, separator: re.Pattern[str]) -> list[tuple[int, str]]:
    """``s`` split on ``separator``: each non-blank part, stripped, with its offset in ``s``."""
    parts = []
    pos = 0
    for m in [*separator.finditer(s), None]:
        end = m.start() if m else len(s)
        part = s[pos:end]
        if part.strip():
            parts.append((pos + len(part) - len(part.lstrip()), part.strip()))
        if m:
            pos = m.end()
    return parts


def _parts_of_one(s: str) -> list[tuple[int, str]]:
    """``_parts(s, separator)`` for an ``s`` that has no separator."""
    part = s.strip()
    return [(len(s) - len(s.lstrip()), part)] if part else []


def _looks_like_person(s: str) -> bool:
    return (bool(_PERSON.match(s)) and not _NOT_PERSON.search(s)
            and not any(ch.isdigit() for ch in s))


class _Collector:
    """Findings and contributors of one story, gathered rule by rule."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.findings: list[Finding] = []
        self.contributors: list[Contributor] = []

    def add(self, agency: Agency, role: str, rule: str, field: str, index: int | None,
            start: int, end: int, photographer: str | None = None) -> None:
        self.findings.append(_finding(agency.name, role, rule, field, index, start, end,
                                      photographer))

    def add_hits(self, hits: list[Hit], role: str, rule: str, field: str, index: int | None,
                 offset: int = 0) -> None:
        for start, end, agency in hits:
            self.add(agency, role, rule, field, index, offset + start, offset + end)

    def agency(self, name: str) -> Agency | None:
        """The agency named ``name`` in a credit position: any letter case ("KYODO NEWS",
        "Jiji press"), except that an all-lowercase word must be a lowercase spelling ("dpa",
        "tca"; "app" in a desk slug is not APP)."""
        if name.islower():
            return self.registry.spelled(name)
        return self.registry.lookup(name)

    def agency_list(self, s: str) -> list[Hit] | None:
        """``s`` as a list of agencies ("REUTERS, BLOOMBERG", "AP-Yonhap", "Emirates News
        Agency, WAM"), with offsets; None unless every item is an agency."""
        if len(s) > 80 or s.count(" ") > 8:
            return None  # no agency list is that long
        found: list[Hit] = []
        # what _LIST_SPLIT splits on, checked first: most strings checked are no list
        listed = ("," in s or ";" in s or "&" in s
                  or " " in s and self.registry.list_word.search(s) is not None)
        for at, part in _parts(s, self.registry.list_split) if listed else _parts_of_one(s):
            part = part.strip(_DECORATION)
            at = s.find(part, at)
            agency = self.agency(part)
            if agency is not None:
                found.append((at, at + len(part), agency))
                continue
            if "-" not in part:
                return None
            pieces = _parts(part, _HYPHEN)
            agencies = [self.agency(piece) for _, piece in pieces]
            if len(pieces) < 2 or None in agencies:
                return None
            found.extend((at + p, at + p + len(piece), a)
                         for (p, piece), a in zip(pieces, agencies, strict=True))
        return found or None

    # --- credit ---------------------------------------------------------------------------
    def dateline(self, dateline: Dateline) -> None:
        spans = dateline.agency_spans
        for i, name in enumerate(dateline.agencies):
            agency = self.registry.lookup(name)
            span = spans[i] if i < len(spans) else (0, len(dateline.raw))
            if agency is None:  # an unknown credit as written: keep it under its own name
                self.findings.append(
                    _finding(name, "credit", "dateline", "dateline", None, *span, None))
            else:
                self.add(agency, "credit", "dateline", "dateline", None, *span)
        if dateline.byline:
            self.byline(dateline.byline, "byline", None, 0)

    def byline_line(self, line: str) -> bool:
        """A line holding a byline and nothing else: "By Jane Doe", "(Por Agencia EFE)"."""
        lead = self.registry.byline_lead.match(line)
        return lead is not None and _BY_NAMES.match(line, lead.end()) is not None

    def byline(self, line: str, field: str, index: int | None, offset: int) -> None:
        """"By Jane Doe, Reuters", "Jane Doe | AP", "By JOSH BOAK and ZEKE MILLER", "KYODO",
        "Por Agencia EFE" (descriptors before the agency's name are left out)."""
        lead = self.registry.byline_lead.match(line)
        start = lead.end() if lead else 0
        descriptors = self.registry.phrases.descriptors
        for at, part in _parts(line[start:], _BYLINE_SPLIT):
            bare = part.rstrip(" ).").strip()
            team = _TEAM.search(bare)
            bare = bare[:team.start()] if team else bare
            agency = self.agency(bare)
            words = bare.split()
            while agency is None and len(words) > 1 and words[0].lower() in descriptors:
                at += bare.index(words[1])
                bare = bare[bare.index(words[1]):]
                words = words[1:]
                agency = self.agency(bare)
            if agency is not None:
                at += offset + start
                self.add(agency, "credit", "byline", field, index, at, at + len(bare))
            elif _looks_like_person(bare):
                self.contributors.append(Contributor(_IN_PLACE.sub("", bare), "byline"))

    def closing(self, lines: _Lines, head: int) -> list[tuple[int, int]]:
        """Rules that read whole lines. Lines before the body (the first ``head`` lines, or
        up to the first sentence) that hold only a byline or an agency are bylines. Then,
        walking up from the end: sign-off lines, desk slugs, contributor and copyright lines,
        teaser or tag lines (no sentence end) are read or skipped, and the first sentence
        line is checked for a closing sign-off; the walk stops there. Returns the spans read."""
        used: list[tuple[int, int]] = []
        for start, line in lines.first(head + 2):
            opening = _OPENING.match(line) if line.lstrip().startswith("(") else None
            found = self.agency_list(opening["list"]) if opening else None
            if found:  # "(Bloomberg) -- Treasuries rallied ..."
                at = start + opening.start("list")
                self.add_hits(found, "credit", "opening", "text", None, at)
                used.append((at, start + opening.end("list")))
        body = 0
        following = lines.get(0)
        for number in range(12):
            current, following = following, lines.get(number + 1)
            if following is None:
                break  # the last line is never a byline (nor is a missing one)
            start, line = current
            sentence = number >= head and (_ends_sentence(line) or ". " in line
                                           or line.count(" ") >= 15)
            byline = len(line) < 90 and self.byline_line(line)  # "By Jane Doe (AP)"
            if sentence and not byline:
                break
            body = number + 1
            if len(line) < 90 and (byline or self.agency_list(line)
                                   or ("|" in line or "●" in line) and not _ends_sentence(line)):
                self.byline(line, "text", None, start)
                used.append((start, start + len(line)))
        for number, (start, line) in enumerate(lines.backwards(body)):
            signoff = self.signoff(line, last=number == 0)
            if signoff:
                self.add_hits(signoff, "credit", "signoff", "text", None, start)
                used.append((start, start + len(line)))
                continue
            if _JUNK_LINE.match(line):
                continue
            if self.contributor_line(line, start):
                used.append((start, start + len(line)))
                continue
            if _COPYRIGHT.match(line):
                self.add_hits(self.registry.find_all(line), "credit", "copyright", "text", None,
                              start)
                used.append((start, start + len(line)))
                continue
            spans = self.credit_phrases(line, start)
            tail = _closing_segment(line)
            signoff = self.signoff(line[tail:]) if tail else None
            if signoff:
                self.add_hits(signoff, "credit", "signoff", "text", None, start + tail)
                spans.append((start + tail, start + len(line)))
            used.extend(spans)
            if spans or _ends_sentence(line):
                break
        return used

    def signoff(self, segment: str, last: bool = False) -> list[Hit] | None:
        """A sign-off standing alone: "-- BERNAMA", "(ANI)", "==Kyodo", "/TASS/", "PTI ABC
        DEF", "WAM/Tariq Alfaham", "- Emirates News Agency, WAM -", "With inputs from AP, AFP",
        "Source: Reuters", "dj/rc (dpa, AFP)", "REUTER^M", "REUTER11:43/VB", "REUTER E". On
        the story's ``last`` line one word also counts in any case ("reuter") or one letter
        off ("REUTE")."""
        listed = _SLUG_THEN_LIST.match(segment) or (
            "with" in segment and _OUTLET_WITH.match(segment))
        if listed:
            found = self.agency_list(listed["list"])
            return [(listed.start("list") + s, listed.start("list") + e, a)
                    for s, e, a in found] if found else None
        lead = self.registry.credit_lead.match(segment)
        start = lead.end() if lead else 0
        body = segment[start:].rstrip(_DECORATION).lstrip(_DECORATION)
        start = segment.find(body, start) if body else start
        if "/" in body:
            body = body.split("/", 1)[0]  # "WAM/Tariq Alfaham/Hatem Mohamed"
        if not body or len(body) > 80:
            return None
        if body[-1:].isdigit() or body[-2:-1] == "^":
            tail = _TRANSMISSION_TAIL.search(body, 1)
            if tail:
                body = body[:tail.start()]
        found = self.agency_list(body)
        if not found and last and body.isalpha():
            agency = self.registry.lookup(body) if len(body) >= 5 else None
            agency = agency or self.registry.misspelt(body)
            found = [(0, len(body), agency)] if agency else None
        end = body.rstrip()[-2:]  # desk initials end in a capital (_DESK_INITIALS)
        desk = None if found or not ("A" <= end[1:] <= "Z" and (
            end[:1] == " " or "A" <= end[:1] <= "Z")) else _DESK_INITIALS.search(body)
        if desk and desk.start() > 0:
            found = self.agency_list(body[:desk.start()])
        return [(start + s, start + e, a) for s, e, a in found] if found else None

    def contributor_line(self, line: str, start: int) -> bool:
        """"Reporting by A in X; Editing by B", "Editor: X", "(By Teng Pei-ju)",
        "Associated Press writer X contributed to this report."."""
        if _ROLE_LINE.match(line):
            for m in _ROLE.finditer(line):
                role = _ROLE_NAMES.get(" ".join(m["role"].lower().split()), "reporting")
                self.names(m["names"], start + m.start("names"), role, "contributors")
            return True
        label = _LABEL_LINE.match(line)
        if label:
            self.names(label["names"], start + label.start("names"),
                       _ROLE_NAMES[label["role"].lower()], "contributors")
            return True
        if line.lstrip().startswith("(") and self.byline_line(line):
            self.byline(line, "text", None, start)
            return True
        contributed = _CONTRIBUTED.search(line) if "contributed" in line else None
        if contributed is None or len(line) > 300:
            return False
        names, offset = contributed["names"], start + contributed.start("names")
        words = names.split()
        for k in range(min(4, len(words)), 0, -1):
            agency = self.agency(" ".join(words[:k]))
            rest = names.split(words[k - 1], 1)[1] if agency else ""
            writer = _AGENCY_WRITER.match(rest) if agency else None
            if agency is not None and writer is not None:
                at = offset + names.index(words[0])
                self.add(agency, "credit", "contributed", "text", None,
                         at, at + len(" ".join(words[:k])))
                skip = len(names) - len(rest) + writer.end()
                names, offset = names[skip:], offset + skip
                break
        self.names(names, offset, "contributing", "contributed")
        return True

    def credit_phrases(self, line: str, start: int) -> list[tuple[int, int]]:
        """"This report by The Canadian Press ...", "Distributed by Tribune Content Agency"."""
        spans: list[tuple[int, int]] = []
        if " by " not in line:
            return spans
        for s, e, agency in self.registry.find_all(line):
            head = line[:s]
            rule = ("report_by" if _REPORT_BY.search(head)
                    else "copyright" if _DISTRIBUTED.search(head) else None)
            if rule:
                self.add(agency, "credit", rule, "text", None, start + s, start + e)
                spans.append((start + s, start + e))
        return spans

    def names(self, names: str, offset: int, role: str, rule: str) -> None:
        """Split "A in London and B; C" into contributors; an agency among them ("Reuters",
        "Reuters Tokyo bureau", "AFP staff") is a credit. A part without " in " right after
        one with it is the rest of a place ("in Providence, Rhode Island") and is skipped."""
        after_place = False
        for at, part in _parts(names, _NAME_SPLIT):
            bare = part.rstrip(".)").strip()
            has_place = _IN_PLACE.search(bare) is not None
            bare = _IN_PLACE.sub("", bare)
            team = _TEAM.search(bare)
            agency = self.agency(bare[:team.start()] if team else bare)
            if after_place and not has_place and agency is None:
                continue
            after_place = has_place
            if agency is not None:
                length = team.start() if team else len(bare)
                self.add(agency, "credit", rule, "text", None, offset + at, offset + at + length)
            elif _PERSON.match(bare):
                self.contributors.append(Contributor(bare, role))

    # --- cited ----------------------------------------------------------------------------
    def cited(self, text: str, mentions: list[Hit], used: Sequence[tuple[int, int]], field: str,
              index: int | None) -> None:
        """The ``mentions`` (``Registry.find_all`` of ``text``) outside the ``used`` spans
        that a cue marks as a citation."""
        findings = self.findings
        # the used spans lie between these: most mentions are clear of them all
        first, last = (min(used)[0], max(map(itemgetter(1), used))) if used else (0, 0)
        for start, end, agency in mentions:
            if first <= start < last and any(s <= start < e for s, e in used):
                continue
            if self.registry.cited_after.match(text, end, end + 90):
                rule = "cited_verb"
            elif _cue_before(text, start, self.registry.phrases):
                rule = "cited_source"
            else:
                continue
            findings.append(_finding(agency.name, "cited", rule, field, index, start, end, None))

    # --- photo ----------------------------------------------------------------------------
    def photo(self, line: str, credit_line: bool, field: str, index: int | None) -> None:
        """A removed credit line ("PHOTO: AFP", "Photo by Jane Doe/AP", "EPA-EFE/JANE DOE") or
        a removed caption's closing credit ("(Xinhua/Li Yahui)", "| Bloomberg", "... . PHOTO:
        REUTERS", "(AFP)")."""
        if credit_line:
            self.photo_credit(line, 0, field, index)
            return
        if not line.isascii() and _FULL_WIDTH.search(line):
            line = line.translate(_HALF_WIDTH)  # "（Photo／Kyodo）": same length, offsets hold
        lead = _COPYRIGHT_LEAD.match(line) if line[:1] in "IiPp" else None
        label = _CAPTION_LABEL.search(line, lead.end()) if lead else None
        if label is not None:            # "Image copyright Reuters Image caption ..."
            self.photo_credit(line[:label.start()], 0, field, index)
            return
        tail = self.caption_credit(line, lone=True)
        if tail is not None:
            self.photo_credit(*tail, field, index)

    def text_photos(self, lines: _Lines, head: int, used: list[tuple[int, int]],
                    hints: list[int]) -> None:
        """Captions that cleaning left in the text: a paragraph closing with a slashed or
        labelled credit ("... (Xinhua/Li Yahui)", "... ANTARA FOTO/Name/nym."), or, before the
        dateline's paragraph, with a lone "(Kyodo)". ``hints``: where the text has a slash or
        a credit label (ascending offsets)."""
        if not hints and head == 0:
            return  # the common case: nothing that could close a credit
        text = lines.text
        last_hints = {}  # line end -> the last hint in that line
        for at in hints:
            end = text.find("\n", at)
            last_hints[len(text) if end < 0 else end] = at
        candidates = dict(lines.first(head))
        for end, at in last_hints.items():
            if at >= end - 140:  # else the slash or label is too far from the line's end
                start = text.rfind("\n", 0, at) + 1
                candidates[start] = text[start:end]
        body = lines.get(head)  # the first line after the head
        for start in sorted(candidates):
            line = candidates[start]
            in_head = body is None or start < body[0]
            if _JUNK_LINE.match(line) or any(s <= start + len(line) - 1 < e for s, e in used):
                continue
            tail = self.caption_credit(line, lone=in_head, strict=True)
            if tail is not None:
                self.photo_credit(tail[0], start + tail[1], "text", None)

    def caption_credit(self, line: str, lone: bool, strict: bool = False) -> tuple[str, int] | None:
        """The credit closing a caption and its offset, if there is one: "(Xinhua/Li Yahui)",
        "[Mahmud Hams/AFP]", "| Bloomberg", "... . PHOTO: REUTERS", "... . ANTARA
        FOTO/Name/nym.". ``lone`` also accepts a bare agency ("(AFP)", "| Bloomberg", ". Getty
        Images"); ``strict`` wants a slash or a label ("Photo:") even inside brackets."""
        end = len(line.rstrip(" ."))
        marker = line.rfind("==", 0, end)  # "(Kyodo) ==Kyodo"
        if marker > 0 and line[marker + 2:end].isalpha():
            end = len(line[:marker].rstrip(" ."))
        if end < 3:
            return None
        if line[end - 1] in ")]":
            start = line.rfind("(" if line[end - 1] == ")" else "[", 0, end - 1) + 1
            bracketed = True
        else:
            start = _last_break(line, 0, end, _CAPTION_BREAK_REVERSED)
            if start == 0 and lone:     # "... on Monday.AFP": a credit glued to the caption
                glued = _GLUED_CREDIT.search(line, max(0, end - 60), end)
                start = glued.end() if glued else 0
            bracketed = False
        credit = line[start:end - bracketed].strip()
        if not credit or len(credit) > 100:
            return None
        start = line.find(credit, start)
        parts = _parts(credit, self.registry.photo_split) if "/" in credit else []
        labelled = _PHOTO_LEAD.match(credit) is not None or (
            len(parts) > 1 and any(self.agency_list(_PHOTO_WORDS.sub("", p.strip(" .")))
                                   for _, p in parts))
        if labelled:
            return credit, start
        if not lone or (strict and not bracketed) or (not bracketed and start == 0):
            return None
        if self.agency_list(credit) is not None or (bracketed and " - " in credit):
            return credit, start
        name, comma, agency = credit.rpartition(",")   # "... storm. Jane Doe, AP"
        if comma and _looks_like_person(name.strip()) and self.agency_list(agency.strip()):
            return credit, start
        return None

    def photo_credit(self, credit: str, offset: int, field: str, index: int | None) -> None:
        """Agencies and photographer of one credit: "Cecilia Fabiano/LaPresse via ZUMA
        Press/dpa", "AP Photo/J. Scott Applewhite", "Arif Hudaverdi Yaman - Anadolu Agency"."""
        lead = _PHOTO_LEAD.match(credit)
        if lead:
            offset += lead.end()
            credit = credit[lead.end():]
        credit = without_picture_date(credit)  # "CNA photo Jan. 13, 2025"
        hits: list[Hit] = []
        photographer = None
        for at, part in _parts(credit, self.registry.photo_split):
            bare = part.strip(" .()[]")
            at += offset + part.find(bare)
            unlabelled = _PHOTO_WORDS.sub("", bare)  # "Xinhua Photo": "Xinhua"
            agencies = self.agency_list(bare) or (
                self.agency_list(unlabelled) if unlabelled != bare else None)
            if agencies:
                hits.extend((at + s, at + e, a) for s, e, a in agencies)
            elif photographer is None and _looks_like_person(bare):
                photographer = bare
        for s, e, agency in hits:
            self.add(agency, "photo", "photo_credit", field, index, s, e, photographer)
