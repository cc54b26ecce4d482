"""Stories in flight (transforms.beam.Story) with chosen dateline countries and agencies,
for the windowed-count tests: only what transforms.stats reads is filled in."""

from __future__ import annotations

from transforms.attribution import Attribution
from transforms.beam import Story
from transforms.dateline import Dateline, Place


def dateline(*countries: str | None) -> Dateline:
    places = tuple(Place(f"PLACE{i}", None, country, None, None, None, None)
                   for i, country in enumerate(countries))
    return Dateline("PLACES", 0, 0, 6, places, None, None, ())


def attribution(credit: tuple[str, ...] = (), cited: tuple[str, ...] = (),
                photo: tuple[str, ...] = ()) -> Attribution:
    return Attribution(credit, cited, photo, (), ())


def story(countries: tuple[str, ...] = (), credit: tuple[str, ...] = (),
          cited: tuple[str, ...] = ()) -> Story:
    work = {"dateline": dateline(*countries) if countries else None,
            "attribution": attribution(credit, cited)}
    return Story(None, work)
