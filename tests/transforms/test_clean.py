"""Text cleaning: fixtures from real-world page and wire formats, each stating its expectations.

A fixture in fixtures/clean/ is an .html or .txt file that opens with a YAML block between two
``---`` lines, followed by the input (or ``input:``, a file under tests/, for shared fixtures):

    description: what the case is and why it matters
    removed:            # exactly what cleaning must remove, in document order
      - promo: "Sign up now: ..."
    paragraphs: [...]   # the exact paragraphs kept, or
    keeps_other_lines: true   # (.txt) every other non-empty line is kept, as written
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clean import KINDS, Cleaned, Removed, clean_html, clean_text

TESTS = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "clean"
CASES = sorted([*FIXTURES.glob("*.html"), *FIXTURES.glob("*.txt")])
SPEC_KEYS = {"description", "input", "removed", "paragraphs", "keeps_other_lines"}


def load_case(path: Path) -> tuple[dict, str]:
    raw = path.read_text("utf-8")
    assert raw.startswith("---\n"), f"{path.name}: must open with a '---' YAML block"
    end = raw.index("\n---\n", 4)
    spec = yaml.safe_load(raw[4:end])
    unknown = set(spec) - SPEC_KEYS
    assert not unknown, f"{path.name}: unknown keys {sorted(unknown)}"
    assert "description" in spec and "removed" in spec, f"{path.name}: needs description, removed"
    assert {"paragraphs", "keeps_other_lines"} & set(spec), \
        f"{path.name}: states nothing about the kept text"
    source = (TESTS / spec["input"]).read_text("utf-8") if "input" in spec else raw[end + 5:]
    return spec, source


def normalised_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name)
def test_fixture(path: Path) -> None:
    spec, source = load_case(path)
    cleaned = clean_html(source) if path.suffix == ".html" else clean_text(source)

    expected_removed = [(kind, text) for item in spec["removed"] for kind, text in item.items()]
    assert [(r.kind, r.text) for r in cleaned.removed] == expected_removed
    assert all(r.kind in KINDS for r in cleaned.removed)
    if "paragraphs" in spec:
        assert list(cleaned.paragraphs) == spec["paragraphs"]
    if spec.get("keeps_other_lines"):
        kept = normalised_lines(source)
        for _, text in expected_removed:
            kept.remove(text)
        assert list(cleaned.paragraphs) == kept


def test_text_joins_paragraphs_with_a_blank_line() -> None:
    cleaned = Cleaned(paragraphs=("One.", "Two."), removed=(Removed("promo", "Sign up"),))
    assert cleaned.text == "One.\n\nTwo."


def test_html_without_markup_is_read_line_by_line() -> None:
    html = "Headline\nPHOTO: AFP\nPARIS (AFP) - Fran&ccedil;ois said &quot;no&quot;."
    cleaned = clean_html(html)
    assert cleaned.paragraphs == ("Headline", 'PARIS (AFP) - François said "no".')
    assert cleaned.removed == (Removed("photo_credit", "PHOTO: AFP"),)


def test_a_lone_credit_does_not_take_the_headline_or_a_dateline_paragraph() -> None:
    cleaned = clean_text("North Korea fires missile\nPHOTO: AFP\n"
                         "SEOUL (Reuters) - North Korea fired a missile.\nREUTERS/Kim Hong-Ji\n"
                         "It was the third launch this month.")
    assert cleaned.paragraphs == ("North Korea fires missile",
                                  "SEOUL (Reuters) - North Korea fired a missile.",
                                  "It was the third launch this month.")
    assert [r.kind for r in cleaned.removed] == ["photo_credit", "photo_credit"]


def test_a_bare_agency_slash_line_after_the_text_is_a_sign_off() -> None:
    text = ("ABU DHABI, 17th October 2023 (WAM) -- The President received a phone call today.\n"
            "The two leaders discussed the situation in the region.\n"
            "WAM/Jane Doe/John Roe")
    cleaned = clean_text(text)
    assert cleaned.paragraphs == tuple(text.splitlines())
    assert cleaned.removed == ()
    # marked as a photo credit it is one, but the story's last paragraph is not its caption
    cleaned = clean_text(text.replace("WAM/", "Photo: WAM/"))
    assert cleaned.paragraphs == tuple(text.splitlines())[:2]
    assert cleaned.removed == (Removed("photo_credit", "Photo: WAM/Jane Doe/John Roe"),)


def test_a_lone_credit_does_not_take_reported_speech_as_its_caption() -> None:
    cleaned = clean_text("Li said China is ready to work with all parties.\n"
                         "Photo: ITAR-TASS/Sergei Bobylev\n"
                         "“We will not accept this,” the minister said on Tuesday.\n"
                         "(AP Photo/Evan Vucci)\n"
                         "Talks resume next week.")
    assert cleaned.paragraphs == ("Li said China is ready to work with all parties.",
                                  "“We will not accept this,” the minister said on Tuesday.",
                                  "Talks resume next week.")
    assert [r.kind for r in cleaned.removed] == ["photo_credit", "photo_credit"]


def test_an_image_between_text_and_credit_protects_the_text() -> None:
    html = ("<p>The ministry said the talks had ended.</p><img src='a.jpg'>"
            "<p>PHOTO: AFP</p><p>More text.</p>")
    cleaned = clean_html(html)
    assert cleaned.paragraphs == ("The ministry said the talks had ended.", "More text.")
    assert cleaned.removed == (Removed("photo_credit", "PHOTO: AFP"),)


def test_private_use_characters_in_the_input_are_not_taken_for_internal_marks() -> None:
    # U+E000.. are icon-font glyphs on some sites; cleaning marks images and figures with two
    assert clean_text("A\ue0017\nB\ue000").paragraphs == ("A7", "B")
    assert clean_html("<p>\ue0013</p><p>\ue000x</p><figure>Cap.</figure>").paragraphs == ("3", "x")


@pytest.mark.parametrize("html", [
    "<figure><figcaption>Cap ( )</figcaption></figure><p>x</p>",
    "<figure><img src=a.jpg></figure><p>x</p>",
    "<figure><figcaption></figcaption><span class='credit'> </span></figure><p>x</p>",
    "<blockquote class='twitter-tweet'></blockquote><p>x</p>",
    "<table><tr></tr></table><p>x</p>",
])
def test_empty_or_odd_structures_leave_the_text_alone(html: str) -> None:
    assert clean_html(html).paragraphs == ("x",)


# Properties over arbitrary input: cleaning never fails, its output is normalised, and
# cleaning cleaned text changes nothing.
_texty = st.text(
    alphabet=st.one_of(
        st.sampled_from("abc XYZ019.,:;|/()-–—“”’'&#\n\t"
                        "\u00a0\u200b\u00ad\u2029\ue000\ue001éÃ©â€™"),
        st.characters(codec="utf-8"),
    ),
    max_size=300,
)
_linesy = st.lists(
    st.one_of(
        _texty,
        st.sampled_from(["PHOTO: AFP", "Sign up now: Get insights", "By Jane Doe",
                         "(Corrects paragraph 3)", "REUTERS/Jane Doe", "Read more: x",
                         "A caption on Sept 13.", "Copyright 2023 Reuters", ""]),
    ),
    max_size=12,
).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(_linesy)
def test_clean_text_output_is_normalised_and_stable(text: str) -> None:
    cleaned = clean_text(text)
    for p in (*cleaned.paragraphs, *(r.text for r in cleaned.removed)):
        assert p and p == " ".join(p.split())
        assert unicodedata.is_normalized("NFC", p)
        assert "\u200b" not in p and "\u00ad" not in p
    assert clean_text(cleaned.text).paragraphs == cleaned.paragraphs


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_texty, st.sampled_from(["<p>", "</p>", "<br>", "<figure>",
                                                  "<figcaption>", "</figcaption>", "</figure>",
                                                  "<span class='credit'>", "<p class=caption>",
                                                  "( )", " | ", "PHOTO: AFP", "<script>",
                                                  "<blockquote class='twitter-tweet'>",
                                                  "<img src=x>", "<table><tr><td>", "&amp;"])),
                max_size=20).map("".join))
def test_clean_html_never_fails_on_arbitrary_markup(html: str) -> None:
    cleaned = clean_html(html)
    for p in cleaned.paragraphs:
        assert p and p == " ".join(p.split())
        assert "\ue000" not in p and "\ue001" not in p
