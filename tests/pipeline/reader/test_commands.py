"""`newswire ingest` exit statuses and `newswire feeds status`."""

from __future__ import annotations

import argparse
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from pipeline.broker import free_port
from pipeline.commands import feeds as feeds_command
from pipeline.sample_feeds import SAMPLE_DIR
from tests.pipeline.reader.harness import ingest_args, run_ingest, write_feed_list
from tests.pipeline.reader.test_reader import rss


def feeds_status(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="newswire feeds")
    feeds_command.configure(parser)
    return feeds_command.main(parser.parse_args(argv))


def test_configuration_errors_exit_2_and_say_what_is_wrong(tmp_path, capsys):
    feeds = write_feed_list(tmp_path, ["ftp://files.example.com/feed.xml"])
    assert run_ingest(ingest_args(feeds, tmp_path / "r.db", "127.0.0.1:9092", "news.raw", "--once")) == 2
    assert "line 2: 'ftp://files.example.com/feed.xml': scheme 'ftp' is not accepted" in capsys.readouterr().err
    feeds = write_feed_list(tmp_path, ["https://a.example.com/feed"])
    assert run_ingest(ingest_args(feeds, tmp_path / "r.db", "127.0.0.1:9092", "news.raw", "--interval", "5")) == 2
    assert "interval (5) must lie within min_interval (300)" in capsys.readouterr().err
    assert run_ingest(ingest_args(feeds, tmp_path / "r.db", "kafka", "news.raw")) == 2
    assert "'kafka' is not HOST:PORT" in capsys.readouterr().err
    assert run_ingest(ingest_args(feeds, tmp_path / "r.db", "127.0.0.1:9092", "news raw")) == 2
    assert "--topic: 'news raw' is not a valid Kafka topic name" in capsys.readouterr().err


def test_once_exits_1_while_records_wait_for_kafka_and_keeps_them(feed_server, tmp_path, capsys):
    feed_server.put("/desk.xml", rss([("w-1", "Waiting"), ("w-2", "Also waiting")]))
    store = tmp_path / "r.db"
    args = ingest_args(write_feed_list(tmp_path, [feed_server.url("/desk.xml")]), store,
                       f"127.0.0.1:{free_port()}", "news.raw", "--once",
                       "--kafka-timeout", "0.5", "--publish-timeout", "1")
    assert run_ingest(args) == 1
    assert "published=0 waiting=2" in capsys.readouterr().out
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 2


def test_feeds_status_prints_every_feed(feed_server, tmp_path, capsys):
    feed_server.put("/desk.xml", rss([("s-1", "One")]))
    feed_server.status("/gone.xml", 410)
    store = tmp_path / "r.db"
    urls = [feed_server.url("/desk.xml"), feed_server.url("/gone.xml")]
    run_ingest(ingest_args(write_feed_list(tmp_path, urls), store, f"127.0.0.1:{free_port()}",
                           "news.raw", "--once", "--kafka-timeout", "0.5", "--publish-timeout", "0.5"))
    capsys.readouterr()
    assert feeds_status(["status", "--store", str(store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["feed", "last", "poll", "HTTP"]
    desk = next(line for line in lines if "/desk.xml" in line).split()
    gone = next(line for line in lines if "/gone.xml" in line).split()
    assert desk[2:5] == ["200", "0", "0"] and desk[6] == "ok"  # HTTP, published, errors, state
    assert gone[2:5] == ["410", "0", "1"] and gone[6] == "error" and gone[7:] == ["HTTP", "410", "Gone"]
    assert "2 feeds, 0 failing; 1 record waits for Kafka; 0 parked (refused by Kafka for good: `newswire feeds parked`)" in lines
    assert feeds_status(["status", "--store", str(tmp_path / "none.db")]) == 2
    assert "no store at" in capsys.readouterr().err


def _other_address() -> str | None:
    """An address of this machine that is not loopback (None if it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def _answers(host: str, port: int) -> bool:
    try:
        return httpx.get(f"http://{host}:{port}/metrics", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize(("options", "outside"), [([], False), (["--metrics-host", "0.0.0.0"], True)])
def test_the_metrics_endpoint_is_on_loopback_unless_told(options, outside, kafka_bootstrap, tmp_path):
    other = _other_address()
    if other is None:
        pytest.skip("this machine has no address but loopback")
    port = free_port()
    feed = tmp_path / "reuters-world.rss"  # a local feed file lives beside the list
    feed.write_bytes((SAMPLE_DIR / "reuters-world.rss").read_bytes())
    feeds = write_feed_list(tmp_path, [str(feed)])
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "ingest", "--feeds", str(feeds), "--bootstrap-servers",
         kafka_bootstrap, "--store", str(tmp_path / "r.sqlite3"), "--metrics-port", str(port),
         *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _answers("127.0.0.1", port)
        assert _answers(other, port) is outside
    finally:
        process.terminate()
        process.wait(30)


def test_counts_of_one_are_singular(feed_server, tmp_path, capsys):
    feed_server.put("/one.xml", rss([("o-1", "One")]))
    store = tmp_path / "r.sqlite3"
    run_ingest(ingest_args(write_feed_list(tmp_path, [feed_server.url("/one.xml")]), store,
                           f"127.0.0.1:{free_port()}", "news.raw", "--once",
                           "--kafka-timeout", "0.5", "--publish-timeout", "0.5"))
    assert capsys.readouterr().out.startswith("newswire ingest: 1 feed: ")
    assert feeds_status(["status", "--store", str(store)]) == 0
    assert ("1 feed, 0 failing; 1 record waits for Kafka; 0 parked (refused by Kafka for good: "
            "`newswire feeds parked`)") in capsys.readouterr().out.splitlines()
