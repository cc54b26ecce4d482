"""Structured logging: JSON lines with the context fields, or text with key=value."""

from __future__ import annotations

import io
import json
import logging

import pytest

from pipeline.logging_setup import JsonFormatter, TextFormatter, configure_logging


def emit(formatter: logging.Formatter, *, exc: bool = False, **extra) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"newswire.test.{id(formatter)}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        if exc:
            try:
                raise ValueError("boom")
            except ValueError:
                logger.exception("could not enrich %s", "a story", extra=extra)
        else:
            logger.warning("feed malformed: %s", "bare &", extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_lines_carry_the_context_fields_first():
    line = emit(JsonFormatter(), offset=42, feed="https://example.com/rss", topic="news.raw",
                partition=0, story_id="ab" * 16, extra_field={"nested": 1})
    assert line.count("\n") == 1
    entry = json.loads(line)
    assert entry["message"] == "feed malformed: bare &"
    assert entry["level"] == "WARNING"
    assert entry["time"].endswith("Z")
    assert list(entry)[4:9] == ["feed", "story_id", "topic", "partition", "offset"]
    assert entry["offset"] == 42 and entry["extra_field"] == {"nested": 1}


def test_json_keeps_the_traceback_in_one_field_and_one_line():
    line = emit(JsonFormatter(), exc=True, story_id="cd" * 16)
    assert line.count("\n") == 1
    entry = json.loads(line)
    assert entry["message"] == "could not enrich a story"
    assert "ValueError: boom" in entry["exception"]


def test_json_writes_values_it_cannot_serialise_as_text():
    entry = json.loads(emit(JsonFormatter(), feed=object.__new__(type("Feed", (), {
        "__str__": lambda self: "feed-object"}))))
    assert entry["feed"] == "feed-object"


def test_text_shows_context_after_the_message_and_the_traceback_below():
    lines = emit(TextFormatter(), exc=True, topic="news.raw", partition=1, offset=7).splitlines()
    assert lines[0].endswith("could not enrich a story topic=news.raw partition=1 offset=7")
    assert lines[-1] == "ValueError: boom"


def test_unknown_format_is_refused_with_the_accepted_ones():
    with pytest.raises(ValueError, match="--log-format: 'xml' is not one of text, json"):
        configure_logging("INFO", "xml")


def test_configure_logging_routes_every_logger_and_quiets_kafka():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("kafka").level)
    stream = io.StringIO()
    try:
        configure_logging("INFO", "json", stream)
        logging.getLogger("pipeline.reader").info("polled", extra={"feed": "f"})
        logging.getLogger("kafka.conn").info("connected")  # below WARNING: not shown
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("kafka").setLevel(saved[2])
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entries == [dict(entries[0], logger="pipeline.reader", message="polled", feed="f")]
