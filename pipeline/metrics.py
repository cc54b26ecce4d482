"""Prometheus metrics of the feed reader and the enrichment pipeline, and their HTTP endpoint.

Every metric lives in one registry, :data:`REGISTRY` (with the process collector: CPU,
memory, open files), served by :func:`start_metrics_server` at ``/metrics``. Code records
through the small functions below, which check their label values: labels come from short
fixed sets (never a feed URL, a story id or a free-text reason), so the number of series
stays bounded however many feeds and stories pass. All series exist from the start (at 0),
so ``rate()`` and the dashboard work before the first event.

Reader (``newswire ingest``)
    ``newswire_reader_polls_total{outcome}``             polls by outcome (POLL_OUTCOMES)
    ``newswire_reader_fetch_duration_seconds``           time to fetch a feed (histogram)
    ``newswire_reader_entries_published_total{kind}``    entries Kafka acknowledged: new / revision
    ``newswire_reader_entries_unchanged_total``          known entries seen again unchanged
    ``newswire_reader_publish_failures_total``           sends Kafka did not acknowledge (retried)
    ``newswire_reader_outbox_pending``                   records waiting for Kafka
    ``newswire_reader_feeds{state}``                     feeds by state: ok / failing
Pipeline (``newswire enrich``, in the process that runs the DoFns)
    ``newswire_pipeline_records_read_total``             raw records read from Kafka
    ``newswire_pipeline_stories_enriched_total``         enriched stories written
    ``newswire_pipeline_duplicates_dropped_total``       redeliveries and stale revisions dropped
    ``newswire_pipeline_dead_letters_total{stage,reason}`` records dead-lettered (reason: error class)
    ``newswire_pipeline_consumer_lag_records{partition}`` records behind the partition's end
    ``newswire_pipeline_end_to_end_latency_seconds``     raw record's Kafka timestamp → enriched write
Both
    ``newswire_build_info{version,component}``           1, labelled with the running version

On Flink and Dataflow the DoFns run in SDK worker processes: pass the same
``--metrics-port`` and each worker process serves its own endpoint (see deploy/README.md);
Beam's own counters (``Metrics.counter``) are reported through the runner as well.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server
from prometheus_client.process_collector import ProcessCollector

from pipeline import __version__
from schemas import DEAD_LETTER

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

POLL_OUTCOMES = ("fetched", "not_modified", "malformed", "failed", "throttled")
"""fetched: new content parsed; not_modified: 304; malformed: parsed with errors (feedparser
bozo, entries recovered); failed: fetch or parse error; throttled: 429/503 with Retry-After."""
PUBLISH_KINDS = ("new", "revision")
# the article outcomes of schemas/raw_story.schema.json (pipeline/reader/pages.py)
ARTICLE_OUTCOMES = ("fetched", "not_needed", "skipped", "robots_disallow", "http_error",
                    "fetch_error", "too_large", "not_html", "too_little_text")
FEED_STATES = ("ok", "failing")
COMPONENTS = ("reader", "pipeline", "run")
STAGES = tuple(DEAD_LETTER.schema["properties"]["stage"]["enum"])
_REASON = re.compile(r"[^A-Za-z0-9_.]+")
MAX_REASON_CHARS = 64

# Latency buckets from 10 ms (continuous mode on one machine) to an hour (a backlog).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

BUILD_INFO = Gauge("newswire_build_info", "The running newswire version (always 1)",
                   ["version", "component"], registry=REGISTRY)

READER_POLLS = Counter("newswire_reader_polls", "Feed polls by outcome", ["outcome"],
                       registry=REGISTRY)
READER_FETCH_SECONDS = Histogram(
    "newswire_reader_fetch_duration_seconds", "Time to fetch one feed (request to last byte)",
    buckets=FETCH_BUCKETS, registry=REGISTRY,
)
READER_PUBLISHED = Counter(
    "newswire_reader_entries_published", "Feed entries published and acknowledged by Kafka",
    ["kind"], registry=REGISTRY,
)
READER_UNCHANGED = Counter(
    "newswire_reader_entries_unchanged", "Known entries seen again with no change (not published)",
    registry=REGISTRY,
)
READER_PUBLISH_FAILURES = Counter(
    "newswire_reader_publish_failures", "Sends Kafka did not acknowledge (kept and retried)",
    registry=REGISTRY,
)
READER_ARTICLES = Counter(
    "newswire_reader_article_pages", "Entries by article-page outcome (new and edited entries)",
    ["outcome"], registry=REGISTRY,
)
READER_OUTBOX = Gauge("newswire_reader_outbox_pending", "Records waiting for Kafka",
                      registry=REGISTRY)
READER_FEEDS = Gauge("newswire_reader_feeds", "Feeds by state", ["state"], registry=REGISTRY)

PIPELINE_READ = Counter("newswire_pipeline_records_read", "Raw records read from Kafka",
                        registry=REGISTRY)
PIPELINE_ENRICHED = Counter("newswire_pipeline_stories_enriched", "Enriched stories written",
                            registry=REGISTRY)
PIPELINE_DUPLICATES = Counter(
    "newswire_pipeline_duplicates_dropped",
    "Records dropped by dedup: redeliveries and revisions older than one already passed",
    registry=REGISTRY,
)
PIPELINE_DEAD_LETTERS = Counter(
    "newswire_pipeline_dead_letters",
    "Records sent to the dead-letter topic, by failing stage and error class",
    ["stage", "reason"], registry=REGISTRY,
)
PIPELINE_LAG = Gauge(
    "newswire_pipeline_consumer_lag_records",
    "Records between the pipeline's read position and the end of the input partition",
    ["partition"], registry=REGISTRY,
)
PIPELINE_LATENCY = Histogram(
    "newswire_pipeline_end_to_end_latency_seconds",
    "From the raw record's Kafka timestamp to the enriched record's write",
    buckets=LATENCY_BUCKETS, registry=REGISTRY,
)

for _outcome in POLL_OUTCOMES:
    READER_POLLS.labels(_outcome)
for _kind in PUBLISH_KINDS:
    READER_PUBLISHED.labels(_kind)
for _outcome in ARTICLE_OUTCOMES:
    READER_ARTICLES.labels(_outcome)
for _state in FEED_STATES:
    READER_FEEDS.labels(_state)


def _check(name: str, value: str, accepted: tuple[str, ...]) -> str:
    if value not in accepted:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(accepted)}")
    return value


def reason_label(reason: str) -> str:
    """A bounded label from an error class name: ``RecordError``, ``orjson.JSONDecodeError``."""
    label = _REASON.sub("_", str(reason)).strip("_")[:MAX_REASON_CHARS]
    return label or "unknown"


# --- reader -----------------------------------------------------------------------------

def record_poll(outcome: str, fetch_seconds: float | None = None) -> None:
    """One poll of one feed ended with ``outcome``; ``fetch_seconds`` when a fetch happened."""
    READER_POLLS.labels(_check("outcome", outcome, POLL_OUTCOMES)).inc()
    if fetch_seconds is not None:
        READER_FETCH_SECONDS.observe(fetch_seconds)


def record_published(kind: str = "new", count: int = 1) -> None:
    """``count`` entries were acknowledged by Kafka (``kind``: new or revision)."""
    READER_PUBLISHED.labels(_check("kind", kind, PUBLISH_KINDS)).inc(count)


def record_article(outcome: str) -> None:
    """One new or edited entry ended with this article-page ``outcome``."""
    READER_ARTICLES.labels(_check("outcome", outcome, ARTICLE_OUTCOMES)).inc()


def record_unchanged(count: int = 1) -> None:
    READER_UNCHANGED.inc(count)


def record_publish_failure(count: int = 1) -> None:
    READER_PUBLISH_FAILURES.inc(count)


def set_outbox_pending(count: int) -> None:
    READER_OUTBOX.set(count)


def set_feed_states(ok: int, failing: int) -> None:
    READER_FEEDS.labels("ok").set(ok)
    READER_FEEDS.labels("failing").set(failing)


# --- pipeline ---------------------------------------------------------------------------

def record_read(count: int = 1) -> None:
    PIPELINE_READ.inc(count)


def record_enriched(count: int = 1) -> None:
    PIPELINE_ENRICHED.inc(count)


def record_duplicate(count: int = 1) -> None:
    PIPELINE_DUPLICATES.inc(count)


def record_dead_letter(stage: str, reason: str) -> None:
    """A record was dead-lettered at ``stage`` (the dead letter's stage) because of
    ``reason``, the error class (the dead letter's ``error_type``), not its message."""
    PIPELINE_DEAD_LETTERS.labels(_check("stage", stage, STAGES), reason_label(reason)).inc()


def set_consumer_lag(partition: int, lag: int) -> None:
    """The reader of the input topic is ``lag`` records behind the end of ``partition``."""
    PIPELINE_LAG.labels(str(partition)).set(max(0, lag))


def observe_end_to_end(kafka_timestamp_ms: int | None, now: float | None = None) -> None:
    """Latency from the raw record's Kafka timestamp to now (seconds since the epoch)."""
    if kafka_timestamp_ms is None or kafka_timestamp_ms < 0:
        return
    seconds = (time.time() if now is None else now) - kafka_timestamp_ms / 1000
    PIPELINE_LATENCY.observe(max(0.0, seconds))


# --- the endpoint -----------------------------------------------------------------------

_servers: dict[int, WSGIServer] = {}
_servers_lock = threading.Lock()


def start_metrics_server(port: int, component: str, addr: str = "127.0.0.1",
                         if_in_use: str = "raise") -> int | None:
    """Serve REGISTRY on ``http://addr:port/metrics`` from a daemon thread; return the port.
    Loopback unless ``addr`` says otherwise ("0.0.0.0": every interface, for a scraper on
    another host or container).

    Once per process and port: later calls return the running server's port. ``port=0``
    picks a free port. When the port is taken, ``if_in_use="raise"`` raises OSError naming
    the port (a service's own endpoint); ``"warn"`` logs and returns None (SDK worker
    processes of a pipeline sharing a host: the first one serves).
    """
    _check("component", component, COMPONENTS)
    _check("if_in_use", if_in_use, ("raise", "warn"))
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ValueError(f"--metrics-port: {port!r} is not a TCP port (0-65535)")
    BUILD_INFO.labels(__version__, component).set(1)
    with _servers_lock:
        if port and port in _servers:
            return port
        try:
            server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
        except OSError as exc:
            message = (f"--metrics-port {port}: cannot serve metrics on {addr}:{port} "
                       f"({exc.strerror or exc}); choose another port")
            if if_in_use == "warn":
                log.warning("%s", message)
                return None
            raise OSError(exc.errno, message) from exc
        actual = server.server_port
        _servers[actual] = server
    log.info("metrics at http://%s:%d/metrics", addr, actual)
    return actual


def stop_metrics_server(port: int) -> None:
    """Stop a server started by :func:`start_metrics_server` (tests, `newswire run`)."""
    with _servers_lock:
        server = _servers.pop(port, None)
    if server is not None:
        server.shutdown()
        server.server_close()
