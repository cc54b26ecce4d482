"""`newswire run`: every part on one machine, showing the enriched stories as they arrive.

Parts, each the real thing: the embedded broker (or ``--bootstrap-servers``), a local HTTP
server with the bundled sample feeds (or ``--feeds``), the feed reader (`newswire ingest`,
its own process), the Beam pipeline (`newswire enrich` in continuous mode, its own process:
its run() blocks), and a consumer here that prints each enriched story and dead letter.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

import pipeline
from pipeline.broker import DEFAULT_TOPICS, BrokerError, EmbeddedBroker, free_port
from pipeline.commands.argtypes import positive_seconds
from pipeline.display import format_dead_letter, format_story, plural, terminal_safe
from pipeline.kafka_clients import (
    EXIT_KAFKA_UNAVAILABLE,
    KafkaUnavailable,
    check_bootstrap_servers,
    ensure_topics,
    make_consumer,
    security_environment,
)
from pipeline.kafkaio.offsets import end_offsets
from pipeline.logging_setup import quiet
from pipeline.reader.store import DEFAULT_STORE
from pipeline.sample_feeds import SAMPLE_DIR, SAMPLE_OPML, FeedServer, served_feed_list
from pipeline.signals import stop_on_signals
from schemas import DEAD_LETTER, ENRICHED_STORY, RecordError
from schemas.timefmt import to_rfc3339

HELP = "run it all on this machine: broker, sample feeds, reader, pipeline; show the stories"
DESCRIPTION = (
    "Start the embedded Kafka-protocol broker, a local HTTP server with the bundled sample "
    "of wire feeds, the feed reader (newswire ingest) and the Beam pipeline (newswire "
    "enrich, continuous), then print each enriched story as it arrives: title, dateline "
    "places with country codes, credit, cited agencies, photo credit. Progress lines count "
    "feed polls, stories published, enriched and dead-lettered. Enriched stories are also "
    "written as JSON Lines under --output-path. Stops after --duration, or on Ctrl-C / "
    "SIGTERM, cleanly, with a summary. --bootstrap-servers, --feeds and --output-path point "
    "the parts at real infrastructure instead."
)

RAW, ENRICHED, DEAD = DEFAULT_TOPICS[:3]  # news.raw, news.enriched, news.deadletter (not news.stats)
POLL_MS = 200
PROGRESS_EVERY_S = 2.0
STOP_TIMEOUT_S = 30.0
POLL_OUTCOMES = ("fetched", "not_modified", "malformed", "failed", "throttled")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=positive_seconds, default=None, metavar="SECONDS",
        help="stop by itself after this long (default: run until Ctrl-C)",
    )
    parser.add_argument(
        "--bootstrap-servers", default=None, metavar="HOST:PORT",
        help="use this Kafka instead of starting the embedded broker; the topics news.raw, "
        "news.enriched and news.deadletter are created if missing",
    )
    parser.add_argument(
        "--feeds", default=None, metavar="FILE",
        help="poll the feeds of this list (OPML or one URL per line) instead of the bundled "
        "sample served from 127.0.0.1",
    )
    parser.add_argument(
        "--allow-private-addresses", action="store_true",
        help="with --feeds: allow feeds on loopback or private (intranet) addresses, which "
        "the reader refuses by default (as newswire ingest does)",
    )
    parser.add_argument(
        "--output-path", default=None, metavar="DIR",
        help="where the run keeps its files: enriched/*.jsonl, logs/, the reader's store "
        "(default: newswire-data/run-<UTC time>)",
    )
    parser.add_argument(
        "--broker-port", type=int, default=9092, metavar="PORT",
        help="port of the embedded broker on 127.0.0.1, so `newswire tail` finds it "
        "(default: %(default)s; any free port when it is taken)",
    )
    parser.add_argument(
        "--interval", type=positive_seconds, default=20.0, metavar="SECONDS",
        help="time between two polls of a feed; the second poll of the sample shows "
        "conditional GET at work (default: %(default)s)",
    )
    parser.add_argument(
        "--drain-timeout", type=positive_seconds, default=60.0, metavar="SECONDS",
        help="when stopping, wait up to this long for the pipeline to finish the stories "
        "already published (default: %(default)s)",
    )


# --- the parts --------------------------------------------------------------------------

class Child:
    """A part running as its own `newswire` process, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        package_root = str(Path(pipeline.__file__).resolve().parents[1])
        env = dict(os.environ, PYTHONUNBUFFERED="1", **security_environment())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        with open(log_path, "wb") as log:
            # Its own session: Ctrl-C reaches this process only, which stops parts in order.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", *argv], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, start_new_session=True,
            )

    def exited(self) -> int | None:
        return self.process.poll()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text("utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Tally:
    """What the run saw: raw records on news.raw, enriched stories, dead letters by stage."""

    published: int = 0
    enriched: int = 0
    dead: Counter[str] = field(default_factory=Counter)
    invalid: int = 0
    polls: Counter[str] = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return self.enriched + sum(self.dead.values())

    def progress(self, elapsed: float) -> str:
        polls = sum(self.polls.values())
        detail = ", ".join(f"{count} {outcome.replace('_', ' ')}"
                           for outcome in POLL_OUTCOMES if (count := self.polls[outcome]))
        return (f"[{elapsed:4.0f}s] feeds polled {polls}{f' ({detail})' if detail else ''}"
                f" | published {self.published} | enriched {self.enriched}"
                f" | dead-lettered {sum(self.dead.values())}")


def scrape_polls(url: str) -> Counter[str] | None:
    """The reader's poll counts by outcome from its Prometheus endpoint (None if unreachable)."""
    try:
        text = httpx.get(url, timeout=1.0).text
    except httpx.HTTPError:
        return None
    polls: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name == "newswire_reader_polls":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    polls[sample.labels["outcome"]] = int(sample.value)
    return polls


def open_consumer(bootstrap: str) -> KafkaConsumer:
    """Reads the three topics from their current ends: this run's records only."""
    consumer = make_consumer(bootstrap, group_id=None)
    partitions = [TopicPartition(topic, p) for topic in (RAW, ENRICHED, DEAD)
                  for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for tp in partitions:
        consumer.position(tp)  # resolve "end" now, before anything is published
    return consumer


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def say(text: str = "") -> None:
    """Print a line for the person watching; what came from feeds is made terminal-safe."""
    print(terminal_safe(text), flush=True)


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started = datetime.now(timezone.utc)
        default_dir = Path("newswire-data") / f"run-{self.started:%Y%m%dT%H%M%SZ}"
        self.dir = Path(args.output_path or default_dir).resolve()
        self.enriched_dir = self.dir / "enriched"
        self.log_dir = self.dir / "logs"
        self.store = self.dir / Path(DEFAULT_STORE).name  # the name `newswire ingest` uses
        self.broker: EmbeddedBroker | None = None
        self.feed_server: FeedServer | None = None
        self.children: list[Child] = []
        self.reader: Child | None = None
        self.pipeline: Child | None = None
        self.consumer: KafkaConsumer | None = None
        self.bootstrap = ""
        self.metrics_url = ""
        self.group = ""
        self.tally = Tally()

    # -- start ---------------------------------------------------------------------------
    def start(self) -> None:
        self.enriched_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        say("newswire run: every part on this machine")
        self._start_broker()
        self.consumer = open_consumer(self.bootstrap)
        feeds, private = self._feed_list()
        self._start_pipeline()
        self._start_reader(feeds, private)
        say(f"  output    {self.enriched_dir}/*.jsonl (logs in {self.log_dir})")
        say("  Ctrl-C stops every part and prints a summary.")
        say()

    def _start_broker(self) -> None:
        if self.args.bootstrap_servers:
            self.bootstrap = check_bootstrap_servers(self.args.bootstrap_servers)
            created = ensure_topics(self.bootstrap, DEFAULT_TOPICS)
            note = f" (created {', '.join(created)})" if created else ""
            say(f"  broker    Kafka at {self.bootstrap}{note}")
            return
        port = self.args.broker_port if port_is_free(self.args.broker_port) else 0
        with quiet("pipeline.broker"):  # the banner line below says what they log
            self.broker = EmbeddedBroker(port=port, topics=DEFAULT_TOPICS).start()
        self.bootstrap = self.broker.bootstrap
        stale = [p for p in self.dir.glob(f"{self.store.name}*") if p.is_file()]
        if stale:  # a store of an earlier run says "published" of what this new broker lacks
            for path in stale:
                path.unlink()
            say(f"  store     removed {self.store} of an earlier run (its broker is gone)")
        moved = "" if port else f", {self.args.broker_port} was taken"
        say(f"  broker    embedded broker at {self.bootstrap} (memory only{moved}); "
            f"`newswire tail --bootstrap-servers {self.bootstrap}` reads it")

    def _feed_list(self) -> tuple[Path, bool]:
        if self.args.feeds:
            say(f"  feeds     {self.args.feeds}")
            return Path(self.args.feeds), self.args.allow_private_addresses
        self.feed_server = FeedServer(SAMPLE_DIR).start()
        feeds = served_feed_list(SAMPLE_OPML, self.feed_server, self.dir / "feeds.opml")
        say(f"  feeds     the bundled sample ({SAMPLE_DIR}) served at {self.feed_server.base_url}")
        return feeds, True

    def _start_pipeline(self) -> None:
        embedded = self.broker is not None
        self.group = "newswire-run" if embedded else f"newswire-run-{self.started:%Y%m%dT%H%M%SZ}"
        argv = [
            "enrich", "--bootstrap-servers", self.bootstrap, "--input-topic", RAW,
            "--output-topic", ENRICHED, "--dead-letter-topic", DEAD,
            "--output-path", str(self.enriched_dir), "--output-roll-seconds", "10",
            # A fresh broker: all of news.raw. A shared Kafka: what is published from now on,
            # under a group of this run's own.
            "--consumer-group", self.group,
            "--start-from", "earliest" if embedded else to_rfc3339(self.started),
            "--runner", "FnApiRunner",
        ]
        self.pipeline = self._spawn("pipeline", argv)
        say(f"  pipeline  newswire enrich, Beam FnApiRunner, continuous ({self.log_dir / 'pipeline.log'})")

    def _start_reader(self, feeds: Path, private: bool) -> None:
        port = free_port()
        self.metrics_url = f"http://127.0.0.1:{port}/metrics"
        interval = f"{self.args.interval:g}"
        argv = [
            "ingest", "--feeds", str(feeds), "--bootstrap-servers", self.bootstrap,
            "--topic", RAW, "--store", str(self.store), "--metrics-port", str(port),
            "--interval", interval, "--min-interval", interval, "--max-interval", interval,
        ]
        if private:  # the sample server on 127.0.0.1, or the user allowed it
            argv.append("--allow-private-addresses")
        self.reader = self._spawn("reader", argv)
        say(f"  reader    newswire ingest, a poll of each feed every {interval} s "
            f"({self.log_dir / 'reader.log'})")

    def _spawn(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv, self.log_dir / f"{name}.log")
        self.children.append(child)
        return child

    # -- watch ---------------------------------------------------------------------------
    def watch(self, stop, until: float | None) -> str | None:
        """Show stories and progress until ``stop``, ``until`` or a part failing; return
        the failure, if any."""
        next_progress = 0.0
        shown = ""
        while not stop.is_set() and (until is None or time.monotonic() < until):
            failure = self.failure()
            if failure:
                return failure
            self.consume()
            now = time.monotonic()
            if now >= next_progress:
                self.tally.polls = scrape_polls(self.metrics_url) or self.tally.polls
                line = self.tally.progress((datetime.now(timezone.utc) - self.started).total_seconds())
                if line.split("] ", 1)[1] != shown:
                    say(line)
                    shown = line.split("] ", 1)[1]
                next_progress = now + PROGRESS_EVERY_S
        return None

    def failure(self) -> str | None:
        for child in self.children:
            status = child.exited()
            if status is not None:
                return (f"the {child.name} stopped unexpectedly (exit status {status}); the end "
                        f"of {child.log_path}:\n{child.log_tail()}")
        return None

    def consume(self) -> None:
        for messages in self.consumer.poll(timeout_ms=POLL_MS).values():
            for message in messages:
                if message.topic == RAW:
                    self.tally.published += 1
                    continue
                codec = ENRICHED_STORY if message.topic == ENRICHED else DEAD_LETTER
                try:
                    record = codec.decode(message.value if message.value is not None else b"null")
                except RecordError as exc:
                    self.tally.invalid += 1
                    say(f"skipped {message.topic}[{message.partition}]@{message.offset}: {exc}")
                    continue
                if message.topic == ENRICHED:
                    self.tally.enriched += 1
                    say(format_story(record))
                else:
                    self.tally.dead[record["stage"]] += 1
                    say(format_dead_letter(record))

    # -- stop ----------------------------------------------------------------------------
    def stop(self, stop) -> None:
        say()
        if self.reader is not None:
            polls = scrape_polls(self.metrics_url)
            if polls is not None:
                self.tally.polls = polls
            say("stopping: the reader (it finishes sending what it has)")
            self.reader.stop()
            self._catch_up()
        if self.pipeline is not None and self.pipeline.exited() is None:
            self._drain(stop)
            say("stopping: the pipeline (it finishes its JSON Lines files)")
            self.pipeline.stop()
        if self.consumer is not None:
            self.consumer.close()
        if self.feed_server is not None:
            self.feed_server.stop()
        if self.broker is not None:
            self.broker.stop()

    def kill(self) -> None:
        """Stop every part at once, without waiting (a Ctrl-C while stopping)."""
        for child in self.children:
            if child.exited() is None:
                child.process.kill()
                child.process.wait()
        if self.feed_server is not None:
            self.feed_server.stop()
        if self.broker is not None:
            self.broker.stop()

    def _catch_up(self, timeout_s: float = 10.0) -> None:
        """Count what the reader published up to its end: read news.raw to its last offset
        (checked as the Kafka IO checks it: the embedded broker under-reports end offsets)."""
        if self.consumer is None:
            return
        partitions = [tp for tp in self.consumer.assignment() if tp.topic == RAW]
        probe = make_consumer(self.bootstrap)
        try:
            with quiet("pipeline.kafkaio", below=logging.WARNING):  # its corrections: noise here
                ends = end_offsets(probe, partitions)
        except KafkaError as exc:
            say(f"cannot count what the reader published last ({exc})")
            return
        finally:
            probe.close()
        deadline = time.monotonic() + timeout_s
        while (any(self.consumer.position(tp) < ends[tp] for tp in partitions)
               and time.monotonic() < deadline):
            self.consume()

    def _drain(self, stop) -> None:
        """Keep consuming until every published story came out of the pipeline."""
        deadline = time.monotonic() + self.args.drain_timeout
        self.consume()
        if self.tally.done < self.tally.published:
            say(f"waiting for the pipeline: {self.tally.published - self.tally.done} stories "
                f"in flight (up to {self.args.drain_timeout:g} s; Ctrl-C to skip)")
        stop.clear()
        while (self.tally.done < self.tally.published and time.monotonic() < deadline
               and not stop.is_set() and self.pipeline.exited() is None):
            self.consume()

    def summary(self) -> str:
        tally = self.tally
        polls = sum(tally.polls.values())
        outcomes = ", ".join(f"{tally.polls[o]} {o.replace('_', ' ')}" for o in POLL_OUTCOMES
                             if tally.polls[o])
        lines = ["summary"]
        feeds = f"  feeds        {plural(polls, 'poll')}" + (f" ({outcomes})" if outcomes else "")
        if self.feed_server is not None:
            answered = self.feed_server.responses
            feeds += (f"; the sample server answered {answered[200]} with content and "
                      f"{answered[304]} with 304 Not Modified")
        lines.append(feeds)
        lines += [f"  problem      {problem}" for problem in self.feed_problems()]
        lines.append(f"  published    {plural(tally.published, 'raw story', 'raw stories')} to {RAW}")
        lines.append(f"  enriched     {plural(tally.enriched, 'story', 'stories')} to {ENRICHED}")
        stages = ", ".join(f"{n} at {stage}" for stage, n in sorted(tally.dead.items()))
        lines.append(f"  dead letters {sum(tally.dead.values())} to {DEAD}"
                     + (f" ({stages})" if stages else ""))
        if tally.done < tally.published:
            if self.broker is not None:
                what = ("they are lost with the embedded broker, which keeps data in memory only")
            else:
                what = (f"`newswire enrich --bootstrap-servers {self.bootstrap} --consumer-group "
                        f"{self.group} --start-from {to_rfc3339(self.started)}` reads them again")
            lines.append(f"  in flight    {plural(tally.published - tally.done, 'published story', 'published stories')} had "
                         f"not come out of the pipeline when it stopped; {what}")
        if tally.invalid:
            lines.append(f"  invalid      {tally.invalid} records on the output topics were not "
                         "valid (shown above)")
        since = self.started.timestamp() - 1
        files = sorted(p for p in self.enriched_dir.glob("*.jsonl") if p.stat().st_mtime >= since)
        records = sum(1 for path in files for line in path.open("rb") if line.strip())
        lines.append(f"  files        {plural(records, 'enriched story', 'enriched stories')} in "
                     f"{plural(len(files), 'JSON Lines file')} in {self.enriched_dir}")
        lines.append(f"  logs         {self.log_dir}; feed health: "
                     f"newswire feeds status --store {self.store}")
        return "\n".join(lines)

    def feed_problems(self) -> list[str]:
        """Feeds whose last poll failed or had problems, from the reader's store."""
        from pipeline.reader.store import Store, StoreError

        if not self.store.exists():
            return []
        try:
            with Store(self.store) as store:
                feeds = store.feeds()
        except StoreError as exc:
            return [f"cannot read the reader's store {self.store}: {exc}"]
        return [f"{feed.name}: {feed.last_error if feed.consecutive_errors else feed.last_problem}"
                for feed in feeds if feed.consecutive_errors or feed.last_problem]


def main(args: argparse.Namespace) -> int:
    if args.feeds and not Path(args.feeds).is_file():
        print(f"newswire run: --feeds: {args.feeds}: no such file", file=sys.stderr)
        return 2
    if not 0 < args.broker_port < 65536:
        print(f"newswire run: --broker-port: {args.broker_port} is not a TCP port", file=sys.stderr)
        return 2
    run = Run(args)
    failure, status = None, 1
    with stop_on_signals() as stop:
        try:
            run.start()
            until = time.monotonic() + args.duration if args.duration else None
            failure = run.watch(stop, until)
        except (ValueError, OSError, BrokerError, KafkaError) as exc:
            failure = f"could not start: {exc}"
            if isinstance(exc, KafkaUnavailable):
                status = EXIT_KAFKA_UNAVAILABLE
        finally:
            try:
                run.stop(stop)
            except KeyboardInterrupt:
                say("interrupted while stopping: killing every part")
                run.kill()
    if failure:
        print(terminal_safe(f"newswire run: {failure}"), file=sys.stderr)
    say(run.summary())
    return status if failure else 0
