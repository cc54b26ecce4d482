"""Plain wire copy as agencies transmitted it, through the whole extraction (clean, dateline,
attribution): paragraphs begun by an indent and hard-wrapped, a dateline alone on its line,
company markup, lower-case and misspelt datelines, and the sign-offs a transmission leaves.

Every story here is written for this test (the shapes come from archived wire copy; the words
are ours)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from transforms.clean import clean_text
from transforms.extract import extract

PUBLISHED = datetime(1988, 3, 10, 15, 0, tzinfo=timezone.utc)

# (id, story, places [(as written, country)], date as written, credit)
STORIES = [
    ("dateline-alone-then-table",
     ("NEW YORK, March 6 -\n    Qtr net profit 1.2 mln dlrs vs 900,000\n"
     "    Revs 40.1 mln vs 38.7 mln\n Reuter\n"),
     [("NEW YORK", "US")], "March 6", ["Reuters"]),
    ("dateline-alone-then-sentence",
     ("DENVER, March 7 -\n    Mountain Pipe Co said it will close two plants in the\n"
     "spring because orders fell.\n REUTER\n"),
     [("DENVER", "US")], "March 7", ["Reuters"]),
    ("company-markup-after-dash",
     ("TORONTO, March 8 - <Northern Copper Mines Ltd> said it\nagreed to sell its smelter to "
     "a group of investors for\n12 mln dlrs.\n    The sale is expected to close in May.\n"
     " Reuter\n"),
     [("TORONTO", "CA")], "March 8", ["Reuters"]),
    ("state-abbreviation-in-capitals",
     ("EDEN PRAIRIE, MINN., March 2 - Lakeside Data Corp said it\nnamed a new chief "
     "financial officer.\n Reuter\n"),
     [("EDEN PRAIRIE", "US")], "March 2", ["Reuters"]),
    ("dash-glued-to-the-day",
     ("OTTAWA, March 4- The federal budget deficit narrowed in\nJanuary, the finance "
     "department said.\n Reuter\n"),
     [("OTTAWA", "CA")], "March 4", ["Reuters"]),
    ("lower-case-dateline-and-body",
     ("lima, march 9 - peru's central bank said reserves rose\nslightly in february, helped "
     "by higher metal prices.\n reuter\n"),
     [("lima", "PE")], "march 9", ["Reuters"]),
    ("lower-case-second-word",
     ("Mexico city, march 9 - the finance ministry said it\nwould sell more short-term bonds "
     "this month.\n Reuter\n"),
     [("Mexico city", "MX")], "march 9", ["Reuters"]),
    ("misspelt-month",
     ("HOUSTON, Marhc 5 - Gulf Drilling Inc said it won a\ncontract to drill three offshore "
     "wells.\n Reuter\n"),
     [("HOUSTON", "US")], "Marhc 5", ["Reuters"]),
    ("month-without-day",
     ("CHICAGO, April - Grain dealers said export demand was\nweaker than expected this "
     "week.\n Reuter\n"),
     [("CHICAGO", "US")], "April", ["Reuters"]),
    ("misspelt-city",
     ("PHILADELPHAI, March 3 - Keystone Tool Co said it raised\nits quarterly dividend.\n"
     " Reuter\n"),
     [("PHILADELPHAI", "US")], "March 3", ["Reuters"]),
    ("country-as-dateline",
     "BAHRAIN, March 1 - Gulf bankers said interbank rates\neased in quiet trading.\n Reuter\n",
     [("BAHRAIN", "BH")], "March 1", ["Reuters"]),
    ("region-with-inner-dot",
     "WHEELING, W.Va., March 5 - Valley Steel Corp said it\nrecalled 200 workers.\n Reuter\n",
     [("WHEELING", "US")], "March 5", ["Reuters"]),
    ("region-missing-last-dot",
     ("RALEIGH, N.C, March 5 - Piedmont Textile Inc said sales\nrose nine pct in February.\n"
     " Reuter\n"),
     [("RALEIGH", "US")], "March 5", ["Reuters"]),
    ("region-then-stray-dash",
     "BETHESDA, Md., - March 4 - Capital Health Corp said it\nhired two executives.\n Reuter\n",
     [("BETHESDA", "US")], "March 4", ["Reuters"]),
    ("month-and-day-end-the-place",
     "JOHANNESBURG March 13 -\n    Shr 212 cts vs 198 cts\n Reuter\n",
     [("JOHANNESBURG", "ZA")], "March 13", ["Reuters"]),
    ("asterisks-before-the-place",
     "****LONDON, March 5 - Traders said sugar prices steadied\nafter early losses.\n Reuter\n",
     [("LONDON", "GB")], "March 5", ["Reuters"]),
    ("country-named-before-1990",
     "HANOVER, West Germany, March 11 - A machine maker said\norders rose.\n Reuter\n",
     [("HANOVER", "DE")], "March 11", ["Reuters"]),
    ("signoff-carriage-return-shown",
     "LONDON, March 9 - Two bonds were launched today.\n    Fees total two pct.\nREUTER...^M\n",
     [("LONDON", "GB")], "March 9", ["Reuters"]),
    ("signoff-time-code-glued",
     "SAO PAULO, MARCH 9 - HEAVY RAIN FELL OVER THE COFFEE\nAREAS OF THE STATE. REUTER09:15/KT\n",
     [("SAO PAULO", "BR")], "MARCH 9", ["Reuters"]),
    ("signoff-desk-letter",
     "TOKYO, March 23 - Japan's machine orders rose 3.1 pct\nin January.\n REUTER E\n",
     [("TOKYO", "JP")], "March 23", ["Reuters"]),
    ("signoff-misspelt",
     "PARIS, March 3 - French car sales rose in February.\n REUETER\n",
     [("PARIS", "FR")], "March 3", ["Reuters"]),
    ("signoff-cut-short",
     "BRUSSELS, March 2 -\n    Net profit 3.1 billion francs vs 2.9 billion\n REUTE\n",
     [("BRUSSELS", "BE")], "March 2", ["Reuters"]),
]


@pytest.mark.parametrize("story,places,date,credit",
                         [s[1:] for s in STORIES], ids=[s[0] for s in STORIES])
def test_wire_story(story: str, places: list, date: str, credit: list) -> None:
    found = extract(text=story, published_at=PUBLISHED)
    assert found.dateline is not None, story
    assert [(p.name, p.country) for p in found.dateline.places] == places
    assert found.dateline.date_raw == date
    assert list(found.attribution.credit) == credit
    assert not found.text.startswith(places[0][0])  # the dateline was cut


# Openings of wire copy that hold no dateline: tables, bare dates, company lists, a dated
# heading whose name is no place.
NO_DATELINE = [
    ("rate-table", ("us        1.2345 - 1.2355\n uk        2.1010 - 2.1030\n"
                   " us/uk     1.7010 - 1.7020\n")),
    ("company-list", ("Harbor Tools - Boston\n Ridge Mining Trust - Denver\n"
                     " Lakeside Foods - Chicago\n\n Reuter\n")),
    ("date-only", ("APRIL 11 - BRAZIL CHANGES ITS CLOCKS.\n    APRIL 26 - CHILE CHANGES ITS "
                  "CLOCKS.\n Reuter\n")),
    ("futures-table", ("Mar       ---    ---    ---\n Apr    131.40 131.90 130.85\n"
                      " May    129.60 130.10 129.20\n")),
    ("publisher-and-date", ("DAILY HARBOUR REVIEW Oct 22, 2024 - The port authority "
                           "said traffic rose.\n")),
]


@pytest.mark.parametrize("story", [s[1] for s in NO_DATELINE], ids=[s[0] for s in NO_DATELINE])
def test_no_dateline(story: str) -> None:
    found = extract(text=story, published_at=PUBLISHED)
    assert found.dateline is None or not found.dateline.places


@pytest.mark.parametrize("last_line", ["ROUTE", "Reuters Holdings said.", "app", "RAUTERS BANK"])
def test_last_lines_that_are_no_signoff(last_line: str) -> None:
    found = extract(text=f"PARIS, March 3 - French car sales rose in February.\n {last_line}\n",
                    published_at=PUBLISHED)
    assert found.attribution.credit == ()


def test_indented_paragraphs_are_joined() -> None:
    story = ("BOSTON, March 2 - Harbor Bank Corp said it agreed to buy\n"
             "Cape Savings Bank for 40 mln dlrs in cash and stock.\n"
             "    The deal is subject to approval by regulators and\n"
             "shareholders of both banks.\n"
             "    Shr 1.10 dlrs vs 95 cts\n"
             " Reuter\n")
    assert clean_text(story).paragraphs == (
        ("BOSTON, March 2 - Harbor Bank Corp said it agreed to buy Cape Savings Bank for 40 mln "
        "dlrs in cash and stock."),
        "The deal is subject to approval by regulators and shareholders of both banks.",
        "Shr 1.10 dlrs vs 95 cts",
        "Reuter",
    )


def test_lines_without_indents_stay_lines() -> None:
    story = "Headline of the day\nA first short line.\nA second short line.\n"
    assert clean_text(story).paragraphs == (
        "Headline of the day", "A first short line.", "A second short line.")


# Openings of agencies and publishers other than the wire of the 1980s: the agency or a
# publisher first, a section label, a byline in capitals, continental forms.
# (id, text, places [(as written, country)], credit)
OPENINGS = [
    ("agency-first-in-parentheses",
     "(ANSA) - Rome, October 11 - The cabinet approved the budget plan after a long meeting.",
     [("Rome", "IT")], ["ANSA"]),
    ("agency-then-comma",
     "AFP, MANILA - Coast guard boats were turned back near the shoal on Tuesday, officials said.",
     [("MANILA", "PH")], ["AFP"]),
    ("publisher-prefix",
     ("Canadian Press - VANCOUVER (CP) - Crews are fighting dozens of new fires after a weekend "
     "of lightning."),
     [("VANCOUVER", "CA")], ["Canadian Press"]),
    ("section-label",
     ("Sports News, New Delhi, Oct 12 (IANS) The selectors named an unchanged squad for the "
     "next two matches on Thursday."),
     [("New Delhi", "IN")], ["IANS"]),
    ("byline-in-capitals",
     ("By JANE DOE     BRUNSWICK, Maine (AP) -- A fishing boat sank off the coast on Monday, "
     "and all three crew members were rescued."),
     [("BRUNSWICK", "US")], ["AP"]),
    ("place-and-full-stop",
     ("Berlin. Die Regierung hat am Mittwoch neue Hilfen für Familien beschlossen, wie ein "
     "Sprecher mitteilte."),
     [("Berlin", "DE")], []),
    ("local-names-and-slash",
     ("München/London – Der Konzern hat seine Prognose für das laufende Jahr gesenkt und "
     "verweist auf die schwache Nachfrage."),
     [("München", "DE"), ("London", "GB")], []),
    ("one-place-with-a-slash",
     ("Frankfurt/Main (dpa) - Der Leitindex hat am Mittwoch deutlich zugelegt, nachdem die "
     "Teuerung gesunken war."),
     [("Frankfurt/Main", "DE")], ["dpa"]),
    ("region-in-parentheses",
     ("Wiesbaden (Hessen) – Die Landesregierung will mehr Geld für Schulen ausgeben, teilte "
     "das Ministerium mit."),
     [("Wiesbaden", "DE")], []),
    ("regional-desk-code",
     ("Hamburg (dpa/lno) - Im Hafen ist am Dienstag ein Frachter auf Grund gelaufen, verletzt "
     "wurde niemand."),
     [("Hamburg", "DE")], ["dpa"]),
    ("two-qualifiers-and-colon",
     ("Washington, DC, United States: The Senate passed a stopgap spending bill late on "
     "Saturday, averting a shutdown."),
     [("Washington", "US")], []),
    ("no-separator",
     ("NEW YORK Another rise in oil prices pushed stocks lower on Wednesday as investors "
     "worried about inflation."),
     [("NEW YORK", "US")], []),
    ("after-iptc-header",
     ("ZCZC\nAFP1234 3 I 0412 /AFP-UF71\nItalie-politique-budget\nLe budget est approuvé\n"
     "ROME, 11 oct 2023 (AFP) - Le gouvernement a approuvé mercredi le budget, a annoncé la "
     "présidente du Conseil.\nLe texte doit encore être voté."),
     [("ROME", "IT")], ["AFP"]),
    ("after-anpa-header",
     ("a0412 r f BC-Oil Prices,0345\nOil climbs on supply worries\nEds: UPDATES with closing "
     "prices\nBy JOHN SMITH\nAP Business Writer\nLONDON (AP) _ Oil prices rose on Thursday as "
     "traders weighed the risk of disruptions.\nBrent crude rose 2 percent."),
     [("LONDON", "GB")], ["AP"]),
    ("after-gallery-caption",
     ("1 of 12 Police officers stand guard outside the court on Monday. (AP Photo/Jane Doe)\n"
     "PARIS (AP) — A court on Monday sentenced a former minister to two years in prison, "
     "prosecutors said."),
     [("PARIS", "FR")], ["AP"]),
    ("date-in-parentheses",
     ("WASHINGTON (Aug. 13) -- The Pentagon said on Friday it would review its training "
     "rules after the accident."),
     [("WASHINGTON", "US")], []),
    ("two-qualifiers-dated",
     "SPRINGFIELD, Ill., U.S., March 3 - The state said it would sell bonds next week.",
     [("SPRINGFIELD", "US")], []),
]


@pytest.mark.parametrize("text,places,credit", [o[1:] for o in OPENINGS],
                         ids=[o[0] for o in OPENINGS])
def test_openings(text: str, places: list, credit: list) -> None:
    found = extract(text=text, published_at=PUBLISHED)
    assert found.dateline is not None
    assert [(p.name, p.country) for p in found.dateline.places] == places
    assert list(found.attribution.credit) == credit
    assert found.dateline.raw not in found.text  # the dateline is cut from the text


@pytest.mark.parametrize("text", [
    "Yes. The minister said the talks would go on until a deal was reached next week.",
    "Paris. Eine Stadt im Wandel",                     # a headline, not a sentence after it
    "Reading. Children who read every day do better at school, the study found.",
    "(dpa/lno) Die Polizei sucht Zeugen eines Unfalls in der Innenstadt.",
    "Update, MANILA? Officials gave no details on Tuesday.",
    "LONDON Stock Exchange shares fell sharply on Monday as investors weighed the outlook.",
    "NATO Secretary General Jens Stoltenberg said on Monday the alliance would send troops.",
    "US President Joe Biden said on Monday that talks with China would continue next week.",
])
def test_openings_that_are_no_dateline(text: str) -> None:
    found = extract(text=text, published_at=PUBLISHED)
    assert found.dateline is None or not found.dateline.places


# Credits, citations and photo credits as agencies and their clients write them in the
# languages they file in (the phrases are data: transforms/data/agencies.json "phrases").
CREDITS = [
    ("por-agencia", ("Por Agencia EFE\nMadrid, 11 oct.- El Gobierno aprobó un plan de vivienda "
     "para jóvenes, informó la ministra en rueda de prensa.\nCostará 200 millones de euros."),
     ["EFE"]),
    ("von-agency", ("Von Hans Müller, dpa\nDie Regierung hat am Mittwoch neue Hilfen beschlossen, "
     "wie ein Sprecher mitteilte.\nDie Opposition kritisierte das Paket."), ["dpa"]),
    ("copyright-year", ("The government announced new measures on Wednesday to curb food "
     "prices.\nThey take effect next month.\n© 2023 AFP"), ["AFP"]),
    ("mit-material", ("Die Regierung hat am Mittwoch neue Hilfen beschlossen, wie ein Sprecher "
     "mitteilte.\nDie Opposition kritisierte das Paket.\n(Mit Material von dts)"), ["dts"]),
    ("con-informacion", ("El Gobierno aprobó un nuevo plan de vivienda, informó la ministra.\n"
     "La medida costará 200 millones de euros.\n(Con información de AFP, EFE y Reuters)"),
     ["AFP", "EFE", "Reuters"]),
    ("quelle", ("Die Inflation ist im September deutlich gesunken, wie das Amt mitteilte.\n"
     "Quelle: dpa"), ["dpa"]),
    ("von-agency-in-parentheses", ("Von Hans Müller (dpa)\nDie Regierung hat am Mittwoch neue "
     "Hilfen beschlossen, wie ein Sprecher mitteilte.\nDie Opposition kritisierte das Paket."),
     ["dpa"]),
    ("von-colon-slash", ("Von: Hans Müller/dpa\nDie Regierung hat am Mittwoch neue Hilfen "
     "beschlossen, wie ein Sprecher mitteilte.\nDie Opposition kritisierte das Paket."), ["dpa"]),
    ("par-agency", ("Par Jean Dupont, AFP\nLe gouvernement a présenté mercredi un projet de loi, "
     "a-t-on appris.\nLe texte sera examiné en janvier."), ["AFP"]),
    ("di-agency", ("Di Mario Rossi (ANSA)\nIl governo ha approvato mercoledì la manovra, ha "
     "annunciato la premier.\nIl testo passa ora al Parlamento."), ["ANSA"]),
    ("avec", ("Le gouvernement a présenté mercredi un projet de loi, a-t-on appris.\n"
     "Le texte sera examiné en janvier.\n(Avec AFP)"), ["AFP"]),
]


@pytest.mark.parametrize("text,credit", [c[1:] for c in CREDITS], ids=[c[0] for c in CREDITS])
def test_credit_lines(text: str, credit: list) -> None:
    found = extract(text=text, published_at=PUBLISHED)
    assert sorted(found.attribution.credit) == sorted(credit)
    assert found.attribution.photo == ()


CITATIONS = [
    ("told-the", "The mayor told the AP that the city would rebuild the bridge within a year.",
     ["AP"]),
    ("email-to", ("In an email to The Associated Press, the company said it was reviewing the "
     "claims."), ["AP"]),
    ("seen-by", "The plan, according to a document seen by Reuters, would cut costs by a fifth.",
     ["Reuters"]),
    ("reviewed-by", "Emails reviewed by Reuters show the bank knew of the problem in March.",
     ["Reuters"]),
    ("a-report", "Shares jumped after a Bloomberg report said the company was exploring a sale.",
     ["Bloomberg"]),
    ("fr-a-l", "« Nous ne céderons pas », a déclaré le ministre à l'AFP mercredi soir.", ["AFP"]),
    ("fr-decompte", "Le bilan s'élève à douze morts, selon un décompte de l'AFP.", ["AFP"]),
    ("de-gegenueber", "Das sagte ein Sprecher gegenüber der dpa am Mittwoch in Berlin.", ["dpa"]),
    ("es-dijo-a-la-agencia", ("El ministro dijo a la agencia Reuters que el acuerdo se firmará "
     "pronto."), ["Reuters"]),
    ("it-all", "Lo ha detto il ministro all'ANSA a margine di un incontro a Roma.", ["ANSA"]),
    ("pt-a", "O ministro disse à Lusa que o acordo será assinado na próxima semana.", ["Lusa"]),
]


@pytest.mark.parametrize("text,cited", [c[1:] for c in CITATIONS], ids=[c[0] for c in CITATIONS])
def test_citations(text: str, cited: list) -> None:
    found = extract(text=text, published_at=PUBLISHED)
    assert list(found.attribution.cited) == cited
    assert found.attribution.credit == ()


@pytest.mark.parametrize("text", [
    "A Reuters reporter was among those injured in the blast on Monday.",
    "The AP style guide was updated last year.",
    "Die dpa hat ihren Sitz in Hamburg und beschäftigt Hunderte Journalisten.",
    "La agencia EFE cumple 85 años este año con una exposición en Madrid.",
])
def test_mentions_that_are_no_citation(text: str) -> None:
    assert extract(text=text, published_at=PUBLISHED).attribution.cited == ()


PHOTOS = [
    ("name-comma-agency", "Workers clear debris after the storm. Jane Doe, AP", ["AP"]),
    ("credit-label", "Fans celebrate in the streets. Credit: EPA", ["EPA"]),
    ("foto-slash", "Der Kanzler im Bundestag. Foto: Hans Muster/imago", ["Imago"]),
    ("via-spanish", "Manifestantes en la capital, el lunes. (Foto: Juan Pérez vía AP)", ["AP"]),
    ("chain", "Der Gipfel in Brüssel. picture alliance/dpa/EPA Pool via AP", ["dpa", "EPA", "AP"]),
    ("image-copyright", ("Image copyright Reuters Image caption Protesters gathered outside "
     "parliament"), ["Reuters"]),
    ("full-width", "Crowds gather in Tokyo on Monday.（Photo／Kyodo）", ["Kyodo"]),
    ("glued", "Crowds gather in Tokyo on Monday.ＡＦＰ", ["AFP"]),
]


@pytest.mark.parametrize("caption,photo", [p[1:] for p in PHOTOS], ids=[p[0] for p in PHOTOS])
def test_photo_credits_in_captions(caption: str, photo: list) -> None:
    html = (f"<figure><img src=a.jpg><figcaption>{caption}</figcaption></figure>"
            "<p>The main text of the story goes on here for a while.</p>")
    assert list(extract(html=html, published_at=PUBLISHED).attribution.photo) == photo


@pytest.mark.parametrize("caption", [
    "Workers clear debris after the storm. Main Street, Springfield",
    "Jane Doe, mayor of the town, speaks to residents on Monday.",
])
def test_captions_without_a_credit(caption: str) -> None:
    html = (f"<figure><img src=a.jpg><figcaption>{caption}</figcaption></figure>"
            "<p>The main text of the story goes on here for a while.</p>")
    assert extract(html=html, published_at=PUBLISHED).attribution.photo == ()


def test_one_indented_line_keeps_lines_as_paragraphs() -> None:
    story = ("Officials said the bridge would reopen on Monday after repairs.\n"
             "Traffic will be limited to one lane in each direction for a week.\n"
             "  Drivers were told to expect delays.\n"
             "The work cost about 2 million dollars, the city said.\n")
    assert len(clean_text(story).paragraphs) == 4
