"""`newswire ingest`: poll RSS/Atom feeds and publish raw stories to Kafka."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pipeline import metrics
from pipeline.display import plural
from pipeline.kafka_clients import check_bootstrap_servers, check_topic_name
from pipeline.malloc import return_large_blocks
from pipeline.reader.feedlist import FeedListError, load_feed_list
from pipeline.reader.options import DEFAULT_USER_AGENT, FETCH_ARTICLES, ReaderOptions
from pipeline.reader.publish import DEFAULT_MAX_RECORD_BYTES, Publisher
from pipeline.reader.redact import RedactingFilter
from pipeline.reader.service import Reader
from pipeline.reader.shard import parse_shard, select
from pipeline.reader.store import DEFAULT_STORE, Store, StoreError
from pipeline.signals import stop_on_signals

log = logging.getLogger("pipeline.commands.ingest")

HELP = "poll RSS/Atom feeds and publish raw stories to Kafka"
DESCRIPTION = (
    "Poll the feeds listed in FILE (OPML, or one URL/path per line) and publish each new or "
    "edited entry as a raw story to Kafka (key = story_id). Runs until stopped, polling each "
    "feed as it falls due; --once polls every feed one time and exits. What was published, "
    "ETags and feed health are kept in --store, so a restart neither republishes nor "
    "refetches. Exit status with --once: 0 when every feed was handled (whatever the feeds "
    "answered) and Kafka took every record; 1 when records still wait for Kafka; 2 on a usage "
    "or configuration error."
)


def configure(parser: argparse.ArgumentParser) -> None:
    d = ReaderOptions()
    parser.add_argument("--feeds", required=True, metavar="FILE",
                        help="feed list: OPML, or plain text with one URL or path per line (# comments)")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092", metavar="HOST:PORT",
                        help="Kafka bootstrap servers (default: %(default)s)")
    parser.add_argument("--topic", default="news.raw", help="topic for raw stories (default: %(default)s)")
    parser.add_argument("--once", action="store_true",
                        help="poll every feed once, wait for Kafka to take the records, and exit")
    parser.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                        help="SQLite file with the reader's state (default: %(default)s)")
    parser.add_argument("--shard", metavar="K/N",
                        help="poll only share K of N of the feed list (by publisher domain), for "
                        "N readers side by side, each with its own --store")
    timing = parser.add_argument_group("polling")
    timing.add_argument("--interval", type=float, default=d.interval, metavar="SECONDS",
                        help="default time between polls of a feed (default: %(default)s)")
    timing.add_argument("--min-interval", type=float, default=d.min_interval, metavar="SECONDS",
                        help="shortest interval a feed's <ttl>/sy:updatePeriod may ask for (default: %(default)s)")
    timing.add_argument("--max-interval", type=float, default=d.max_interval, metavar="SECONDS",
                        help="longest interval a feed's <ttl>/sy:updatePeriod may ask for (default: %(default)s)")
    timing.add_argument("--max-backoff", type=float, default=d.max_backoff, metavar="SECONDS",
                        help="longest wait after errors; failing feeds are polled this often (default: %(default)s)")
    timing.add_argument("--failing-after", type=int, default=d.failing_after, metavar="N",
                        help="consecutive errors that mark a feed failing (default: %(default)s)")
    timing.add_argument("--concurrency", type=int, default=d.max_concurrency, metavar="N",
                        help="fetches at once, in all (default: %(default)s)")
    timing.add_argument("--per-host", type=int, default=d.per_host, metavar="N",
                        help="fetches at once to one host (default: %(default)s)")
    http = parser.add_argument_group("fetching")
    http.add_argument("--connect-timeout", type=float, default=d.connect_timeout, metavar="SECONDS",
                      help="longest wait for a connection (default: %(default)s)")
    http.add_argument("--read-timeout", type=float, default=d.read_timeout, metavar="SECONDS",
                      help="longest silence while reading a response (default: %(default)s)")
    http.add_argument("--total-timeout", type=float, default=d.total_timeout, metavar="SECONDS",
                      help="longest time for one fetch, redirects included (default: %(default)s)")
    http.add_argument("--max-body-mb", type=float, default=d.max_body_bytes / 2**20, metavar="MB",
                      help="larger responses are cut off there and reported (default: %(default)s)")
    http.add_argument("--max-entries", type=int, default=d.max_entries, metavar="N",
                      help="entries read from one feed document, the first ones; the rest are "
                           "counted and reported (default: %(default)s)")
    http.add_argument("--max-tags", type=int, default=d.max_tags, metavar="N",
                      help="tags (< or &lt;) read from one feed document; it is cut there like an "
                           "oversized body: parsing costs 40-100 µs a tag (default: %(default)s)")
    http.add_argument("--max-redirects", type=int, default=d.max_redirects, metavar="N",
                      help="redirects followed per fetch (default: %(default)s)")
    http.add_argument("--user-agent", default=DEFAULT_USER_AGENT,
                      help="User-Agent header; add a contact URL or e-mail for publishers (default: %(default)s)")
    http.add_argument("--host-rate", type=float, default=d.host_rate, metavar="PER_SECOND",
                      help="requests per second to one host, feeds and pages together; robots.txt "
                      "Crawl-delay slows it further (default: %(default)s)")
    pages = parser.add_argument_group("article pages")
    pages.add_argument("--fetch-articles", choices=FETCH_ARTICLES, default=d.fetch_articles,
                       help="fetch an entry's web page: auto = when the feed gives only a summary "
                       "(content under 250 characters, or a teaser ending in '...'/'Read more'); a "
                       "feed list line may say otherwise "
                       "(default: %(default)s)")
    pages.add_argument("--page-max-mb", type=float, default=d.page_max_bytes / 2**20, metavar="MB",
                       help="larger pages are not read: outcome too_large (default: %(default)s)")
    pages.add_argument("--page-timeout", type=float, default=d.page_timeout, metavar="SECONDS",
                       help="longest time for one page, redirects included (default: %(default)s)")
    http.add_argument("--allow-private-addresses", action="store_true",
                      help="allow feeds on loopback/private addresses (refused by default)")
    http.add_argument("--allow-file-feeds", action="store_true",
                      help="allow local files anywhere as feeds (by default only files in the "
                           "feed list's own folder)")
    kafka = parser.add_argument_group("publishing")
    kafka.add_argument("--max-pending", type=int, default=d.max_pending, metavar="N",
                       help="records waiting for Kafka above which polling pauses (default: %(default)s)")
    kafka.add_argument("--kafka-timeout", type=float, default=30.0, metavar="SECONDS",
                       help="longest wait for Kafka per batch before retrying (default: %(default)s)")
    kafka.add_argument("--max-record-bytes", type=int, default=DEFAULT_MAX_RECORD_BYTES, metavar="N",
                       help="largest record (key + value) sent to Kafka; larger ones, and any Kafka "
                            "refuses for good, are parked in the store (`newswire feeds parked`) "
                            "instead of holding up the others (default: %(default)s)")
    kafka.add_argument("--publish-timeout", type=float, default=120.0, metavar="SECONDS",
                       help="with --once: how long to wait for Kafka to take every record (default: %(default)s)")
    kafka.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                       help="serve Prometheus metrics on this port at /metrics (default: off)")
    kafka.add_argument("--metrics-host", default="127.0.0.1", metavar="ADDRESS",
                       help="address the metrics endpoint binds; 0.0.0.0 for a Prometheus on "
                       "another host or container (default: %(default)s, this machine only)")
    kafka.add_argument("--forget-after-days", type=float, default=90.0, metavar="DAYS",
                       help="forget entries no feed has carried for this long; 0 = never (default: %(default)s)")


def _options(args: argparse.Namespace) -> ReaderOptions:
    return ReaderOptions(
        interval=args.interval, min_interval=args.min_interval, max_interval=args.max_interval,
        max_backoff=args.max_backoff, failing_after=args.failing_after,
        connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
        total_timeout=args.total_timeout, max_body_bytes=int(args.max_body_mb * 2**20),
        max_redirects=args.max_redirects, max_concurrency=args.concurrency,
        per_host=args.per_host, max_pending=args.max_pending, max_entries=args.max_entries, max_tags=args.max_tags,
        allow_private_addresses=args.allow_private_addresses, user_agent=args.user_agent,
        allow_file_feeds=args.allow_file_feeds, file_feed_dir=str(Path(args.feeds).resolve().parent),
        fetch_articles=args.fetch_articles, host_rate=args.host_rate,
        page_max_bytes=int(args.page_max_mb * 2**20), page_timeout=args.page_timeout,
    )


def main(args: argparse.Namespace) -> int:
    return_large_blocks()  # pipeline/malloc.py: decoded bodies' blocks go back to the system
    # httpx logs every request at INFO: one line per feed per poll is noise at this scale.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    for handler in logging.getLogger().handlers:  # no feed URL's password in any log line
        handler.addFilter(RedactingFilter())
    try:
        options = _options(args)
        bootstrap = check_bootstrap_servers(args.bootstrap_servers)
        topic = check_topic_name(args.topic, "--topic")
        if args.kafka_timeout <= 0 or args.publish_timeout <= 0 or args.forget_after_days < 0:
            raise ValueError("--kafka-timeout and --publish-timeout must be > 0, --forget-after-days >= 0")
        if args.max_record_bytes < 1024:
            raise ValueError(f"--max-record-bytes: {args.max_record_bytes} must be >= 1024")
        sources = load_feed_list(args.feeds, allow_file_feeds=args.allow_file_feeds)
        if args.shard:
            shard, count = parse_shard(args.shard)
            sources = select(sources, shard, count)
            log.info("shard %d/%d: %d feeds of the list", shard, count, len(sources))
        Path(args.store).parent.mkdir(parents=True, exist_ok=True)
        store = Store(args.store)
        if args.metrics_port is not None:
            metrics.start_metrics_server(args.metrics_port, "reader", addr=args.metrics_host)
    except (ValueError, FeedListError, StoreError, OSError) as exc:
        print(f"newswire ingest: {exc}", file=sys.stderr)
        return 2
    publisher = Publisher(args.store, bootstrap, topic, kafka_timeout=args.kafka_timeout,
                          max_record_bytes=args.max_record_bytes).start()
    reader = Reader.for_sources(
        store, sources, options, publisher=publisher,
        forget_after=args.forget_after_days * 86400 or None,
    )
    log.info("reading %s from %s into %s on %s (store %s)",
             plural(len(sources), "feed"), args.feeds, topic, bootstrap, args.store)
    try:
        if args.once:
            counters = asyncio.run(reader.run_once())
            publisher.wait_drained(args.publish_timeout)
        else:
            with stop_on_signals() as stop:
                counters = asyncio.run(reader.run_forever(stop))
    finally:
        publisher.stop(timeout=args.kafka_timeout + 5)
        waiting = store.pending_count()
        store.close()
    summary = (f"{plural(len(sources), 'feed')}: {counters.line()} "
               f"published={publisher.stats.published} waiting={waiting} "
               f"parked={publisher.stats.parked}")
    print(f"newswire ingest: {summary}", flush=True)
    if waiting:
        log.error("%s still waiting for Kafka at %s; kept in %s and published by the next "
                  "run", plural(waiting, "record"), bootstrap, args.store)
        return 1 if args.once else 0
    return 0

