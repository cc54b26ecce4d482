"""The compact story lines printed by `newswire tail` and `newswire run` (pure, no Kafka)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from pipeline.display import (
    count_matches,
    dateline_places,
    format_count,
    format_dead_letter,
    format_story,
    story_matches,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
SEED = json.loads((EXAMPLES / "seed-enriched.json").read_text("utf-8"))
DEAD = json.loads((EXAMPLES / "dead-letter.json").read_text("utf-8"))
COUNT = json.loads((EXAMPLES / "stats.json").read_text("utf-8"))


def test_seed_story_line_shows_places_with_countries_and_every_agency_role():
    assert format_story(SEED) == (
        "US envoy calls alleged North Korea, Russia weapons delivery dangerous  [straitstimes.com]\n"
        "    JAKARTA (ID) / SEOUL (KR)  credit: Reuters  cited: TASS, KCNA  photo: AFP"
    )


def test_missing_parts_are_shown_as_missing_not_skipped():
    record = copy.deepcopy(SEED)
    record.update(title=None, dateline=None, revision=3)
    record["attribution"].update(credit=[], cited=[], photo=[])
    assert format_story(record) == (
        "(no title)  [straitstimes.com, revision 3]\n"
        "    no dateline  credit: -  cited: -  photo: -"
    )


def test_unresolved_place_gets_a_question_mark():
    record = copy.deepcopy(SEED)
    record["dateline"]["locations"][1]["country"] = None
    assert dateline_places(record) == "JAKARTA (ID) / SEOUL (?)"


def test_dead_letter_line_names_stage_source_the_story_and_the_reason():
    assert format_dead_letter(DEAD) == (
        "DEAD LETTER  stage validate  news.raw[0]@7  "
        "US envoy calls alleged North Korea, Russia weapons delivery dangerous\n"
        "    revision: must be bigger than or equal to 1 (news.raw partition 0 offset 7)"
    )


@pytest.mark.parametrize("value", [b"<html>not json", b'["a list"]', b'{"title": null}'])
def test_dead_letter_without_a_readable_title_shows_its_story_id(value):
    record = dict(DEAD, value_base64=base64.b64encode(value).decode())
    assert format_dead_letter(record).splitlines()[0].endswith(
        "news.raw[0]@7  810147c4df963cd2ff5d47641cea963a")


def test_dead_letter_without_story_id_or_source_still_formats():
    record = dict(DEAD, value_base64="not base64!", story_id=None, source=None)
    assert format_dead_letter(record).splitlines()[0] == (
        "DEAD LETTER  stage validate  no source record  unknown story")


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, True),
        ({"credit": ["Reuters"]}, True),
        ({"credit": ["reuters"]}, True),
        ({"credit": ["AP"]}, False),
        ({"credit": ["AP", "Reuters"]}, True),
        ({"cited": ["KCNA"]}, True),
        ({"cited": ["Reuters"]}, False),
        ({"countries": ["KR"]}, True),
        ({"countries": ["ID"]}, True),
        ({"countries": ["US"]}, False),
        ({"credit": ["Reuters"], "countries": ["US"]}, False),
        ({"credit": ["Reuters"], "cited": ["TASS"], "countries": ["KR"]}, True),
    ],
)
def test_filters_match_any_value_within_a_filter_and_all_filters(filters, expected):
    assert story_matches(SEED, **filters) is expected


def test_story_without_dateline_fails_a_country_filter():
    record = copy.deepcopy(SEED)
    record["dateline"] = None
    assert story_matches(record, countries=["KR"]) is False


def test_count_line_shows_the_window_what_was_counted_and_the_pane():
    assert format_count(COUNT) == (
        "2023-10-17T09:05:00Z .. 2023-10-17T09:06:00Z  country KR                1  (on_time, pane 0)"
    )


def test_a_count_value_with_terminal_controls_is_shown_without_them():
    line = format_count(dict(COUNT, dimension="credit", value="tca\x1b[2J\u202e"))
    assert "\x1b" not in line and "\u202e" not in line and " tca[2J " in line


@pytest.mark.parametrize(
    ("filters", "shown"),
    [
        ({}, True),
        ({"countries": ["kr"]}, True),
        ({"countries": ["ID"]}, False),
        ({"credit": ["KR"]}, False),  # a credit filter does not pick country counts
        ({"credit": ["Reuters"], "countries": ["KR"]}, True),
    ],
)
def test_count_filters_pick_dimension_and_value(filters, shown):
    assert count_matches(COUNT, **filters) is shown
