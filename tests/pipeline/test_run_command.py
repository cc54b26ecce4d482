"""SLOW (about a minute): `newswire run` end to end, as a user runs it, in a subprocess.

Every part is real: the embedded broker, the sample feeds over HTTP on 127.0.0.1, the
reader and the Beam pipeline (FnApiRunner) in their own processes. Expectations come from
the sample feeds themselves (parsed with the reader's parser): every story with a body is
enriched, the one deliberately empty entry is dead-lettered, the malformed feed reported.
"""

from __future__ import annotations

import argparse
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.broker import free_port
from pipeline.commands import run as run_command
from pipeline.reader.parse import parse_feed
from pipeline.reader.store import DEFAULT_STORE
from pipeline.sample_feeds import SAMPLE_DIR, SAMPLE_OPML, FeedServer, served_feed_list
from schemas import ENRICHED_STORY

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SEED_LINES = [
    "US envoy calls alleged North Korea, Russia weapons delivery dangerous  [straitstimes.com]",
    "    JAKARTA (ID) / SEOUL (KR)  credit: Reuters  cited: TASS, KCNA  photo: AFP",
]


def sample_stories() -> tuple[dict[str, str], dict[str, str]]:
    """(story_id → title) of the sample entries with a body, and of those without one.
    (Ids depend on the feed URL, whose port the run picks: compare titles with the run's.)"""
    with_body, empty = {}, {}
    for path in sorted(SAMPLE_DIR.glob("*.*")):
        if path.suffix not in (".rss", ".atom", ".rdf"):
            continue
        feed = parse_feed(path.read_bytes(), feed_url=f"http://127.0.0.1/{path.name}",
                          fetched_at=datetime.now(timezone.utc))
        for entry in feed.entries:
            record = entry.record
            target = with_body if record["html"] or record["text"] else empty
            target[record["story_id"]] = record["title"]
    return with_body, empty


class Output(threading.Thread):
    """Collects a process's stdout lines; ``seen(pattern)`` waits for a matching line."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[str] = []
        self.changed = threading.Condition()

    def run(self) -> None:
        for line in self.stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.closed = True  # the process exited: stop waiting for lines
            self.changed.notify_all()

    closed = False

    def seen(self, pattern: str, timeout: float) -> bool:
        regex = re.compile(pattern)
        with self.changed:
            self.changed.wait_for(
                lambda: self.closed or any(regex.search(line) for line in self.lines), timeout)
            return any(regex.search(line) for line in self.lines)

    @property
    def text(self) -> str:
        with self.changed:
            return "\n".join(self.lines)


def start_run(*options: str) -> tuple[subprocess.Popen, Output]:
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "run", *options], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    output = Output(process.stdout)
    output.start()
    return process, output


def stderr_if_exited(process: subprocess.Popen) -> str:
    if process.poll() is None:
        return ""
    return f"exit status {process.returncode}; stderr:\n{process.stderr.read()}"


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains ``text`` (the run's own folder: its parts)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def summary_value(output: str, label: str) -> str:
    summary = output[output.rindex("\nsummary\n"):]
    match = re.search(rf"^  {label} +(.*)$", summary, re.MULTILINE)
    assert match, f"no '{label}' line in the summary:\n{output}"
    return match.group(1)


def test_run_with_a_duration_shows_every_sample_story_enriched(tmp_path):
    with_body, empty = sample_stories()
    port = free_port()
    out = tmp_path / "run"
    process, output = start_run("--duration", "40", "--interval", "5",
                                "--broker-port", str(port), "--output-path", str(out))
    try:
        done = rf"enriched {len(with_body)} \| dead-lettered {len(empty)}$"
        assert output.seen(done, timeout=35), (
            f"not every story came through:\n{output.text}\n{stderr_if_exited(process)}")
        # While it runs: `newswire tail --json` on its broker shows the same stories.
        tail = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "tail", "--bootstrap-servers",
             f"127.0.0.1:{port}", "--json", "--timeout", "3"],
            check=False, cwd=REPO, capture_output=True, text=True, timeout=60,
        )
        status = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    output.join(5)
    stdout, stderr = output.text, process.stderr.read()
    assert status == 0, f"exit status {status}\n{stdout}\n{stderr}"
    # Nothing on stderr to break into the banner and the stories (the broker's start-up log)
    assert stderr == "", stderr

    # The seed story, as the issue asks, and every bundled story, each once.
    lines = stdout.splitlines()
    seed_at = lines.index(SEED_LINES[0])
    assert lines[seed_at + 1] == SEED_LINES[1]
    story_titles = [line.split("  [", 1)[0] for line in lines if line.endswith("]")
                    and not line.startswith((" ", "["))]
    assert sorted(story_titles) == sorted(with_body.values())
    # The empty entry of the malformed feed, and only it, is a dead letter with its reason.
    dead = [i for i, line in enumerate(lines) if line.startswith("DEAD LETTER")]
    assert [lines[i].split("  ")[-1] for i in dead] == list(empty.values())
    assert lines[dead[0]].startswith("DEAD LETTER  stage clean  news.raw[0]@")
    assert "neither html nor text" in lines[dead[0] + 1]

    # The summary: counts per stage, the malformed feed, conditional GETs, where files are.
    assert summary_value(stdout, "published").startswith(f"{len(with_body) + len(empty)} raw")
    assert summary_value(stdout, "enriched").startswith(f"{len(with_body)} stories")
    assert summary_value(stdout, "dead letters") == f"{len(empty)} to news.deadletter (1 at clean)"
    problem = summary_value(stdout, "problem")
    assert "bernama-malformed.rss" in problem and "not well-formed" in problem
    assert "1 unfinished entry skipped" in problem
    not_modified = re.search(r"and (\d+) with 304 Not Modified", summary_value(stdout, "feeds"))
    assert not_modified and int(not_modified.group(1)) > 0, "no conditional GET was answered 304"
    assert summary_value(stdout, "files").startswith(f"{len(with_body)} enriched stories")

    # The JSON Lines files and `newswire tail --json` hold the same valid records.
    records = [orjson.loads(line) for path in sorted((out / "enriched").glob("*.jsonl"))
               for line in path.read_bytes().splitlines() if line.strip()]
    for record in records:
        ENRICHED_STORY.validate(record)
    assert sorted(r["title"] for r in records) == sorted(with_body.values())
    assert len({r["story_id"] for r in records}) == len(records)
    assert tail.returncode == 0, tail.stderr
    tailed = [orjson.loads(line) for line in tail.stdout.splitlines()]
    assert sorted(r["story_id"] for r in tailed) == sorted(r["story_id"] for r in records)
    assert processes_mentioning(str(out)) == [] and not listening(port)


def test_ctrl_c_stops_every_part_after_the_published_stories_are_through(tmp_path):
    out = tmp_path / "run"
    port = free_port()
    process, output = start_run("--broker-port", str(port), "--output-path", str(out))
    try:
        assert output.seen(r"  \[[\w.-]+\]$", timeout=60), (
            f"no story shown:\n{output.text}\n{stderr_if_exited(process)}")
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        status = process.wait(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    output.join(5)
    stdout = output.text
    assert status == 0, f"exit status {status}\n{stdout}\n{process.stderr.read()}"
    assert "stopping: the reader" in stdout and "stopping: the pipeline" in stdout
    published = int(summary_value(stdout, "published").split()[0])
    enriched = int(summary_value(stdout, "enriched").split()[0])
    dead = int(summary_value(stdout, "dead letters").split()[0])
    assert published > 0 and enriched + dead == published  # drained before stopping
    assert "in flight" not in stdout
    deadline = time.monotonic() + 10
    while processes_mentioning(str(out)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_mentioning(str(out)) == [] and not listening(port)


def reader_published(metrics_url: str) -> int:
    """Entries the reader published and Kafka acknowledged, from its Prometheus endpoint."""
    try:
        text = httpx.get(metrics_url, timeout=1.0).text
    except httpx.HTTPError:
        return -1
    return int(sum(sample.value for family in text_string_to_metric_families(text)
                   if family.name == "newswire_reader_entries_published"
                   for sample in family.samples if sample.name.endswith("_total")))


def test_own_feeds_on_loopback_and_a_pipeline_crash_count_what_the_reader_published(tmp_path):
    # --feeds on 127.0.0.1 need --allow-private-addresses, as `newswire ingest` does.
    with FeedServer(SAMPLE_DIR) as server:
        feeds = served_feed_list(SAMPLE_OPML, server, tmp_path / "feeds.opml")
        parser = argparse.ArgumentParser(prog="newswire run")
        run_command.configure(parser)
        args = parser.parse_args(["--feeds", str(feeds), "--allow-private-addresses",
                                  "--output-path", str(tmp_path / "run"),
                                  "--broker-port", str(free_port())])
        run = run_command.Run(args)
        stop = threading.Event()
        try:
            run.start()
            run.pipeline.process.kill()  # the pipeline crashes before it read anything
            run.pipeline.process.wait()
            deadline = time.monotonic() + 60
            while reader_published(run.metrics_url) < 56 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert reader_published(run.metrics_url) == 56
            assert "the pipeline stopped unexpectedly" in run.watch(stop, None)
        finally:
            run.stop(stop)
    summary = "\n" + run.summary()
    assert summary_value(summary, "published") == "56 raw stories to news.raw", summary
    assert "refused" not in summary
    in_flight = summary_value(summary, "in flight")
    assert in_flight.startswith("56 published stories had not come out of the pipeline")
    assert "resumes" not in in_flight and "memory only" in in_flight
    # The reader's store has the name `newswire ingest` gives it by default
    store = tmp_path / "run" / Path(DEFAULT_STORE).name
    assert store.is_file() and f"--store {store}" in summary_value(summary, "logs")
