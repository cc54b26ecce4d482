"""The fixture feeds of tests/pipeline/reader/fixtures/, each stating its own expectations.

A fixture file starts with a comment holding ``Description:``, ``Headers:`` (the HTTP response
headers it is served with, one line of JSON) and ``Expect:`` (JSON up to the end of the
comment): ``feed_title``, ``interval_hint``, ``problems`` (substrings that must appear, or []
for none), ``error`` (substring of the feed error, for an unreadable document) and
``records``: per published entry, in order, the expected values of record fields (dotted
names reach into ``source``); ``html_contains`` lists substrings of the HTML and
``story_id_same_as_link`` a link whose identity the entry must share.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

FIXTURE_DIR = Path(__file__).parent / "fixtures"
_HEADERS = re.compile(rb"^Headers: (\{.*\})$", re.MULTILINE)
_EXPECT = re.compile(rb"^Expect: (\{.*?\})\s*-->", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class FeedFixture:
    name: str
    body: bytes
    headers: dict[str, str]
    expect: dict

    @property
    def readable(self) -> bool:
        return not self.expect.get("error")


def load_fixture(path: Path) -> FeedFixture:
    body = path.read_bytes()
    headers, expect = _HEADERS.search(body), _EXPECT.search(body)
    if headers is None or expect is None:
        raise ValueError(f"fixture {path.name}: no 'Headers:' and 'Expect:' in its header comment")
    return FeedFixture(path.name, body, json.loads(headers.group(1)), json.loads(expect.group(1)))


def all_fixtures() -> list[FeedFixture]:
    return [load_fixture(path) for path in sorted(FIXTURE_DIR.iterdir()) if path.is_file()]
