"""Logging for every newswire command: readable text, or one JSON object per line.

Code logs with the standard library and passes context as ``extra``::

    log.warning("feed malformed: %s", reason, extra={"feed": url})
    log.error("cannot enrich: %s", exc, extra={"story_id": sid, "topic": t, "partition": p, "offset": o})

The JSON format (for log shippers: Loki, Elasticsearch, Cloud Logging) writes ``time``
(RFC 3339 UTC), ``level``, ``logger``, ``message``, every ``extra`` field (CONTEXT_FIELDS
first), and ``exception`` with the traceback when there is one. The text format shows the
context fields after the message as ``key=value``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import IO, Any

import orjson

LOG_FORMATS = ("text", "json")
CONTEXT_FIELDS = ("feed", "story_id", "topic", "partition", "offset", "stage", "reason")
# Attributes every LogRecord has; anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of a record, CONTEXT_FIELDS first."""
    extras = {key: value for key, value in vars(record).items()
              if key not in _STANDARD and not key.startswith("_")}
    ordered = {key: extras.pop(key) for key in CONTEXT_FIELDS if key in extras}
    return {**ordered, **extras}


class JsonFormatter(logging.Formatter):
    """One JSON object per line; values orjson cannot serialise are written with ``str``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context_of(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = context_of(record)
        if not context:
            return text
        first, newline, rest = text.partition("\n")  # keep a traceback below the line
        fields = " ".join(f"{key}={value}" for key, value in context.items())
        return f"{first} {fields}{newline}{rest}"


# Notices Beam logs on the root logger that only mislead here: its optional GCP libraries
# are absent ("apitools not found ...": newswire does not use BigQuery), and it picked the
# default runner (DirectRunner) for a pipeline given none.
_BEAM_ROOT_NOTICES = ("apitools not found", "Missing pipeline option (runner)")
# Loggers that are chatty at INFO: httpx (every request) and Beam's local runner machinery
# (the DirectRunner tries Prism, which it downloads by URL, fails without internet and falls
# back to the FnApiRunner; worker start-up lines). They log at WARNING and above unless the
# level is DEBUG.
CHATTY_LOGGERS = (
    "httpx", "httpcore", "apache_beam.runners.direct",
    "apache_beam.runners.portability.prism_runner", "apache_beam.runners.worker",
)


def _not_beam_root_notice(record: logging.LogRecord) -> bool:
    return not (record.name == "root" and str(record.msg).startswith(_BEAM_ROOT_NOTICES))


def configure_logging(level: str = "INFO", log_format: str = "text",
                      stream: IO[str] | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) in ``log_format``."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"--log-format: {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_not_beam_root_notice)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # The chatty loggers at INFO (see CHATTY_LOGGERS): WARNING unless debugging. kafka-python
    # logs every failed connection attempt as ERROR/WARNING while it retries; our code says
    # what went wrong in one line (pipeline/kafka_clients.py), so its own logs show only at
    # DEBUG.
    for chatty in CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    debug = logging.getLevelName(level) <= logging.DEBUG
    logging.getLogger("kafka").setLevel(logging.DEBUG if debug else logging.CRITICAL + 1)


@contextlib.contextmanager
def quiet(*names: str, below: int = logging.CRITICAL) -> Iterator[None]:
    """Hide these loggers' records below ``below`` for a while, unless the log level is
    DEBUG: a broker's start-up line that the command says itself, the Kafka IO's offset
    corrections where they are not news."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(below, logger.getEffectiveLevel()))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
