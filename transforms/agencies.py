"""News-agency registry: canonical names, spellings, country and kind, kept as data.

The default registry is ``transforms/data/agencies.json``; a user file of the same shape
extends it (new names) or overrides it (an entry whose ``name`` is already known replaces
that entry). ``Registry.find_all`` finds every alias in one Aho-Corasick pass over the text
(ahocorasick_rs, over the text encoded one byte per character so that its offsets are the
text's), then checks word boundaries and guards only at the few places where an alias occurs.
``Registry.find_all_marked`` gives, from that same pass, where other strings (a caller's
markers) occur.

Matching rules:
- An alias matches as written, in ALL CAPS, and (multi-word aliases) in Title Case or with
  only its first word as written ("Fars news agency"); all-caps acronyms match only in caps.
- Aliases match on word boundaries (aliases written in CJK scripts need none).
- A *guarded* alias (an acronym or word with another common meaning: ``AP``, ``PTI``,
  ``SPA``, ``EPA``, ``Bloomberg``...) counts only in an agency-like context: a cue phrase
  before it ("according to", "news agency", "Photo:") or after it ("reported", "news
  agency"), a slash ("Jane Doe/AP", "tca/dpa"), parentheses that are not an acronym's
  expansion ("(PTI)" yes, "Pakistan Tehreek-e-Insaf (PTI)" no), or a sign-off position
  (alone at the end of the text or of a line).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick_rs
import orjson

from transforms.spelling import one_edit_apart

DEFAULT_PATH = Path(__file__).parent / "data" / "agencies.json"
KINDS = ("wire", "state_media", "photo", "broadcaster")
_TOP_KEYS = {"format", "about", "guard_cues", "other_name_words", "phrases", "agencies"}
#: The kinds of phrase each language of ``phrases`` may give (see agencies.json).
PHRASE_KINDS = ("citation_verbs", "citation_cues", "articles", "descriptors", "credit_leads", "byline_leads",
                "list_words", "via")
_ENTRY_KEYS = {"name", "full_name", "aliases", "guarded", "country", "kind"}
_COUNTRY = re.compile(r"[A-Z]{2}")
# Scripts written without spaces between words: aliases in them need no word boundary.
_NO_SPACE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WORD = re.compile(r"\w")
_WORDS = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")  # "Aam Aadmi Party's": for initials
_EXPANSION_STOPWORDS = frozenset({"of", "and", "the", "for", "de", "e", "&", "du", "la", "des"})


class RegistryError(ValueError):
    """An agency registry file is malformed: the message names the file, entry and problem."""


@dataclass(frozen=True, slots=True)
class Agency:
    name: str  # canonical: "Reuters", "AP", "AFP", "TASS", "KCNA", "Xinhua", "dpa", ...
    full_name: str
    aliases: tuple[str, ...]  # other spellings: "Reuter", "Associated Press", "新华社", ...
    country: str | None  # ISO 3166-1 alpha-2
    kind: str  # one of KINDS
    guarded: tuple[str, ...] = ()  # aliases (or the name) that need an agency-like context


@dataclass(frozen=True, slots=True)
class Phrases:
    """The attribution phrases of every language of a registry, merged (lower case)."""

    citation_verbs: tuple[str, ...]
    citation_cues: frozenset[tuple[str, ...]]  # as words: ("according", "to")
    cue_ends: frozenset[str]  # the last words of the cues
    articles: tuple[str, ...]
    descriptors: frozenset[str]  # the articles among them
    credit_leads: tuple[str, ...]
    byline_leads: tuple[str, ...]
    list_words: tuple[str, ...]
    via: tuple[str, ...]

    @classmethod
    def of(cls, by_language: dict[str, dict[str, list[str]]]) -> Phrases:
        merged: dict[str, dict[str, None]] = {kind: {} for kind in PHRASE_KINDS}
        for phrases in by_language.values():
            for kind, items in phrases.items():
                merged[kind].update(dict.fromkeys(" ".join(i.lower().split()) for i in items))
        return cls(citation_verbs=tuple(merged["citation_verbs"]),
                   citation_cues=frozenset(tuple(c.split()) for c in merged["citation_cues"]),
                   cue_ends=frozenset(c.split()[-1] for c in merged["citation_cues"]),
                   articles=tuple(merged["articles"]),
                   descriptors=frozenset(merged["descriptors"]) | frozenset(merged["articles"]),
                   credit_leads=tuple(merged["credit_leads"]),
                   byline_leads=tuple(merged["byline_leads"]),
                   list_words=tuple(merged["list_words"]), via=tuple(merged["via"]))


@dataclass(frozen=True, slots=True)
class _Form:
    agency: Agency
    guarded: bool
    left_boundary: bool
    right_boundary: bool
    acronym: str | None  # the letters of an all-caps form, for the expansion check


class Registry:
    """A set of agencies with case-insensitive lookup and a fast in-text finder."""

    def __init__(self, agencies: tuple[Agency, ...], before_cues: tuple[str, ...],
                 after_cues: tuple[str, ...], other_name_words: tuple[str, ...] = (),
                 phrases: Phrases | None = None) -> None:
        self.agencies = agencies
        self.phrases = phrases = phrases or Phrases.of({})
        # Compiled from the phrases, for transforms.attribution: what opens a closing credit
        # line ("With inputs from", "Quelle:"), a byline ("By", "Por"), what joins a list of
        # agencies ("and", "y") and a photographer to an agency ("via", "vía").
        self.credit_lead = re.compile(
            r"^[\s\-–—=_(\[]*(?:" + _alternation(phrases.credit_leads)
            + r")(?:\s*[•:])?\s*" if phrases.credit_leads else r"(?!)", re.IGNORECASE)
        self.byline_lead = re.compile(
            r"^\s*\(?\s*(?:" + _alternation(phrases.byline_leads)
            + r")(?:\s*:)?\s+" if phrases.byline_leads else r"(?!)", re.IGNORECASE)
        self.list_word = re.compile(  # a word joining a list, between spaces: " and ", " y "
            rf"\s(?:{_alternation(phrases.list_words)})\s" if phrases.list_words else r"(?!)")
        self.list_split = re.compile(
            r"\s*(?:[,;&]" + (rf"|\b(?:{_alternation(phrases.list_words)})\b"
                              if phrases.list_words else "") + r")\s*")
        self.photo_split = re.compile(
            r"\s*(?:[/|;,]|\s+(?:[-–—]" + (f"|{_alternation(phrases.via)}" if phrases.via else "")
            + r")\s+)\s*")
        # After a mention: what makes it a citation ("Xinhua reported", "a Reuters poll",
        # "Yonhap news agency said on Monday", "dpa meldete").
        self.cited_after = re.compile(
            r"(?:\s*\([^()]{2,12}\))?"  # "Qatar News Agency (QNA) reported"
            r"(?:['’]s(?:\s+[A-Z][\w.'’-]*){0,3})?"  # "Xinhua's report", "Bloomberg's Mark Gurman"
            r"(?:\s+(?:state\s+)?(?:news\s+)?(?:agency|service|wire|television|TV|broadcaster|"
            r"newspaper|daily|news|media))?"
            r"(?:\s+(?:poll|survey|tally|calculations?|analysis|count|estimates?|review|"
            r"investigation|report)s?\b"
            r"|,?(?:\s+(?:also|earlier|later|previously|separately|on\s+\w+|late\s+\w+|"
            r"last\s+\w+|this\s+\w+|today|yesterday|in\s+a\s+(?:report|statement|dispatch|"
            r"commentary)))*,?\s+(?:"
            + (_alternation(phrases.citation_verbs) if phrases.citation_verbs else "(?!)")
            + r")\b)")
        articles = phrases.articles
        self._by_alias: dict[str, Agency] = {}
        self._forms: dict[str, _Form] = {}
        for agency in agencies:
            guarded = set(agency.guarded)
            for alias in (agency.name, *agency.aliases):
                self._by_alias[_fold(alias)] = agency
                for form in _written_forms(alias):
                    if form in self._forms and self._forms[form].agency is agency:
                        continue  # an explicit spelling wins over a generated variant
                    self._forms[form] = _Form(
                        agency=agency,
                        guarded=alias in guarded or form in guarded,
                        left_boundary=_needs_boundary(form[0]),
                        right_boundary=_needs_boundary(form[-1]),
                        acronym=form if _is_acronym(form) else None,
                    )
        self._patterns, self._pattern_forms = _skeletons(self._forms)
        self._finder = _automaton(self._patterns)
        self._marked: dict[tuple[str, ...], ahocorasick_rs.BytesAhoCorasick] = {}
        self._one_word_names: tuple[tuple[str, Agency], ...] | None = None  # for misspelt()
        # A cue right before a mention, matched on the reversed text before it (a regex
        # search for a cue at the end of a window would try every position of the window).
        # The newline is where "$" of "cue[\s,:...]{0,3}$" could also match.
        # A citation cue is a guard cue too; an article may stand between ("told the AP",
        # "gegenüber der dpa", "à l'AFP").
        before_cues = tuple(dict.fromkeys(
            (*before_cues, *(" ".join(cue) for cue in phrases.citation_cues))))
        self._before_reversed = re.compile(
            r"\n?[\s,:\"“”'‘’(]{0,3}"
            + (r"(?:(?:" + _alternation([a[::-1] for a in articles]) + r")\s*)?"
               if articles else "")
            + r"(?:" + _alternation([c[::-1] for c in before_cues]) + r")(?!\w)", re.IGNORECASE)
        # A capitalised word right after a mention that makes it part of another name: "the
        # Reuters Institute", "the Bloomberg School" (None: no such words).
        self._other_name = re.compile(
            r"[ \t]+(?:" + "|".join(map(re.escape, other_name_words)) + r")\b"
        ) if other_name_words else None
        self._after = re.compile(  # "Bloomberg's Mark Gurman reports" allows a reporter's name
            r"(?:['’]s(?:\s+[A-Z][\w.'’-]*){1,3})?[\s,:]{0,3}(?i:"
            + _alternation(after_cues) + r")(?!\w)")

    def __len__(self) -> int:
        return len(self.agencies)

    def lookup(self, name: str) -> Agency | None:
        """The agency one of whose aliases is ``name`` (case-insensitive, spaces normalised)."""
        key = _fold(name)
        found = self._by_alias.get(key)
        if found is None and key.startswith("the "):
            found = self._by_alias.get(key[4:])
        return found

    def names_another(self, text: str, end: int) -> bool:
        """Whether a capitalised word right after ``end`` makes the name before it part of
        another one (``other_name_words``: "the Reuters Institute", "LONDON Stock
        Exchange")."""
        return self._other_name is not None and self._other_name.match(text, end) is not None

    def misspelt(self, word: str) -> Agency | None:
        """The agency one of whose one-word names of five letters or more, not guarded, is
        ``word`` give or take one letter (``REUTE``, ``REUITER``, ``RUTER``: Reuters), when
        only one agency is that near; for a closing sign-off, where nothing else stands."""
        key = _fold(word)
        if len(key) < 5 or not key.isalpha():
            return None
        near = {agency for alias, agency in self._near_names()
                if abs(len(alias) - len(key)) <= 1 and one_edit_apart(key, alias)}
        return near.pop() if len(near) == 1 else None

    def _near_names(self) -> tuple[tuple[str, Agency], ...]:
        if self._one_word_names is None:
            self._one_word_names = tuple(
                (key, agency) for agency in self.agencies
                for alias in (agency.name, *agency.aliases)
                if len(key := _fold(alias)) >= 5 and key.isalpha()
                and alias not in agency.guarded)
        return self._one_word_names

    def spelled(self, text: str) -> Agency | None:
        """The agency written exactly as ``text`` in one of the spellings ``find_all`` matches
        ("REUTERS", "dpa", "Fars news agency"; not "app" for APP), ignoring guards."""
        form = self._forms.get(text.strip())
        return form.agency if form else None

    def find_all(self, text: str) -> list[tuple[int, int, Agency]]:
        """Alias occurrences ``(start, end, agency)`` in text order; where spellings overlap
        ("Reuters" / "Reuter", "EPA-EFE" / "EFE") the leftmost, then longest one wins.

        An acronym that the text defines as something else ("Australian Federal Police
        (AFP)") is treated as guarded everywhere in that text; a guarded acronym whose agency
        the text names in full ("the Saudi Press Agency ... SPA said") needs no cue there."""
        matches = self._finder.find_matches_as_indexes(_skeleton(text), overlapping=True)
        return self._find(text, matches, (), [])

    def find_all_marked(self, text: str, markers: tuple[str, ...]
                        ) -> tuple[list[tuple[int, int, Agency]], list[int]]:
        """``find_all(text)`` and, from the same single pass over the text, the start offsets
        (ascending) of every occurrence of each of ``markers``: plain substrings, no word
        boundaries ("/", "Photo"). The automaton for a set of markers is built once."""
        finder = self._marked.get(markers)
        if finder is None:
            finder = self._marked[markers] = _automaton(
                [*self._patterns, *map(_skeleton, markers)])
        marks: list[int] = []
        found = self._find(text, finder.find_matches_as_indexes(_skeleton(text), overlapping=True),
                           markers, marks)
        marks.sort()
        return found, marks

    def _find(self, text: str, matches: list[tuple[int, int, int]], markers: tuple[str, ...],
              marks: list[int]) -> list[tuple[int, int, Agency]]:
        """``find_all`` over the automaton's matches (pattern index, start, end) in ``text``;
        the starts of the patterns past the forms' that are ``markers`` go to ``marks``."""
        if not matches:
            return []
        forms = self._forms
        pattern_forms = self._pattern_forms
        count = len(pattern_forms)
        size = len(text)
        candidates = []  # (start, -end, number in picked): leftmost, then longest first
        picked: list[_Form] = []
        redefined: set[str] = set()
        named: set[str] = set()
        for index, start, end in matches:
            if index >= count:
                if text[start:end] == markers[index - count]:
                    marks.append(start)
                continue
            form = pattern_forms[index]
            if form is None:  # a skeleton: which form, if any, is written there
                form = forms.get(text[start:end])
                if form is None:
                    continue
            if form.left_boundary and start:
                ch = text[start - 1]
                if ch.isalnum() or ch == "_":
                    continue
            if form.right_boundary and end < size:
                ch = text[end]
                if ch.isalnum() or ch == "_":
                    continue
                if (ch == " " and self._other_name is not None and end + 1 < size
                        and text[end + 1].isupper() and self._other_name.match(text, end)):
                    continue  # "Reuters Institute": another organisation's name
            if (form.acronym and start and text[start - 1] == "(" and text.startswith(")", end)
                    and self._is_expansion(text, start - 1, form)):
                redefined.add(form.acronym)
                continue
            if not form.guarded and not form.acronym:
                named.add(form.agency.name)
            candidates.append((start, -end, len(picked)))
            picked.append(form)
        candidates.sort()
        found: list[tuple[int, int, Agency]] = []
        covered = 0
        for start, neg_end, number in candidates:
            if start < covered:
                continue
            end = -neg_end
            form = picked[number]
            if form.acronym in redefined:
                needs_cue = True
            else:
                needs_cue = form.guarded and not (form.acronym and form.agency.name in named)
            if needs_cue and not self._agency_context(text, start, end, form):
                continue
            found.append((start, end, form.agency))
            covered = end
        return found

    def _agency_context(self, text: str, start: int, end: int, form: _Form) -> bool:
        left = start
        while left > 0 and text[left - 1] in " \t":
            left -= 1
        right = end
        while right < len(text) and text[right] in " \t":
            right += 1
        before = text[left - 1] if left else "\n"
        after = text[right] if right < len(text) else "\n"
        if before == "/" or after == "/":
            return True
        if before == "(" and after == ")":
            return not self._is_expansion(text, left - 1, form)
        if after in "\r\n" and (before in "\r\n.!?\"”’)—–-_" or text.endswith("--", 0, left)):
            return True  # sign-off: "... ministry. PAP", "— AP" at the end of a line
        if self._after.match(text, end, end + 40):
            return True
        return self._cue_before(text, start)

    def _cue_before(self, text: str, start: int) -> bool:
        """Whether one of the registry's "before" cues, on no word's tail, ends at most three
        spaces or quotes before ``start``, within 40 characters."""
        if start <= 40:
            return self._before_reversed.match(text[start - 1::-1] if start else "") is not None
        # the window's reversal, then one character standing for the one before the window:
        # "_" (a word character no cue has) or " " (no cue starts or ends with a space)
        outside = "_" if _WORD.match(text, start - 41) else " "
        return self._before_reversed.match(text[start - 1:start - 41:-1] + outside) is not None

    def _is_expansion(self, text: str, paren: int, form: _Form) -> bool:
        """True when "(XYZ)" spells the initials of the words before it (and is not the
        agency's own full name): "Aam Aadmi Party (AAP)", "Environmental Protection Agency
        (EPA)"."""
        if form.acronym is None:
            return False
        window = text[max(0, paren - 120):paren].rstrip()
        folded = _fold(window)
        agency = form.agency
        if any(folded.endswith(_fold(a)) for a in (agency.full_name, *agency.aliases) if " " in a):
            return False
        initials: list[str] = []
        for word in reversed(_WORDS.findall(window)):
            if len(initials) == len(form.acronym):
                break
            if word[0].isupper():
                initials.append(word[0])
            elif word.lower() not in _EXPANSION_STOPWORDS:
                break
        return "".join(reversed(initials)) == form.acronym


def _skeleton(s: str) -> bytes:
    """``s`` one byte per character: ASCII as is, "?" for any other character."""
    return s.encode("ascii", "replace")


def _skeletons(forms: dict[str, _Form]) -> tuple[list[bytes], list[_Form | None]]:
    """The automaton's patterns for ``forms`` (their skeletons, each once) and the form of
    each, or None where the text under a match must be looked up: a skeleton of a form with
    characters outside ASCII ("???" for "新华社") may stand for other forms and other text."""
    patterns: list[bytes] = []
    owners: list[_Form | None] = []
    seen: dict[bytes, int] = {}
    for text, form in forms.items():
        skeleton = _skeleton(text)
        if skeleton in seen:
            owners[seen[skeleton]] = None
            continue
        seen[skeleton] = len(patterns)
        patterns.append(skeleton)
        owners.append(form if text.isascii() and "?" not in text else None)
    return patterns, owners


def _automaton(patterns: list[bytes]) -> ahocorasick_rs.BytesAhoCorasick:
    return ahocorasick_rs.BytesAhoCorasick(
        patterns, matchkind=ahocorasick_rs.MatchKind.Standard,
        implementation=ahocorasick_rs.Implementation.DFA)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _needs_boundary(ch: str) -> bool:
    """Aliases must start/end on a word boundary, except at a character of a script
    written without spaces (CJK) or at punctuation ("Bloomberg L.P.")."""
    return _is_word_char(ch) and not _NO_SPACE_SCRIPT.match(ch)


def _fold(s: str) -> str:
    return " ".join(s.split()).casefold()


def _is_acronym(s: str) -> bool:
    letters = [c for c in s if c.isalpha()]
    return (bool(letters) and all(c.isupper() for c in letters) and len(letters) <= 6
            and " " not in s)


def _written_forms(alias: str) -> tuple[str, ...]:
    """The spellings matched in text for one alias (see the module docstring)."""
    forms = [alias]
    if not _is_acronym(alias):
        forms.append(alias.upper())
        words = alias.split(" ")
        if len(words) > 1:
            forms.append(" ".join(w[:1].upper() + w[1:] for w in words))
            forms.append(" ".join([words[0], *(w.lower() for w in words[1:])]))
    return tuple(dict.fromkeys(forms))


def _alternation(cues: Iterable[str]) -> str:
    """A regex for any of ``cues`` (the words of one separated by any whitespace), written
    as a tree of their common beginnings: where no cue fits, a failing match tries each
    character once rather than each cue ("agency", "agencia", "agence" share "agenc").
    Only whether the regexes using it match is ever asked, so the order of the cues
    (which of two that both fit is tried first) makes no difference."""
    tree: dict[str, dict] = {}
    for cue in cues:
        node = tree
        for k, word in enumerate(cue.split()):
            for token in ([r"\s+"] if k else []) + [re.escape(ch) for ch in word]:
                node = node.setdefault(token, {})
        node[""] = {}  # a cue ends here
    return _branches(tree)


def _branches(node: dict[str, dict]) -> str:
    """The regex of one node of ``_alternation``'s tree: its branches, optional where a
    cue ends at the node."""
    branches = [token + _branches(child) for token, child in node.items() if token]
    if not branches:
        return ""
    body = branches[0] if len(node) == 1 else "(?:" + "|".join(branches) + ")"
    return body + "?" if "" in node else body


@dataclass(frozen=True, slots=True)
class _Document:
    """What one registry file holds."""

    agencies: list[Agency]
    before: list[str]
    after: list[str]
    other_name_words: list[str]
    phrases: dict[str, dict[str, list[str]]]


def _parse(data: Any, source: str) -> _Document:
    """Validate a registry document; every problem names the file and the entry."""
    if not isinstance(data, dict):
        raise RegistryError(f"{source}: expected a JSON object with an 'agencies' list")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RegistryError(f"{source}: unknown top-level keys {sorted(unknown)}; "
                            f"accepted: {sorted(_TOP_KEYS)}")
    if data.get("format", 1) != 1:
        raise RegistryError(f"{source}: format {data['format']!r} is not supported (expected 1)")
    cues = data.get("guard_cues", {})
    if not isinstance(cues, dict) or set(cues) - {"before", "after"}:
        raise RegistryError(f"{source}: 'guard_cues' must be an object with 'before' and/or "
                            "'after' lists of phrases")
    for side in ("before", "after"):
        if not _is_str_list(cues.get(side, [])):
            raise RegistryError(f"{source}: guard_cues.{side} must be a list of non-empty strings")
    other_name_words = data.get("other_name_words", [])
    if not _is_str_list(other_name_words):
        raise RegistryError(f"{source}: 'other_name_words' must be a list of non-empty strings")
    phrases = _parse_phrases(data.get("phrases", {}), source)
    entries = data.get("agencies")
    if not isinstance(entries, list):
        raise RegistryError(f"{source}: 'agencies' must be a list of agency objects")
    agencies: list[Agency] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"{source}: agencies[{i}]"
        if not isinstance(entry, dict):
            raise RegistryError(f"{where}: expected an object, got {type(entry).__name__}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RegistryError(f"{where}: 'name' must be a non-empty string")
        where = f"{where} ({name!r})"
        problems = []
        if set(entry) - _ENTRY_KEYS:
            problems.append(f"unknown keys {sorted(set(entry) - _ENTRY_KEYS)}; "
                            f"accepted: {sorted(_ENTRY_KEYS)}")
        if not isinstance(entry.get("full_name"), str) or not entry["full_name"].strip():
            problems.append("'full_name' must be a non-empty string")
        aliases = entry.get("aliases", [])
        if not _is_str_list(aliases):
            problems.append("'aliases' must be a list of non-empty strings")
            aliases = []
        guarded = entry.get("guarded", [])
        if not _is_str_list(guarded):
            problems.append("'guarded' must be a list of non-empty strings")
        elif set(guarded) - {name, *aliases}:
            problems.append(f"'guarded' lists {sorted(set(guarded) - {name, *aliases})} which "
                            "are neither the name nor an alias")
        country = entry.get("country")
        if country is not None and not (isinstance(country, str) and _COUNTRY.fullmatch(country)):
            problems.append(f"country {country!r} is not an ISO 3166-1 alpha-2 code "
                            "(two capital letters) or null")
        if entry.get("kind") not in KINDS:
            problems.append(f"kind {entry.get('kind')!r} is not one of {list(KINDS)}")
        if name in seen:
            problems.append(f"name repeats agencies[{seen[name]}]")
        if problems:
            raise RegistryError(f"{where}: " + "; ".join(problems))
        seen[name] = i
        agencies.append(Agency(name=name, full_name=entry["full_name"],
                               aliases=tuple(dict.fromkeys(aliases)), country=country,
                               kind=entry["kind"], guarded=tuple(guarded)))
    return _Document(agencies, list(cues.get("before", [])), list(cues.get("after", [])),
                     list(other_name_words), phrases)


def _parse_phrases(data: Any, source: str) -> dict[str, dict[str, list[str]]]:
    """``phrases``: {"about": text, language code: {kind: [phrase, ...]}}."""
    if not isinstance(data, dict):
        raise RegistryError(f"{source}: 'phrases' must be an object of languages")
    out = {}
    for language, kinds in data.items():
        if language == "about":
            continue
        where = f"{source}: phrases.{language}"
        if not isinstance(kinds, dict):
            raise RegistryError(f"{where}: expected an object of phrase lists")
        unknown = set(kinds) - set(PHRASE_KINDS)
        if unknown:
            raise RegistryError(f"{where}: unknown kinds {sorted(unknown)}; accepted: "
                                f"{list(PHRASE_KINDS)}")
        for kind, items in kinds.items():
            if not _is_str_list(items):
                raise RegistryError(f"{where}.{kind}: must be a list of non-empty strings")
        out[language] = kinds
    return out


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _read(path: Path) -> _Document:
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read agency registry: {exc.strerror}") from exc
    except orjson.JSONDecodeError as exc:
        raise RegistryError(f"{path}: not valid JSON: {exc}") from exc
    return _parse(data, str(path))


def _merge(base: list[Agency], extra: list[Agency], source: str) -> tuple[Agency, ...]:
    """Extra entries replace same-named base entries or are appended; every alias must then
    belong to one agency only."""
    by_name = {a.name: a for a in base}
    for agency in extra:
        by_name[agency.name] = agency
    owner: dict[str, str] = {}
    for agency in by_name.values():
        for alias in dict.fromkeys(_fold(a) for a in (agency.name, *agency.aliases)):
            other = owner.setdefault(alias, agency.name)
            if other != agency.name:
                culprit = agency.name if any(a.name == agency.name for a in extra) else other
                raise RegistryError(
                    f"{source}: agency {culprit!r}: alias {alias!r} also belongs to "
                    f"{(other if culprit == agency.name else agency.name)!r}; remove it from one "
                    "of them (an entry with the same name overrides a default one)")
    return tuple(by_name.values())


@functools.cache
def default_registry() -> Registry:
    """The shipped registry, loaded once per process."""
    doc = _read(DEFAULT_PATH)
    return Registry(_merge([], doc.agencies, str(DEFAULT_PATH)), tuple(doc.before),
                    tuple(doc.after), tuple(doc.other_name_words), Phrases.of(doc.phrases))


def load_registry(extra_path: str | os.PathLike[str] | None = None) -> Registry:
    """The default registry, extended/overridden by the JSON file at ``extra_path``.

    Cached per path, so calling it per story costs a dictionary lookup.
    Raises RegistryError naming the file, the entry and the problem.
    """
    if extra_path is None:
        return default_registry()
    return _load_extended(str(Path(extra_path).resolve()))


@functools.lru_cache(maxsize=8)
def _load_extended(path: str) -> Registry:
    base, extra = _read(DEFAULT_PATH), _read(Path(path))
    return Registry(_merge(base.agencies, extra.agencies, path),
                    tuple(dict.fromkeys(base.before + extra.before)),
                    tuple(dict.fromkeys(base.after + extra.after)),
                    tuple(dict.fromkeys(base.other_name_words + extra.other_name_words)),
                    Phrases.of({**{f"base {k}": v for k, v in base.phrases.items()},
                                **{f"extra {k}": v for k, v in extra.phrases.items()}}))
