"""Attribution: credit, cited and photo agencies from wire-copy shapes, with their findings."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.agencies import default_registry
from transforms.attribution import (
    _CAPTION_BREAK_REVERSED,
    _SENTENCE_BREAK_REVERSED,
    _SENTENCE_BREAKS,
    Attribution,
    Contributor,
    Finding,
    _finding,
    _last_break,
    find_attribution,
)
from transforms.clean import Removed, clean_text
from transforms.dateline import Dateline, find_dateline, strip_dateline

SEED = Path(__file__).parents[1] / "fixtures" / "seed-story.txt"
BODY = "The minister said the talks would continue next week."


def _removed(*items: tuple[str, str]) -> tuple[Removed, ...]:
    return tuple(Removed(kind, text) for kind, text in items)


def _assert_findings_point_at_agencies(result: Attribution, text: str,
                                       removed: tuple[Removed, ...] = ()) -> None:
    registry = default_registry()
    for f in result.findings:
        source = text if f.field == "text" else removed[f.index].text
        written = source[f.start:f.end]
        assert registry.lookup(written).name == f.agency, (f, written)


# --- the seed story, end to end through cleaning and dateline --------------------------------

def test_seed_story() -> None:
    cleaned = clean_text(SEED.read_text(encoding="utf-8"))
    dateline = find_dateline(cleaned.paragraphs)
    text = "\n\n".join(strip_dateline(cleaned.paragraphs, dateline))
    result = find_attribution(text, cleaned.removed, dateline)
    assert (result.credit, result.cited, result.photo) == (("Reuters",), ("TASS", "KCNA"),
                                                           ("AFP",))
    rules = {(f.agency, f.role): (f.rule, f.field) for f in result.findings}
    assert rules == {("Reuters", "credit"): ("signoff", "text"),
                     ("TASS", "cited"): ("cited_source", "text"),
                     ("KCNA", "cited"): ("cited_source", "text"),
                     ("AFP", "photo"): ("photo_credit", "removed")}
    _assert_findings_point_at_agencies(result, text, cleaned.removed)


# --- credit ------------------------------------------------------------------------------------

CREDIT = [
    # (text, removed, expected credit, rule)
    (f"{BODY} the Foreign Ministry said. REUTERS", (), ("Reuters",), "signoff"),
    (f"{BODY}\n\n-- BERNAMA", (), ("Bernama",), "signoff"),
    (f"{BODY}\n\n--IANS\n\nabc/xyz", (), ("IANS",), "signoff"),
    (f"{BODY}\n\n(ANI)", (), ("ANI",), "signoff"),
    (f"{BODY}\n\n==Kyodo", (), ("Kyodo",), "signoff"),
    (f"{BODY}\n\nVNA", (), ("VNA",), "signoff"),
    (f"{BODY} It said it had allocated funds for cloud seeding. (PNA)", (), ("PNA",), "signoff"),
    (f"{BODY} The court said couples could not be discriminated against. PTI ABC DEF XYZ", (),
     ("PTI",), "signoff"),
    (f"Moscow could respond, Medvedev said on Thursday. {BODY} /TASS/", (), ("TASS",),
     "signoff"),
    (f"{BODY} the ministry said. (Xinhua)", (), ("Xinhua",), "signoff"),
    (f"{BODY}\n\n-- Yonhap", (), ("Yonhap",), "signoff"),
    (f"{BODY}\n\n— AP", (), ("AP",), "signoff"),
    (f"{BODY}\n\nWAM/Tariq Alfaham/Hatem Mohamed", (), ("WAM",), "signoff"),
    (f"{BODY}\n\n- Emirates News Agency, WAM -", (), ("WAM",), "signoff"),
    (f"{BODY} It was the smallest surplus in 17 months. REUTERS, BLOOMBERG\n\nDiplomacy", (),
     ("Reuters", "Bloomberg"), "signoff"),
    (f"{BODY} Biden is due to visit Israel on Wednesday. With inputs from AP, AFP", (),
     ("AP", "AFP"), "signoff"),
    (f"{BODY}\n\n(With inputs from PTI)", (), ("PTI",), "signoff"),
    (f"{BODY} More aid would arrive this week. (With reports from PNA)", (), ("PNA",), "signoff"),
    (f"{BODY}\n\ndj/rc (dpa, AFP)", (), ("dpa", "AFP"), "signoff"),
    (f"{BODY}\n\n(FRANCE 24 with AFP)", (), ("AFP",), "signoff"),
    (f"{BODY}\n\nSource: Reuters", (), ("Reuters",), "signoff"),
    (f"{BODY}\n\nAdditional sources • Reuters", (), ("Reuters",), "signoff"),
    (f"{BODY}\n\nReporting by Reuters; Editing by Andrew Osborn", (), ("Reuters",),
     "contributors"),
    (f"{BODY}\n\nAssociated Press writer Edith M. Lederer contributed to this report.", (),
     ("AP",), "contributed"),
    (f"{BODY}\n\nAFP contributed reporting.", (), ("AFP",), "contributed"),
    (f"{BODY}\n\nThis report by The Canadian Press was first published Dec. 6, 2023.", (),
     ("Canadian Press",), "report_by"),
    (f"{BODY}\n\n©2023 Bloomberg L.P.", (), ("Bloomberg",), "copyright"),
    (BODY, _removed(("copyright", "© 2023 The Associated Press. All rights reserved.")),
     ("AP",), "copyright"),
    (BODY, _removed(("copyright", ("©2024 The Palm Beach Post. Visit palmbeachpost.com. "
                                  "Distributed by Tribune Content Agency, LLC."))),
     ("TCA",), "copyright"),
    (BODY, _removed(("byline", "By Jane Doe, Reuters")), ("Reuters",), "byline"),
    (BODY, _removed(("byline", "Jane Doe | AP")), ("AP",), "byline"),
    (BODY, _removed(("byline", "By Sam Blewett, PA Political Editor")), ("PA Media",), "byline"),
    (BODY, _removed(("byline", "JIJI, Reuters")), ("Jiji", "Reuters"), "byline"),
    (f"Japan's population falls for 13th straight year\n\nKYODO\n\n{BODY}", (), ("Kyodo",),
     "byline"),
    (f"IMF approves $3bn bailout for Pakistan\n\nReuters | Dawn.com\n\n{BODY}", (),
     ("Reuters",), "byline"),
    (f"(Bloomberg) -- Treasuries rallied after softer-than-expected US inflation data. {BODY}",
     (), ("Bloomberg",), "opening"),
]


@pytest.mark.parametrize("text,removed,credit,rule", CREDIT)
def test_credit(text: str, removed: tuple[Removed, ...], credit: tuple[str, ...],
                rule: str) -> None:
    result = find_attribution(text, removed)
    assert result.credit == credit
    assert {f.rule for f in result.findings if f.role == "credit"} == {rule}
    _assert_findings_point_at_agencies(result, text, removed)


def test_dateline_credit_points_into_the_dateline() -> None:
    dateline = Dateline(raw="Denver (tca/dpa)", paragraph=0, start=0, end=19, places=(),
                        date_raw=None, date_iso=None, agencies=("TCA", "dpa"),
                        agency_spans=((8, 11), (12, 15)), byline="By Jane Doe")
    result = find_attribution("A winter storm dumped two feet of snow.", (), dateline)
    assert result.credit == ("TCA", "dpa")
    assert [(f.rule, f.field, dateline.raw[f.start:f.end]) for f in result.findings] == [
        ("dateline", "dateline", "tca"), ("dateline", "dateline", "dpa")]
    assert result.contributors == (Contributor("Jane Doe", "byline"),)


def test_unknown_dateline_credit_keeps_its_name() -> None:
    dateline = Dateline(raw="LAGOS (Daily Wire)", paragraph=0, start=0, end=20, places=(),
                        date_raw=None, date_iso=None, agencies=("Daily Wire",),
                        agency_spans=((7, 17),))
    assert find_attribution("Fuel prices rose.", (), dateline).credit == ("Daily Wire",)


def test_contributors_keep_their_roles() -> None:
    text = (f"{BODY}\n\nReporting by Alex Lawler in London and Florence Tan in Singapore; "
            "Additional reporting by Lucila Sigal in Buenos Aires; Writing by Michael Georgy; "
            "editing by Jason Neely")
    result = find_attribution(text)
    assert result.credit == ()
    assert result.contributors == (
        Contributor("Alex Lawler", "reporting"), Contributor("Florence Tan", "reporting"),
        Contributor("Lucila Sigal", "additional reporting"),
        Contributor("Michael Georgy", "writing"), Contributor("Jason Neely", "editing"))


@pytest.mark.parametrize("text,contributors", [
    (f"By JOSH BOAK and ZEKE MILLER\n\n{BODY}",
     [("JOSH BOAK", "byline"), ("ZEKE MILLER", "byline")]),
    ((f"{BODY}\n\nAP Technology Writer Matt O'Brien in Providence, Rhode Island, contributed "
     "to this report."), [("Matt O'Brien", "contributing")]),
    (f"{BODY}\n\n--With assistance from Michael Mackenzie.", [("Michael Mackenzie",
                                                                "assistance")]),
    (f"{BODY}\n\nTranslator: Astrid Faidlatul Habibah\n\nEditor: Sri Haryati",
     [("Sri Haryati", "editing"), ("Astrid Faidlatul Habibah", "translation")]),
    (f"{BODY}\n\n(By Teng Pei-ju)\n\nEnditem/AW", [("Teng Pei-ju", "byline")]),
])
def test_contributor_lines(text: str, contributors: list[tuple[str, str]]) -> None:
    assert find_attribution(text).contributors == tuple(Contributor(*c) for c in contributors)


# --- cited -------------------------------------------------------------------------------------

CITED = [
    (("The Kremlin denied the allegations, saying they were not based on evidence, reported "
     "the TASS news agency."), ("TASS",), "cited_source"),
    (("Lavrov will visit this week, according to North Korea's state media KCNA and Russia's "
     "Foreign Ministry."), ("KCNA",), "cited_source"),
    ("The missile flew about 300 km, Yonhap reported.", ("Yonhap",), "cited_verb"),
    ("A decision could come within weeks, three people familiar with the matter told Reuters.",
     ("Reuters",), "cited_source"),
    ("Kim Yo Jong said in a statement carried by KCNA that the drills were a provocation.",
     ("KCNA",), "cited_source"),
    ("Xinhua said on Tuesday that Xi had called for more efforts.", ("Xinhua",), "cited_verb"),
    ("Moscow would respond, the spokeswoman was quoted by Interfax as saying.", ("Interfax",),
     "cited_source"),
    ("RIA Novosti reported that the talks had ended.", ("RIA Novosti",), "cited_verb"),
    ("At least 11 climbers died, according to AFP.", ("AFP",), "cited_source"),
    ("China's economy likely grew 4.4%, a Reuters poll showed.", ("Reuters",), "cited_verb"),
    ("Economists polled by Reuters had expected a fall.", ("Reuters",), "cited_source"),
    ("The Minister met the envoy in Doha, Qatar News Agency (QNA) reported.", ("QNA",),
     "cited_verb"),
    ("Hamas has released 81 hostages, according to a tally by AFP.", ("AFP",), "cited_source"),
    ("The defence ministry said its forces had struck targets, the RIA news agency reported.",
     ("RIA Novosti",), "cited_verb"),
    ("Rescue teams struggled, Nepal's national news agency RSS reported.", ("RSS",),
     "cited_verb"),
    ("The blasts were caused by bombs, the semi-official Fars news agency said.", ("Fars",),
     "cited_verb"),
    ("The Prime Minister's Office declined to comment, public broadcaster NHK reported on Oct 17.",
     ("NHK",), "cited_verb"),
    ("据新华社报道，会议在北京举行。", (), None),
    ("Exports fell, according to tanker-tracking data compiled by Bloomberg.", ("Bloomberg",),
     "cited_source"),
    # the languages agencies also file in
    ("Wie die österreichische Nachrichtenagentur APA meldete, wurden zwei Orte evakuiert.",
     ("APA",), "cited_verb"),
    ("Economistas consultados por EFE coincidieron en que el banco podría recortar.", ("EFE",),
     "cited_source"),
    ("Los precios subieron un 3 %, según la agencia oficial Xinhua.", ("Xinhua",),
     "cited_source"),
    # another organisation whose name opens with an agency's
    ("More young people get news from TikTok, according to the Reuters Institute's report.",
     (), None),
]


@pytest.mark.parametrize("text,cited,rule", CITED)
def test_cited(text: str, cited: tuple[str, ...], rule: str | None) -> None:
    result = find_attribution(text)
    assert (result.credit, result.cited) == ((), cited)
    assert {f.rule for f in result.findings} == ({rule} if rule else set())
    _assert_findings_point_at_agencies(result, text)


NOT_ATTRIBUTED = [
    "Reuters journalists won a Pulitzer Prize for their coverage, the board said.",
    "The Associated Press Stylebook added new entries on artificial intelligence.",
    "Reuters could not independently verify the battlefield reports.",
    "Kenyan police fired tear gas at protesters, AFP journalists saw.",
    ("Australian Federal Police (AFP) officers seized cocaine. AFP Commander Kate Ryan said "
    "three men had been charged. The AFP said more arrests were likely."),
    ("The Pakistan Tehreek-e-Insaf (PTI) said its founder would contest the election. PTI "
    "leaders met in Lahore."),
    "Thomson Reuters Corp reported a 5% rise in third-quarter revenue on Tuesday.",
    "Trust in news was stable, the Reuters Institute for the Study of Journalism said.",
    "Former New York mayor Michael Bloomberg said the gift would take effect in the fall.",
    "The MENA region is expected to grow 3.4% next year. Oil exporters in MENA will benefit.",
    ("Unified Payments Interface (UPI) transactions crossed 10 billion. UPI has transformed "
    "retail payments."),
    "Anadolu Agency correspondents at the scene reported dozens of bodies being removed.",
    "Guests can enjoy a full-service SPA and an infinity pool.",
    "Students sat AP exams this week. The College Board said AP would grow.",
    "The deal was first reported by The Verge.",
    "Wildfires burned forest, the agency said.\n\nlg/app/mlr",
]


@pytest.mark.parametrize("text", NOT_ATTRIBUTED)
def test_not_attributed(text: str) -> None:
    result = find_attribution(text)
    assert (result.credit, result.cited, result.photo) == ((), (), ())


# --- photo -------------------------------------------------------------------------------------

PHOTO = [
    # (removed item, expected photo agencies, photographer)
    (("photo_credit", "PHOTO: AFP"), ("AFP",), None),
    (("photo_credit", "(Photo: Reuters)"), ("Reuters",), None),
    (("photo_credit", "Photo by Jane Doe/AP"), ("AP",), "Jane Doe"),
    (("photo_credit", "ZUMA/REX"), ("ZUMA", "Shutterstock"), None),
    (("photo_credit", "Reuters/Jane Doe"), ("Reuters",), "Jane Doe"),
    (("photo_credit", "EPA-EFE/JANE DOE"), ("EPA",), "JANE DOE"),
    (("photo_credit", "Illustrative photo: ČTK/Vít Novák"), ("CTK",), "Vít Novák"),
    (("photo_credit", "CNA photo Jan. 13, 2025"), ("CNA",), None),
    (("photo_credit", "Xinhua/Li Ming 13 January 2025"), ("Xinhua",), "Li Ming"),
    (("photo_credit", "(AP Photo/J. Scott Applewhite)"), ("AP",), "J. Scott Applewhite"),
    (("photo_credit", "(AP Photo/Ted S. Warren, File)"), ("AP",), "Ted S. Warren"),
    (("photo_credit", "REUTERS/Issei Kato/File Photo"), ("Reuters",), "Issei Kato"),
    (("photo_credit", "Adi Prima / AFP"), ("AFP",), "Adi Prima"),
    (("photo_credit", "(Arif Hudaverdi Yaman - Anadolu Agency)"), ("Anadolu",),
     "Arif Hudaverdi Yaman"),
    (("photo_credit", "Image: Kay Nietfeld/dpa/picture alliance"), ("dpa",), "Kay Nietfeld"),
    (("photo_credit", "Copyright AP Photo/Petr David Josek"), ("AP",), "Petr David Josek"),
    (("photo_credit", "(Antonio Perez/Chicago Tribune/TNS)"), ("TCA",), "Antonio Perez"),
    (("photo_credit", "Photo: Ministry of Foreign Affairs of Ukraine"), (), None),
    (("photo_credit", "ST PHOTO: KELVIN CHNG"), (), None),
    (("caption", ("Tourists cool off at a fountain in Rome. Photo: Cecilia Fabiano/LaPresse via "
                 "ZUMA Press/dpa")), ("LaPresse", "ZUMA", "dpa"), "Cecilia Fabiano"),
    (("caption", ("Kenyan President William Ruto speaks in Nairobi, Oct. 10, 2023. "
                 "(Xinhua/Li Yahui)")), ("Xinhua",), "Li Yahui"),
    (("caption", "Palestinians flee to the south of Gaza City. [Mahmud Hams/AFP]"), ("AFP",),
     "Mahmud Hams"),
    (("caption", "People cross a street in Tokyo's Shibuya district. | Bloomberg"),
     ("Bloomberg",), None),
    (("caption", "Foreign ministers at the signing ceremony in Manila. | AFP-JIJI"),
     ("AFP", "Jiji"), None),
    (("caption", "Afghan refugees wait to cross the border at Torkham. (AFP)"), ("AFP",), None),
    (("caption", "A cup of tea. Getty Images"), ("Getty Images",), None),
    (("caption", "An oil pumpjack in the Permian Basin. Image Credit: Reuters"), ("Reuters",),
     None),
    (("caption", "A US bomber flies over the Korean Peninsula. (Joint Chiefs of Staff)"), (),
     None),
    (("caption", "Reuters journalists at the scene of the blast in Kabul."), (), None),
]


@pytest.mark.parametrize("item,photo,photographer", PHOTO)
def test_photo(item: tuple[str, str], photo: tuple[str, ...], photographer: str | None) -> None:
    removed = _removed(item)
    result = find_attribution(BODY, removed)
    assert (result.credit, result.photo) == ((), photo)
    assert {f.photographer for f in result.findings} <= {photographer}
    assert all(f.field == "removed" and f.index == 0 for f in result.findings)
    _assert_findings_point_at_agencies(result, BODY, removed)


def test_caption_left_in_the_text() -> None:
    text = ("Kenya's President arrived in Beijing, the presidency said.\n\n"
            "Kenyan President William Ruto speaks in Nairobi. (Xinhua/Li Yahui)\n\n" + BODY)
    result = find_attribution(text)
    assert (result.credit, result.photo) == ((), ("Xinhua",))
    assert [f.photographer for f in result.findings] == ["Li Yahui"]
    _assert_findings_point_at_agencies(result, text)


def test_caption_citation() -> None:
    removed = _removed(("caption", "Interfax-Ukraine reported that the sides agreed."))
    result = find_attribution(BODY, removed)
    assert (result.cited, result.photo) == (("Interfax-Ukraine",), ())


# --- robustness --------------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "Reuters", "REUTERS", "AP", "(AP)", "AFP", "PTI", "dpa", "Xinhua", "TASS", "KCNA", "SPA",
    "Bloomberg", "Associated Press", "according to", "told", "reported", "said", "state media",
    "news agency", "Photo:", "Reporting by", "Editing by", "By", "with inputs from", "/", "|",
    "(", ")", ",", ".", " ", "\n", "\n\n", "--", "—", "©", "Jane Doe", "the", "in London",
    "contributed", "新华社", "ТАСС", "a", "PTI ABC", "==Kyodo"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map(" ".join),
       st.lists(st.tuples(st.sampled_from(["byline", "caption", "photo_credit", "copyright"]),
                          st.lists(_PIECES, max_size=8).map(" ".join)), max_size=3))
def test_findings_always_point_at_agency_spellings(text: str, items: list) -> None:
    removed = _removed(*items)
    result = find_attribution(text, removed)
    _assert_findings_point_at_agencies(result, text, removed)
    assert set(result.credit) | set(result.cited) | set(result.photo) == {
        f.agency for f in result.findings}


# --- line shapes: the rules read a story's first and last lines -------------------------------

LINE_SHAPES = [
    # (text, head, expected credit, expected photo)
    ("", 0, (), ()),
    (" \n\t\n  ", 0, (), ()),
    ("REUTERS", 0, ("Reuters",), ()),
    (f"\n \n{BODY}\n\n \t\n-- BERNAMA\n \n", 0, ("Bernama",), ()),
    (f"By Jane Doe, AP\n\n{BODY}\n\n(Reporting by Reuters)", 0, ("AP", "Reuters"), ()),
    # the dateline's paragraph (head) is past the last line: every line is a head line
    (f"Heatwave grips Europe (AFP)\n\n{BODY}", 5, (), ("AFP",)),
    (f"Heatwave grips Europe (AFP)\n\n{BODY}", 0, (), ()),
    # a slashed credit far from a long paragraph's end is no caption
    (f"Jane Doe/AP {BODY * 4}", 0, (), ()),
    (f"{BODY * 4} Jane Doe/AP", 0, (), ("AP",)),
]


@pytest.mark.parametrize("text,head,credit,photo", LINE_SHAPES)
def test_line_shapes(text: str, head: int, credit: tuple[str, ...],
                     photo: tuple[str, ...]) -> None:
    dateline = Dateline(raw="LONDON", paragraph=head, start=0, end=0, places=(), date_raw=None,
                        date_iso=None, agencies=()) if head else None
    result = find_attribution(text, (), dateline)
    assert (result.credit, result.photo) == (credit, photo)
    _assert_findings_point_at_agencies(result, text)


def test_findings_made_fast_are_findings() -> None:
    values = {"agency": "AP", "role": "photo", "rule": "photo_credit", "field": "removed",
              "index": 2, "start": 3, "end": 5, "photographer": "Jane Doe"}
    assert set(values) == {f.name for f in fields(Finding)}
    made = _finding(*values.values())
    assert made == Finding(**values) and hash(made) == hash(Finding(**values))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='. !?"”’)]|ab', max_size=30), st.integers(0, 30), st.integers(0, 30))
def test_last_break_is_where_the_last_break_ends(line: str, start: int, end: int) -> None:
    end = min(end, len(line))
    ends = [at + 2 for at in range(start, end - 1) if line[at:at + 2] in _SENTENCE_BREAKS]
    assert _last_break(line, start, end, _SENTENCE_BREAK_REVERSED) == max(ends, default=0)
    ends += [at + 1 for at in range(start, end) if line[at] == "|"]
    assert _last_break(line, start, end, _CAPTION_BREAK_REVERSED) == max(ends, default=0)
