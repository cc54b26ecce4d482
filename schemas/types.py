"""Python types of the records; the JSON Schema files next to this module are the contract,
these TypedDicts mirror them for editors and type checkers."""

from __future__ import annotations

from typing import Literal, TypedDict


class Source(TypedDict):
    feed_url: str
    feed_title: str | None
    publisher: str
    entry_id: str | None
    link: str | None


class _StoryFields(TypedDict):
    schema_version: str
    story_id: str
    revision: int
    source: Source
    title: str | None
    authors: list[str]
    categories: list[str]
    language: str | None
    published_at: str | None
    updated_at: str | None
    fetched_at: str


class ArticleOutcome(TypedDict, total=False):
    outcome: Literal["fetched", "not_needed", "skipped", "robots_disallow", "http_error",
                     "fetch_error", "too_large", "not_html", "too_little_text"]
    url: str | None
    final_url: str | None
    status: int | None
    bytes: int | None
    reason: str | None
    body: Literal["page", "feed"]  # enriched records only


class Page(TypedDict):
    url: str
    html: str
    content_type: str | None
    encoding: str


class PageMetadata(TypedDict):
    headline: str | None
    authors: list[str]
    published_at: str | None
    modified_at: str | None
    section: str | None
    language: str | None
    canonical_url: str | None
    accessible_for_free: bool | None


class RawStory(_StoryFields, total=False):
    html: str | None  # required, like every _StoryFields key
    text: str | None  # required
    article: ArticleOutcome  # since 1.1
    page: Page | None  # since 1.1


class Place(TypedDict, total=False):
    name: str
    normalized: str | None
    country: str | None
    lat: float | None
    lon: float | None
    geonameid: int | None
    admin1: str | None


class DatelineDate(TypedDict):
    raw: str
    iso: str | None


class Dateline(TypedDict):
    raw: str
    locations: list[Place]
    date: DatelineDate | None


class Removed(TypedDict):
    kind: str
    text: str


class Cleaning(TypedDict):
    removed: list[Removed]


class Contributor(TypedDict):
    name: str
    role: str


class Finding(TypedDict, total=False):
    agency: str
    role: Literal["credit", "cited", "photo"]
    rule: str
    field: Literal["text", "dateline", "removed", "title"]
    index: int | None
    start: int
    end: int
    photographer: str | None


class Attribution(TypedDict, total=False):
    credit: list[str]
    cited: list[str]
    photo: list[str]
    contributors: list[Contributor]
    findings: list[Finding]


class KafkaPosition(TypedDict):
    topic: str
    partition: int
    offset: int


class Processing(TypedDict, total=False):
    pipeline_version: str
    processed_at: str
    input: KafkaPosition | None


class EnrichedStory(_StoryFields, total=False):
    text: str  # required, as are cleaning, dateline, attribution and processing
    cleaning: Cleaning
    dateline: Dateline | None
    attribution: Attribution
    processing: Processing
    article: ArticleOutcome  # since 1.1
    page: PageMetadata | None  # since 1.1


class DeadLetterSource(TypedDict):
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key_base64: str | None


class DeadLetter(TypedDict):
    schema_version: str
    stage: str
    reason: str
    error_type: str
    pipeline_version: str
    failed_at: str
    story_id: str | None
    source: DeadLetterSource | None
    value_base64: str


class Pane(TypedDict):
    index: int
    timing: Literal["early", "on_time", "late", "unknown"]


class WindowCount(TypedDict):
    schema_version: str
    window_start: str
    window_end: str
    dimension: Literal["country", "credit", "cited"]
    value: str
    count: int
    pane: Pane
    pipeline_version: str
    emitted_at: str
