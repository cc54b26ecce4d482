"""Attacks on the feed reader, each rerun against the real `newswire ingest --once` command
(a subprocess whose peak memory is measured), a feed server on loopback and the session's
broker; what reached the topic is counted with an independent client (confluent-kafka).

For every attack: the process stays under PEAK_MB, exits normally, the other feed served
beside the hostile one is published in the same run, and every entry is accounted for.
"""

from __future__ import annotations

import argparse
import functools
import os
import sqlite3
import stat
import sys
import zlib
from datetime import datetime, timezone

import brotli
import zstandard

from pipeline.broker import EmbeddedBroker
from pipeline.commands import feeds as feeds_command
from pipeline.reader.feedlist import FeedSource
from pipeline.reader.parse import parse_feed
from pipeline.reader.publish import Publisher
from pipeline.reader.store import Store
from tests.pipeline.reader.harness import (
    IngestRun,
    expected_ids,
    ingest_args,
    read_topic,
    run_ingest_measured,
    write_feed_list,
)
from tests.pipeline.reader.test_reader import ITEM, RSS, rss

PEAK_MB = 300
BOMB_BYTES = 512 * 2**20  # decoded size of each decompression bomb

HEAD = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Bomb</title>'
        "<link>https://bomb.example.com/</link><item><title>Ordinary entry {tag}</title>"
        "<guid>bomb-{tag}</guid><link>https://bomb.example.com/{tag}</link>"
        "<description>Before the filler.</description></item><!--")


def _filler(size: int, tag: str):
    yield HEAD.format(tag=tag).encode()
    chunk = b" " * 2**20
    for _ in range(size // len(chunk)):
        yield chunk


@functools.cache
def gzip_bomb(layers: int, tag: str = "gzip", wbits: int = 31) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    data = b"".join(compressor.compress(piece) for piece in _filler(BOMB_BYTES, tag)) + compressor.flush()
    for _ in range(layers - 1):
        outer = zlib.compressobj(9, zlib.DEFLATED, 31)
        data = outer.compress(data) + outer.flush()
    return data


@functools.cache
def zstd_bomb() -> bytes:
    compressor = zstandard.ZstdCompressor(level=19).compressobj()
    return b"".join(compressor.compress(piece) for piece in _filler(BOMB_BYTES, "zstd")) + compressor.flush()


def cli(argv: list[str]) -> int:
    """`newswire feeds ...` in this process (without the CLI's logging set-up)."""
    assert argv[0] == "feeds"
    parser = argparse.ArgumentParser(prog="newswire feeds")
    feeds_command.configure(parser)
    return feeds_command.main(parser.parse_args(argv[1:]))


def brotli_bomb(tag: str) -> bytes:
    compressor = brotli.Compressor(quality=5)
    return b"".join(compressor.process(piece) for piece in _filler(BOMB_BYTES, tag)) + compressor.finish()


def ingest_once(tmp_path, urls: list[str], bootstrap: str, topic: str, *extra: str,
                log_level: str = "INFO") -> IngestRun:
    feeds = write_feed_list(tmp_path, urls)
    run = run_ingest_measured(ingest_args(feeds, tmp_path / "reader.sqlite3", bootstrap, topic,
                                          "--once", *extra), log_level=log_level)
    print(f"newswire ingest --once {' '.join(extra)}: peak RSS {run.peak_rss_mb:.0f} MB",
          file=sys.__stdout__)  # past capsys too: the figure the README quotes
    assert run.peak_rss_mb < PEAK_MB, f"peak RSS {run.peak_rss_mb:.0f} MB\n{run.output[-3000:]}"
    return run


def test_decompression_bombs_are_cut_at_the_decoded_size_limit(feed_server, kafka_bootstrap, topic_factory,
                                                               tmp_path):
    topic = topic_factory("raw")
    feed_server.put("/gzip-gzip.xml", gzip_bomb(2), headers={"Content-Encoding": "gzip, gzip"})
    feed_server.put("/zstd.xml", zstd_bomb(), headers={"Content-Encoding": "zstd"})
    feed_server.put("/compress.xml", b"\x1f\x9d\x90hello", headers={"Content-Encoding": "compress"})
    other = rss([("o-1", "Other desk story")])
    feed_server.put("/other.xml", other)
    urls = [feed_server.url(path) for path in ("/gzip-gzip.xml", "/zstd.xml", "/compress.xml", "/other.xml")]
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic, "--max-body-mb", "10")
    assert run.status == 0, run.output[-3000:]
    assert "the body was cut off at 10485760 bytes (size limit)" in run.output
    assert "unsupported Content-Encoding compress" in run.output
    records = read_topic(kafka_bootstrap, topic, expect=3)
    titles = sorted(record.title for record in records)
    assert titles == ["Ordinary entry gzip", "Ordinary entry zstd", "Other desk story"]
    assert {r.story_id for r in records} >= expected_ids(urls[3], other)


def test_many_bombs_at_once_stay_within_the_budget_of_bodies_in_flight(feed_server, kafka_bootstrap,
                                                                      topic_factory, tmp_path):
    """Each bomb is cut at 10 MB, but they are fetched together and parsed one at a time:
    the bodies waiting for the parser share one budget (pipeline/reader/budget.py)."""
    topic = topic_factory("raw")
    outer_gzip = zlib.compressobj(9, zlib.DEFLATED, 31)
    bombs = {
        "/gzip-gzip.xml": (gzip_bomb(2), "gzip, gzip", "gzip"),
        "/zstd.xml": (zstd_bomb(), "zstd", "zstd"),
        "/br.xml": (brotli_bomb("br"), "br", "br"),
        "/br-gzip.xml": (outer_gzip.compress(brotli_bomb("br-gzip")) + outer_gzip.flush(), "br, gzip", "br-gzip"),
        "/deflate.xml": (gzip_bomb(1, "deflate", 15), "deflate", "deflate"),
    }
    for path, (body, coding, _) in bombs.items():
        feed_server.put(path, body, headers={"Content-Encoding": coding})
    other = rss([(f"m-{i}", f"Ordinary story {i}") for i in range(20)])
    feed_server.put("/other.xml", other)
    urls = [feed_server.url(path) for path in [*bombs, "/other.xml"]]
    # --per-host: the bombs are fetched at once, as from as many hostile hosts.
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic, "--max-body-mb", "10", "--per-host", "8")
    assert run.status == 0, run.output[-3000:]
    assert run.output.count("the body was cut off at 10485760 bytes (size limit)") == len(bombs)
    assert "waits for memory" in run.output and "memory_waits=0" not in run.output, run.output[-3000:]
    records = read_topic(kafka_bootstrap, topic, expect=len(bombs) + 20)
    titles = sorted(record.title for record in records)
    assert titles == sorted([f"Ordinary entry {tag}" for _, _, tag in bombs.values()]
                            + [f"Ordinary story {i}" for i in range(20)])
    assert {r.story_id for r in records} >= expected_ids(urls[-1], other)


def utf16_entity_bomb(bom: bool) -> bytes:
    """A quadratic blow-up (one 9,000-character entity used 7,000 times: 63 M characters)
    in a ~100 KB UTF-16 document that also carries one ordinary entry."""
    uses = "&big;" * 7000
    text = ('<?xml version="1.0" encoding="UTF-16"?>\n'
            f'<!DOCTYPE rss [\n<!ENTITY big "{"x" * 9000}">\n]>\n'
            '<rss version="2.0"><channel><title>Wide</title><link>https://wide.example.com/</link>'
            f'<item><title>Ordinary wide entry {bom}</title><guid>wide-{bom}</guid>'
            f'<link>https://wide.example.com/{bom}</link><description>{uses}</description></item>'
            "</channel></rss>")
    return text.encode("utf-16" if bom else "utf-16-le")


def test_an_entity_bomb_in_utf16_is_defused(feed_server, kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("raw")
    feed_server.put("/bom.xml", utf16_entity_bomb(True), content_type="application/rss+xml")
    feed_server.put("/sniffed.xml", utf16_entity_bomb(False), content_type="application/rss+xml")
    feed_server.put("/other.xml", rss([("o-1", "Other desk story")]))
    urls = [feed_server.url(path) for path in ("/bom.xml", "/sniffed.xml", "/other.xml")]
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic)
    assert run.status == 0, run.output[-3000:]
    assert run.output.count("removed 1 entity declaration(s) from the DOCTYPE") == 2
    records = read_topic(kafka_bootstrap, topic, expect=3)
    assert sorted(r.title for r in records) == ["Ordinary wide entry False", "Ordinary wide entry True",
                                                "Other desk story"]


def test_a_record_kafka_refuses_is_parked_and_holds_up_nothing(feed_server, kafka_bootstrap, topic_factory,
                                                               tmp_path, capsys):
    topic = topic_factory("raw")
    big = ITEM.format(guid="big-1", title="Two megabytes", body="word " * 420_000)
    feed_server.put("/big.xml", RSS.format(tag="1", items=big + ITEM.format(guid="small-1", title="Small",
                                                                            body="Small story.")).encode())
    others = {f"/desk-{n}.xml": rss([(f"d{n}-{i}", f"Desk {n} story {i}") for i in range(25)]) for n in range(3)}
    for path, body in others.items():
        feed_server.put(path, body)
    urls = [feed_server.url(path) for path in ("/big.xml", *others)]
    # the entry is trimmed to the raw story's limit (700,000 bytes), the trimming reported;
    # a broker that takes less (here: --max-record-bytes) refuses it: parked, not in the way
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic, "--max-record-bytes", "100000")
    assert run.status == 0, run.output[-3000:]
    assert "entry big-1: html trimmed from 2,100,007 to 700,000 characters" in run.output, run.output[-3000:]
    assert "published=76 waiting=0 parked=1" in run.output
    records = read_topic(kafka_bootstrap, topic, expect=76)
    assert len(records) == 76 and "Two megabytes" not in {r.title for r in records}

    store = str(tmp_path / "reader.sqlite3")
    assert cli(["feeds", "status", "--store", store]) == 0
    assert "0 records wait for Kafka; 1 parked" in capsys.readouterr().out
    assert cli(["feeds", "parked", "--store", store]) == 0
    listing = capsys.readouterr().out
    assert "larger than the record size limit (100000 bytes, --max-record-bytes)" in listing
    assert feed_server.url("/big.xml") in listing

    # once the limit is raised (here and on the broker), `feeds retry` sends it
    assert cli(["feeds", "retry", "--store", store]) == 0
    assert "1 parked record(s) back in the outbox" in capsys.readouterr().out
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic)
    assert "published=1 waiting=0 parked=0" in run.output, run.output[-3000:]
    assert "Two megabytes" in {r.title for r in read_topic(kafka_bootstrap, topic, expect=77)}


def many_entries(count: int, closed: bool = True) -> bytes:
    """``count`` short entries; with ``closed=False`` no </item>: still entries to feedparser."""
    label, close = ("closed", "</item>") if closed else ("unclosed", "")
    items = "".join(f"<item><title>Brief {label} {i}</title><guid>{label}-{i}</guid>{close}"
                    for i in range(count))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>'
            f"<link>https://many.example.com/</link>{items}</channel></rss>").encode()


DATES = ["Mon, 01 Jan 0001 00:00:00 GMT", "Tue, 02 Feb 0999 10:00:00 GMT", "the day after tomorrow",
         "Fri, 31 Dec 9999 23:59:59 -1200", "Mon, 02 Jan 2023 10:00:00 GMT"]
REFS = ["Lone &#xD800; surrogate", "Huge &#99999999999999999999999999; reference",
        "Beyond &#x110000; Unicode"]


def test_recoverable_entries_are_kept_and_a_huge_feed_is_capped(feed_server, kafka_bootstrap, topic_factory,
                                                               tmp_path):
    topic = topic_factory("raw")
    dates = "".join(f"<item><title>Dated {i}</title><guid>date-{i}</guid><pubDate>{d}</pubDate></item>"
                    for i, d in enumerate(DATES))
    refs = "".join(f"<item><title>{t}</title><guid>ref-{i}</guid><description>&lt;p&gt;Body &amp;#xDFFF;"
                   f"&lt;/p&gt;</description></item>" for i, t in enumerate(REFS))
    feed_server.put("/dates.xml", RSS.format(tag="d", items=dates).encode())
    feed_server.put("/refs.xml", RSS.format(tag="r", items=refs).encode())
    feed_server.put("/many.xml", many_entries(100_000))
    feed_server.put("/unclosed.xml", many_entries(100_000, closed=False))  # the loose parser's entries
    feed_server.put("/other.xml", rss([("o-1", "Other desk story")]))
    urls = [feed_server.url(path) for path in ("/dates.xml", "/refs.xml", "/many.xml", "/unclosed.xml",
                                               "/other.xml")]
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic)
    assert run.status == 0, run.output[-3000:]
    assert run.output.count("98000 entries after the first 2000 not read (entries per poll limit, "
                            "--max-entries)") == 2
    assert "2 date(s) not understood, left empty" in run.output
    assert "6 character reference(s) naming no character" in run.output
    records = read_topic(kafka_bootstrap, topic, expect=4009)
    titles = {r.title for r in records}
    assert len(records) == 4009 and len(titles) == 4009
    assert {f"Dated {i}" for i in range(5)} <= titles and "Other desk story" in titles
    assert {"Lone \ufffd surrogate", "Huge \ufffd reference", "Beyond \ufffd Unicode"} <= titles
    assert {f"Brief {label} {i}" for i in range(2000) for label in ("closed", "unclosed")} <= titles


def test_credentials_in_a_feed_url_are_used_to_fetch_and_shown_nowhere(feed_server, kafka_bootstrap,
                                                                       topic_factory, tmp_path, capsys):
    topic = topic_factory("raw")
    secret = "s3cret-pw"
    feed_server.put("/desk.xml", rss([("c-1", "Behind a password")]))
    feed_server.redirect("/moved.xml", 301, f"http://user:{secret}@127.0.0.1:{feed_server.port}/nowhere.xml")
    urls = [feed_server.url(path).replace("http://", f"http://user:{secret}@")
            for path in ("/desk.xml", "/missing.xml", "/moved.xml")]
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic, log_level="DEBUG")
    assert run.status == 0 and run.output.count("HTTP 404") == 2
    assert secret not in run.output and "http://***@127.0.0.1" in run.output
    assert feed_server.requests_for("/desk.xml")[0].headers["authorization"].startswith("Basic ")

    (record,) = read_topic(kafka_bootstrap, topic, expect=1)
    assert record.feed_url == f"http://***@127.0.0.1:{feed_server.port}/desk.xml"
    store = tmp_path / "reader.sqlite3"
    assert cli(["feeds", "status", "--store", str(store)]) == 0
    status = capsys.readouterr().out
    assert secret not in status and status.count("http://***@127.0.0.1") >= 3
    for path in (store, *store.parent.glob("reader.sqlite3-*")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_local_files_are_feeds_only_in_the_feed_lists_folder(feed_server, kafka_bootstrap, topic_factory,
                                                             tmp_path):
    topic = topic_factory("raw")
    listed, elsewhere = tmp_path / "list", tmp_path / "elsewhere"
    listed.mkdir(), elsewhere.mkdir()
    (elsewhere / "private.xml").write_bytes(rss([("p-1", "Private file")]))
    (listed / "link.xml").symlink_to(elsewhere / "private.xml")
    (listed / "local.xml").write_bytes(rss([("l-1", "Local file")]))
    os.mkfifo(listed / "fifo.xml")
    feed_server.put("/other.xml", rss([("o-1", "Other desk story")]))
    store = tmp_path / "reader.sqlite3"

    def ingest(lines: list[str], *extra: str) -> IngestRun:
        (listed / "feeds.txt").write_text("\n".join(lines) + "\n")
        return run_ingest_measured(ingest_args(listed / "feeds.txt", store, kafka_bootstrap, topic, "--once",
                                               *extra), timeout=60)

    refused = ingest([(elsewhere / "private.xml").as_uri(), "link.xml", "local.xml"])
    assert refused.status == 2 and refused.output.count("outside the feed list's folder") == 2
    assert "line 1" in refused.output and "line 2" in refused.output and "line 3" not in refused.output
    # a FIFO in the folder: refused at once, and `--once` exits (it used to hang for ever)
    run = ingest(["local.xml", "fifo.xml", feed_server.url("/other.xml")])
    assert run.status == 0 and "fifo.xml is not a regular file" in run.output, run.output[-3000:]
    assert sorted(r.title for r in read_topic(kafka_bootstrap, topic, expect=2)) == ["Local file",
                                                                                   "Other desk story"]
    run = ingest([(elsewhere / "private.xml").as_uri()], "--allow-file-feeds")
    assert run.status == 0 and "published=1" in run.output


def test_a_batch_the_broker_refuses_is_retried_record_by_record_and_only_the_culprit_parked(tmp_path):
    """A broker that validates schemas refuses a whole batch for one invalid record (seen on
    Tansu): the good records of that batch still go out, the invalid one is parked."""
    store_path = tmp_path / "reader.sqlite3"
    feed = FeedSource("https://desk.example.com/feed")
    entries = parse_feed(rss([(f"b-{i}", f"Batch story {i}") for i in range(5)]), feed_url=feed.url,
                         fetched_at=datetime.now(timezone.utc)).entries
    with Store(store_path) as store:
        (state,) = store.sync_feeds([feed])
        store.record_document(state.id, polled_at=0, status=200, next_poll_at=0, entries=entries, title=None,
                              interval_s=None, etag=None, last_modified=None, body_hash=None)
    with sqlite3.connect(store_path) as db:  # the fault: one value the broker's schema refuses
        db.execute("UPDATE outbox SET value = ? WHERE seq = 3", (b'{"schema_version": "1.0"}',))
    with EmbeddedBroker(port=0, topics=("news.raw",), validate_schemas=True) as broker:
        publisher = Publisher(str(store_path), broker.bootstrap, "news.raw", kafka_timeout=5).start()
        try:
            assert publisher.wait_drained(60)
        finally:
            publisher.stop()
        records = read_topic(broker.bootstrap, "news.raw", expect=4)
    assert sorted(r.title for r in records) == [f"Batch story {i}" for i in (0, 1, 3, 4)]
    with Store(store_path) as store:
        (parked,) = store.parked()
    assert parked.seq == 3 and "InvalidRecordError" in parked.reason and publisher.stats.parked == 1


def test_a_document_of_many_tags_is_cut_at_the_markup_limit(feed_server, kafka_bootstrap, topic_factory, tmp_path):
    """10 MB of tags would hold feedparser for minutes (40-100 µs a tag), and the parsing of
    every other feed behind it."""
    topic = topic_factory("raw")
    head = RSS.format(tag="t", items=ITEM.format(guid="t-1", title="Before the tags", body="Fine.")).encode()
    head = head[: head.index(b"</channel>")]
    feed_server.put("/tags.xml", head + b"<item><title>Tagged</title><description>" + b"<b>" * (10 * 2**20 // 3))
    feed_server.put("/escaped.xml", head.replace(b"t-1", b"e-1") + b"<item><description>"
                    + b"&lt;b&gt;" * (10 * 2**20 // 9) + b"</description></item></channel></rss>")
    feed_server.put("/other.xml", rss([("o-1", "Other desk story")]))
    urls = [feed_server.url(path) for path in ("/tags.xml", "/escaped.xml", "/other.xml")]
    run = ingest_once(tmp_path, urls, kafka_bootstrap, topic, "--max-tags", "20000")
    assert run.status == 0, run.output[-3000:]
    assert run.output.count("more than 20000 tags: the document was cut at character") == 2
    records = read_topic(kafka_bootstrap, topic, expect=3)
    assert sorted(r.title for r in records) == ["Before the tags", "Before the tags", "Other desk story"]
