"""`newswire extract`: clean text, dateline and attribution for stories in files or stdin."""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, Any

import orjson

from pipeline import __version__
from schemas import ENRICHED_STORY, RAW_STORY
from schemas.timefmt import parse_rfc3339, utc_now
from transforms.extract import enrich_record, extract, to_fields
from transforms.page import page_fields

HELP = "extract clean text, dateline and attribution from stories (JSON Lines or plain files)"
DESCRIPTION = (
    "Read stories as JSON Lines (from the FILEs, or stdin when none) and write one enriched "
    "JSON line per story to stdout, in input order. A line is either a raw story record "
    "(news.raw, with or without the article page; it becomes a full enriched record), any "
    "object with 'text' or 'html', or a whole web page as {\"page_html\": ..., \"url\": ...} "
    "(the pipeline's article-body extraction runs on it; optional 'published_at', RFC 3339, "
    "to resolve the dateline year); its other keys, "
    "'id' among them, are kept. A bad line gets an error record on stderr (file, line, "
    "reason) and the rest is processed; the exit status is then 1. With --text or --html "
    "each FILE is one story."
)


class StoryInputError(ValueError):
    """An input object that is not a story this command can read; the message says why."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="input files ('-' or none: stdin)")
    whole = parser.add_mutually_exclusive_group()
    whole.add_argument("--text", action="store_true",
                       help="read each FILE as one plain-text story (its id is the file name)")
    whole.add_argument("--html", action="store_true",
                       help="read each FILE as one HTML story (its id is the file name)")
    parser.add_argument("--published-at", metavar="TIME",
                        help="with --text/--html: the stories' publication time (RFC 3339), "
                        "used to resolve the year of the dateline date")


def main(args: argparse.Namespace) -> int:
    published_at = None
    if args.published_at is not None:
        if not (args.text or args.html):
            return _usage("--published-at applies to --text/--html; in JSON Lines give each "
                          "story its own 'published_at'")
        try:
            parse_rfc3339(args.published_at)
        except ValueError as exc:
            return _usage(f"--published-at {args.published_at!r}: {exc}")
        published_at = args.published_at
    names = args.files or ["-"]
    errors = 0
    for name in names:
        if args.text or args.html:
            errors += _whole_file(name, "text" if args.text else "html", published_at)
        else:
            errors += _json_lines(name)
    return 1 if errors else 0


def _usage(message: str) -> int:
    print(f"newswire extract: {message}", file=sys.stderr)
    return 2


def _json_lines(name: str) -> int:
    """Enrich every line of one JSON Lines input; returns how many lines failed."""
    errors = 0
    try:
        with _open(name) as stream:
            for number, line in enumerate(stream, 1):
                if not line.strip():
                    continue
                try:
                    story = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    errors += _error(name, number, None, f"not valid JSON: {exc}")
                    continue
                try:
                    _emit(_enrich(story))
                except ValueError as exc:  # RecordError, ExtractionError: the reason says it
                    errors += _error(name, number, _id_of(story), str(exc))
                except Exception as exc:  # noqa: BLE001 - one story's failure must not stop the rest
                    errors += _error(name, number, _id_of(story),
                                     f"extraction raised {type(exc).__name__}: {exc}")
    except OSError as exc:
        errors += _error(name, None, None, _cannot_read(exc))
    return errors


def _whole_file(name: str, kind: str, published_at: str | None) -> int:
    """Enrich one file holding one story; returns 1 if it failed, else 0."""
    story_id = "<stdin>" if name == "-" else name
    try:
        with _open(name) as stream:
            data = stream.read()
        story = {"id": story_id, kind: data.decode("utf-8"), "published_at": published_at}
    except OSError as exc:
        return _error(name, None, story_id, _cannot_read(exc))
    except UnicodeDecodeError as exc:
        return _error(name, None, story_id, f"cannot read as UTF-8 {kind}: {exc}")
    try:
        _emit(_enrich(story))
    except Exception as exc:  # noqa: BLE001 - reported as an error record, like a bad line
        return _error(name, None, story_id, f"extraction raised {type(exc).__name__}: {exc}")
    return 0


def _enrich(story: Any) -> dict[str, Any]:
    """One input object → its enriched output object (raises with a reason when it is bad)."""
    if not isinstance(story, dict):
        raise StoryInputError(f"a story is a JSON object, got {type(story).__name__}")
    if "schema_version" in story and "story_id" in story:
        RAW_STORY.validate(story)
        record = enrich_record(story, pipeline_version=__version__, processed_at=utc_now())
        ENRICHED_STORY.validate(record)
        return record
    html, text = story.get("html"), story.get("text")
    page_html, url = story.get("page_html"), story.get("url")
    if html is None and text is None and page_html is None:
        raise StoryInputError("the object has neither 'text' nor 'html' nor 'page_html' (nor is "
                              "it a raw story record with schema_version and story_id)")
    for key, value in (("html", html), ("text", text), ("page_html", page_html), ("url", url)):
        if value is not None and not isinstance(value, str):
            raise StoryInputError(f"'{key}' must be a string, not {type(value).__name__}")
    published = story.get("published_at")
    if published is not None and not isinstance(published, str):
        raise StoryInputError(f"'published_at' must be an RFC 3339 string, not {type(published).__name__}")
    try:
        published_at = parse_rfc3339(published) if published is not None else None
    except ValueError as exc:
        raise StoryInputError(f"'published_at' {published!r} is not RFC 3339: {exc}") from None
    extraction = extract(html=html, text=text, published_at=published_at, page_html=page_html,
                         url=url)
    out = {key: value for key, value in story.items() if key not in ("html", "text", "page_html")}
    if page_html is not None:
        out.update(page_fields(story, extraction.page, extraction.body == "page"))
    out.update(to_fields(extraction))
    return out


def _id_of(story: Any) -> Any:
    if isinstance(story, dict):
        return story.get("id", story.get("story_id"))
    return None


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(record).decode("utf-8") + "\n")
    sys.stdout.flush()


def _error(name: str, line: int | None, story_id: Any, reason: str) -> int:
    record = {"error": reason, "file": name, "line": line, "id": story_id}
    sys.stderr.write(orjson.dumps(record, default=str).decode("utf-8") + "\n")
    sys.stderr.flush()
    return 1


def _cannot_read(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "the file does not exist"
    return f"cannot read: {exc.strerror or exc}"


def _open(name: str) -> AbstractContextManager[IO[bytes]]:
    """The named file, or stdin for "-" (left open when done)."""
    if name == "-":
        return nullcontext(sys.stdin.buffer)
    return Path(name).open("rb")
