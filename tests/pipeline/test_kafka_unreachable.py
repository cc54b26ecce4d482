"""A wrong --bootstrap-servers gives one line that names the address and what to check,
within the command's timeout, with exit status 3 (README), and no kafka-python log noise."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.broker import free_port
from pipeline.kafka_clients import EXIT_KAFKA_UNAVAILABLE, KafkaUnavailable, make_consumer
from pipeline.kafka_probe import probe

ROOT = Path(__file__).resolve().parents[2]


def newswire(*argv: str, timeout: float = 90, cwd: Path = ROOT) -> tuple[int, list[str], float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *argv], capture_output=True, text=True,
        timeout=timeout, env=env, cwd=cwd, check=False,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return result.returncode, lines, time.monotonic() - started


@pytest.fixture
def closed_port() -> str:
    return f"127.0.0.1:{free_port()}"


@pytest.fixture
def not_kafka() -> str:
    """A TCP server that accepts and hangs up at once (an HTTP port, say)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    server.close()


def _one_line_naming(lines: list[str], address: str) -> str:
    problems = [line for line in lines if address in line]
    assert len(problems) == 1, lines
    assert "check" in problems[0]
    assert not [line for line in lines if " kafka." in line or "Traceback" in line], lines
    return problems[0]


@pytest.mark.parametrize("argv", [
    ["tail", "--timeout", "5"],
    ["replay", "--dry-run"],
    ["enrich", "--bounded", "--start-from", "earliest"],
], ids=["tail", "replay", "enrich"])
def test_each_command_says_it_in_one_line(argv, closed_port):
    status, lines, seconds = newswire(*argv, "--bootstrap-servers", closed_port)
    assert status == EXIT_KAFKA_UNAVAILABLE, lines
    line = _one_line_naming(lines, closed_port)
    assert "connection refused" in line
    assert len(lines) == 1, lines
    assert seconds < 25  # kafka-python alone retried for ~30 s before its traceback


def test_run_says_it_in_one_line(closed_port, tmp_path):
    status, lines, _ = newswire("run", "--bootstrap-servers", closed_port, "--duration", "5",
                                cwd=tmp_path)
    assert status == EXIT_KAFKA_UNAVAILABLE, lines
    _one_line_naming(lines, closed_port)


def test_ingest_once_gives_up_within_its_publish_timeout(closed_port, tmp_path):
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>One</title><guid>g1</guid><description>Body.</description></item>"
        "</channel></rss>"
    )
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(f"{feed}\n")
    status, lines, seconds = newswire(
        "--log-level", "WARNING", "ingest", "--once", "--publish-timeout", "5",
        "--feeds", str(feeds), "--store", str(tmp_path / "store.sqlite3"),
        "--bootstrap-servers", closed_port,
    )
    assert status == 1, lines  # records wait in the store for the next run (README)
    assert seconds < 20, seconds  # took 31 s with --publish-timeout 10 before
    assert any("connection refused" in line and closed_port in line for line in lines), lines
    assert not [line for line in lines if " kafka." in line], lines


def test_a_port_that_is_not_kafka_is_named_as_such(not_kafka):
    status, lines, _ = newswire("tail", "--timeout", "5", "--bootstrap-servers", not_kafka)
    assert status == EXIT_KAFKA_UNAVAILABLE, lines
    line = _one_line_naming(lines, not_kafka)
    assert "security.protocol" in line  # maybe a TLS or SASL listener


def test_debug_shows_the_client_library_logs(closed_port):
    status, lines, _ = newswire("--log-level", "DEBUG", "replay", "--dry-run",
                                "--bootstrap-servers", closed_port)
    assert status == EXIT_KAFKA_UNAVAILABLE
    assert any(closed_port in line for line in lines)


def test_probe_and_clients(kafka_bootstrap, closed_port):
    assert probe(kafka_bootstrap, {}, 5) is None
    assert probe(f"{closed_port},{kafka_bootstrap}", {}, 5) is None  # one answering is enough
    assert "unknown host" in probe("no-such-host.invalid:9092", {}, 5)
    with pytest.raises(KafkaUnavailable, match="connection refused"):
        make_consumer(closed_port)
