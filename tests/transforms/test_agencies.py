"""Agency registry: shipped data, lookup, in-text finding with guards, user files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from transforms.agencies import (
    KINDS,
    Agency,
    RegistryError,
    _alternation,
    default_registry,
    load_registry,
)

# The agencies a desk meets most (issue 3): each must resolve from the spelling given.
REQUIRED = {
    "Reuters": "Reuters", "Associated Press": "AP", "AFP": "AFP", "Bloomberg": "Bloomberg",
    "dpa": "dpa", "EFE": "EFE", "ANSA": "ANSA", "TASS": "TASS", "RIA Novosti": "RIA Novosti",
    "Interfax": "Interfax", "Xinhua": "Xinhua", "KCNA": "KCNA", "Yonhap": "Yonhap",
    "Kyodo": "Kyodo", "Jiji Press": "Jiji", "PTI": "PTI", "ANI": "ANI", "IANS": "IANS",
    "Bernama": "Bernama", "Antara": "Antara", "PNA": "PNA", "VNA": "VNA", "UPI": "UPI",
    "Anadolu Agency": "Anadolu", "IRNA": "IRNA", "WAM": "WAM", "SPA": "SPA", "MENA": "MENA",
    "APA": "APA", "PAP": "PAP", "CTK": "CTK", "Ukrinform": "Ukrinform",
    "Central News Agency": "CNA", "Sputnik": "Sputnik", "Prensa Latina": "Prensa Latina",
    "Notimex": "Notimex", "AAP": "AAP", "Lusa": "Lusa", "Agência Brasil": "Agência Brasil",
    "Belga": "Belga", "ANP": "ANP", "NTB": "NTB", "TT": "TT", "STT": "STT", "Ritzau": "Ritzau",
    "MTI": "MTI", "BTA": "BTA", "Tanjug": "Tanjug", "HINA": "HINA", "Agerpres": "Agerpres",
    "Petra": "Petra", "QNA": "QNA", "KUNA": "KUNA", "BNA": "BNA", "ONA": "ONA", "Saba": "Saba",
    "SANA": "SANA", "NNA": "NNA", "APP": "APP", "BSS": "BSS", "RSS": "RSS",
    # spellings
    "Reuter": "Reuters", "Thomson Reuters": "Reuters", "Agence France-Presse": "AFP",
    "Korean Central News Agency": "KCNA", "新华社": "Xinhua", "연합뉴스": "Yonhap",
    "ТАСС": "TASS", "ITAR-TASS": "TASS", "Press Trust of India": "PTI", "ČTK": "CTK",
    "Deutsche Presse-Agentur": "dpa", "Getty Images": "Getty Images", "ZUMA": "ZUMA",
    "REX/Shutterstock": "Shutterstock", "EPA-EFE": "EPA", "Anadolu": "Anadolu",
}


@pytest.mark.parametrize("spelling,name", REQUIRED.items())
def test_required_agencies_resolve(spelling: str, name: str) -> None:
    agency = default_registry().lookup(spelling)
    assert agency is not None and agency.name == name


def test_shipped_registry_is_well_formed() -> None:
    registry = default_registry()
    assert len(registry) >= 100
    for agency in registry.agencies:
        assert agency.kind in KINDS
        assert agency.country is None or (len(agency.country) == 2 and agency.country.isupper())
        assert set(agency.guarded) <= {agency.name, *agency.aliases}
    kinds = {a.name: a.kind for a in registry.agencies}
    assert kinds["KCNA"] == "state_media" and kinds["Reuters"] == "wire"
    assert kinds["Getty Images"] == "photo" and kinds["ZUMA"] == "photo"


def test_lookup_is_case_and_space_insensitive() -> None:
    registry = default_registry()
    assert registry.lookup("associated  PRESS").name == "AP"
    assert registry.lookup("The Associated Press").name == "AP"
    assert registry.lookup("the AP").name == "AP"
    assert registry.lookup("DPA").name == "dpa"
    assert registry.lookup("Jane Doe") is None
    assert registry.lookup("") is None


FIND = [
    # (text, [(matched text, canonical), ...])
    ("LONDON, Oct 17 (Reuters) - Shares rose", [("Reuters", "Reuters")]),
    ("the Foreign Ministry. REUTERS", [("REUTERS", "Reuters")]),
    ("reported the TASS news agency.", [("TASS", "TASS")]),
    ("according to North Korea's state media KCNA", [("KCNA", "KCNA")]),
    ("据新华社报道，", [("新华社", "Xinhua")]),
    ("연합뉴스에 따르면", [("연합뉴스", "Yonhap")]),
    ("сообщает ТАСС.", [("ТАСС", "TASS")]),
    ("Agence France-Presse said", [("Agence France-Presse", "AFP")]),
    ("the Associated Press reported", [("Associated Press", "AP")]),
    ("Fars news agency said", [("Fars news agency", "Fars")]),
    ("AFP’s correspondent", [("AFP", "AFP")]),
    ("EPA-EFE/JANE DOE", [("EPA-EFE", "EPA")]),
    ("ZUMA/REX", [("ZUMA", "ZUMA"), ("REX", "Shutterstock")]),
    ("Denver (tca/dpa) - Snow fell", [("tca", "TCA"), ("dpa", "dpa")]),
    ("Bloomberg L.P. said", [("Bloomberg L.P.", "Bloomberg")]),
    # guarded aliases in an agency-like context
    ("WASHINGTON (AP) — The bill", [("AP", "AP")]),
    ("NEW DELHI (PTI): The court", [("PTI", "PTI")]),
    ("Press Trust of India (PTI) said", [("Press Trust of India", "PTI"), ("PTI", "PTI")]),
    ("the official Saudi Press Agency (SPA) said", [("Saudi Press Agency", "SPA"), ("SPA", "SPA")]),
    ("state news agency SPA said", [("SPA", "SPA")]),
    ("Egypt's state news agency MENA reported", [("MENA", "MENA")]),
    ("MENA reported that", [("MENA", "MENA")]),
    ("told Bloomberg in an interview", [("Bloomberg", "Bloomberg")]),
    ("Photo by Jane Doe/AP", [("AP", "AP")]),
    ("the Foreign Ministry said.\n— AP", [("AP", "AP")]),
    ("in the capital. PAP", [("PAP", "PAP")]),
    ("(Photo: EPA)", [("EPA", "EPA")]),
    # ordinary words and other meanings
    ("a day at the spa and a Pap smear", []),
    ("The AP Stylebook says", []),
    ("Pakistan Tehreek-e-Insaf (PTI) leader Imran Khan", []),
    ("the Aam Aadmi Party (AAP) won Delhi", []),
    ("Environmental Protection Agency (EPA) rules", []),
    ("the People's Action Party (PAP) won", []),
    ("growth in the MENA region", []),
    ("payments over UPI rose", []),
    ("Michael Bloomberg said", []),
    ("the Sputnik V vaccine", []),
    ("former president Jacob Zuma", []),
    ("the ancient city of Petra", []),
    ("Reutersville residents", []),
    ("JAKARTA/SEOUL – Mr Sung Kim", []),
    ("wam bam", []),
    # a text that defines an acronym otherwise makes it guarded; one that names the agency
    # in full makes its acronym plain
    ("Australian Federal Police (AFP) officers. AFP Commander Kate Ryan said", []),
    ("SYDNEY (AFP) - Australian Federal Police (AFP) officers said. Photo: AFP",
     [("AFP", "AFP"), ("AFP", "AFP")]),
    ("the Saudi Press Agency reported. SPA said", [("Saudi Press Agency", "SPA"), ("SPA", "SPA")]),
]


@pytest.mark.parametrize("text,expected", FIND)
def test_find_all(text: str, expected: list[tuple[str, str]]) -> None:
    found = default_registry().find_all(text)
    assert [(text[s:e], a.name) for s, e, a in found] == expected


FIND_MORE = [
    # spellings outside ASCII that share a search skeleton with others ("???"), and text
    # with the same skeleton that is no agency
    ("据新华社报道，共同社 ??? 塔斯社。“¿¡”", [("新华社", "Xinhua"), ("共同社", "Kyodo"),
                                        ("塔斯社", "TASS")]),
    ("сообщает РИА Новости, а ТАСС…", [("РИА Новости", "RIA Novosti"), ("ТАСС", "TASS")]),
    ("“Reuters” — ČTK, Agência Brasil", [("Reuters", "Reuters"), ("ČTK", "CTK"),
                                        ("Agência Brasil", "Agência Brasil")]),
    # a guard cue must end the 40 characters before a guarded alias and begin a word
    ("x" * 60 + " according to AP", [("AP", "AP")]),
    ("x" * 60 + " according to" + " " * 26 + "AP", []),
    ("x" * 60 + " staccording to AP", []),
    ("according to\n\nAP", [("AP", "AP")]),
    ("x" * 22 + " state   \nAP ate.", [("AP", "AP")]),  # "$" matches before a last newline
    ("x" * 22 + " state    \nAP ate.", []),
    # part of another organisation's name (other_name_words), but not across a line break
    ("the Reuters Institute and the Bloomberg School said; Reuters reported",
     [("Reuters", "Reuters")]),
    ("... on Tuesday. REUTERS\nSchool", [("REUTERS", "Reuters")]),
]


@pytest.mark.parametrize("text,expected", FIND_MORE)
def test_find_all_more(text: str, expected: list[tuple[str, str]]) -> None:
    found = default_registry().find_all(text)
    assert [(text[s:e], a.name) for s, e, a in found] == expected


@pytest.mark.parametrize("text", [text for text, _ in FIND + FIND_MORE] + [
    "PHOTO: AFP / Jane Doe — Photos by Reuters/Foto image CREDIT: “Image” ///",
    "ФОТО/新华社/Photo", ""])
def test_find_all_marked_is_find_all_and_the_markers(text: str) -> None:
    markers = ("/", "photo", "Photo", "PHOTO", "Image", "CREDIT", "新华", "ФОТО")
    registry = default_registry()
    found, marks = registry.find_all_marked(text, markers)
    assert found == registry.find_all(text)
    assert marks == sorted(at for marker in markers for at in range(len(text))
                           if text.startswith(marker, at))


def test_alternation_matches_what_the_plain_alternation_matches() -> None:
    assert _alternation(["news agency", "news  service", "news", "agence", "agency"]) == (
        r"(?:news(?:\s+(?:agency|service))?|agenc(?:e|y))")
    doc = json.loads((Path(__file__).parents[2] / "transforms" / "data" / "agencies.json")
                     .read_text(encoding="utf-8"))
    cues = doc["guard_cues"]["before"] + doc["guard_cues"]["after"]
    tree = re.compile(_alternation(cues), re.IGNORECASE)
    plain = re.compile("|".join(r"\s+".join(map(re.escape, c.split())) for c in cues),
                       re.IGNORECASE)
    probes = [variant for cue in cues for variant in (
        cue, cue.upper(), cue.replace(" ", " \n "), cue[:-1], cue + "s", cue[1:], cue + " by")]
    assert any(tree.fullmatch(p) for p in probes) and not all(tree.fullmatch(p) for p in probes)
    for probe in probes:
        assert bool(tree.fullmatch(probe)) == bool(plain.fullmatch(probe)), probe


def test_spelled_is_exact() -> None:
    registry = default_registry()
    assert registry.spelled("REUTERS").name == "Reuters"
    assert registry.spelled("Fars news agency").name == "Fars"
    assert registry.spelled("dpa").name == "dpa"
    assert registry.spelled("app") is None  # lookup("app") is APP: any case
    assert registry.lookup("app").name == "APP"


def test_find_all_on_seed_story(seed_text: str) -> None:
    names = [a.name for _, _, a in default_registry().find_all(seed_text)]
    assert names == ["AFP", "TASS", "KCNA", "Reuters"]


@pytest.fixture
def seed_text() -> str:
    return (Path(__file__).parents[1] / "fixtures" / "seed-story.txt").read_text(encoding="utf-8")


def _write(tmp_path: Path, doc: object, name: str = "mine.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_user_file_extends_and_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, {
        "guard_cues": {"after": ["dispatch"]},
        "agencies": [
            {"name": "Daily Wire Co", "full_name": "Daily Wire Cooperative",
             "aliases": ["DWC"], "guarded": ["DWC"], "country": "NZ", "kind": "wire"},
            {"name": "Reuters", "full_name": "Reuters News", "aliases": ["Reuter"],
             "country": "US", "kind": "wire"},
        ]})
    registry = load_registry(path)
    assert registry.lookup("dwc") == Agency("Daily Wire Co", "Daily Wire Cooperative", ("DWC",),
                                            "NZ", "wire", ("DWC",))
    assert registry.lookup("Reuters").country == "US"
    assert registry.lookup("Thomson Reuters") is None  # the override replaced the alias list
    assert registry.lookup("KCNA").name == "KCNA"  # the rest of the defaults stay
    assert [a.name for _, _, a in registry.find_all("a DWC dispatch said")] == ["Daily Wire Co"]
    assert registry.find_all("the Reuters Institute") == []  # the defaults' other_name_words
    assert registry.find_all("the DWC board") == []
    assert load_registry(path) is registry
    assert load_registry() is default_registry()
    assert default_registry().lookup("Thomson Reuters").name == "Reuters"


@pytest.mark.parametrize("doc,message", [
    ([], "expected a JSON object"),
    ({"agencies": {}}, "'agencies' must be a list"),
    ({"agencies": [], "extra": 1}, "unknown top-level keys ['extra']"),
    ({"agencies": [{"full_name": "X", "kind": "wire"}]}, "agencies[0]: 'name' must be"),
    ({"agencies": [{"name": "X", "full_name": "X", "country": "USA", "kind": "wire"}]},
     "agencies[0] ('X'): country 'USA' is not an ISO 3166-1 alpha-2 code"),
    ({"agencies": [{"name": "X", "full_name": "X", "kind": "blog"}]},
     "agencies[0] ('X'): kind 'blog' is not one of"),
    ({"agencies": [{"name": "X", "full_name": "X", "kind": "wire", "aliases": "XX"}]},
     "'aliases' must be a list of non-empty strings"),
    ({"agencies": [{"name": "X", "full_name": "X", "kind": "wire", "guarded": ["Y"]}]},
     "'guarded' lists ['Y'] which are neither the name nor an alias"),
    ({"agencies": [{"name": "X", "full_name": "X", "kind": "wire", "colour": "red"}]},
     "unknown keys ['colour']"),
    ({"agencies": [{"name": "X", "full_name": "X", "kind": "wire"},
                   {"name": "X", "full_name": "X", "kind": "wire"}]},
     "agencies[1] ('X'): name repeats agencies[0]"),
    ({"agencies": [{"name": "Wire X", "full_name": "Wire X", "kind": "wire", "aliases": ["AFP"]}]},
     "agency 'Wire X': alias 'afp' also belongs to 'AFP'"),
    ({"format": 2, "agencies": []}, "format 2 is not supported"),
    ({"guard_cues": {"before": [""]}, "agencies": []}, "guard_cues.before must be a list"),
    ({"other_name_words": "Institute", "agencies": []}, "'other_name_words' must be a list"),
    ({"phrases": [], "agencies": []}, "'phrases' must be an object of languages"),
    ({"phrases": {"nl": {"cues": ["volgens"]}}, "agencies": []},
     "phrases.nl: unknown kinds ['cues']"),
    ({"phrases": {"nl": {"citation_cues": "volgens"}}, "agencies": []},
     "phrases.nl.citation_cues: must be a list of non-empty strings"),
])
def test_user_file_errors_name_file_entry_and_problem(tmp_path: Path, doc: object,
                                                      message: str) -> None:
    path = _write(tmp_path, doc)
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_user_file_unreadable_or_not_json(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read agency registry"):
        load_registry(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(RegistryError, match="not valid JSON"):
        load_registry(bad)


def test_user_file_adds_phrases_of_its_language(tmp_path: Path) -> None:
    from transforms.attribution import find_attribution

    path = _write(tmp_path, {"phrases": {"nl": {"citation_cues": ["volgens"],
                                                "articles": ["het", "de"],
                                                "credit_leads": ["met informatie van"]}},
                             "agencies": []}, name="dutch.json")
    registry = load_registry(path)
    assert ("volgens",) in registry.phrases.citation_cues
    assert ("according", "to") in registry.phrases.citation_cues  # the shipped ones stay
    text = "Het kabinet valt, volgens het ANP.\n(Met informatie van Reuters)"
    found = find_attribution(text, registry=registry)
    assert found.cited == ("ANP",) and found.credit == ("Reuters",)
    assert find_attribution(text).cited == ()


@pytest.mark.parametrize("word,name", [("REUTE", "Reuters"), ("REUITER", "Reuters"),
                                       ("RUTER", "Reuters"), ("XINHAU", "Xinhua"),
                                       ("ROUTE", None), ("AP", None), ("KYODO", "Kyodo")])
def test_misspelt_names_one_letter_off(word: str, name: str | None) -> None:
    agency = default_registry().misspelt(word)
    assert (agency.name if agency else None) == name
