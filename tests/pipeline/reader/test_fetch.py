"""Fetching over real HTTP from a loopback server: validators, redirects, limits, errors."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import gzip
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from pipeline.reader.body import BodyError, content_codings, decode_limited
from pipeline.reader.fetch import Fetcher, parse_retry_after
from pipeline.reader.options import DEFAULT_USER_AGENT

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


def fetch(options, url, **kwargs):
    async def go():
        async with Fetcher(options) as fetcher:
            return await fetcher.fetch(url, **kwargs)

    return asyncio.run(go())


def test_document_with_validators_then_304(feed_server, fast_options):
    feed_server.put("/feed.xml", FEED)
    first = fetch(fast_options, feed_server.url("/feed.xml"))
    assert first.ok and first.status == 200 and first.body == FEED and not first.not_modified
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = fetch(fast_options, feed_server.url("/feed.xml"), etag=etag, last_modified=modified)
    assert again.ok and again.not_modified and again.status == 304 and again.body is None
    sent = feed_server.requests_for("/feed.xml")[-1].headers
    assert sent["if-none-match"] == etag and sent["if-modified-since"] == modified
    assert sent["user-agent"] == DEFAULT_USER_AGENT and "newswire/" in sent["user-agent"]


def test_last_modified_alone_gives_304(feed_server, fast_options):
    feed_server.put("/feed.xml", FEED, etag=False)
    first = fetch(fast_options, feed_server.url("/feed.xml"))
    again = fetch(fast_options, feed_server.url("/feed.xml"), last_modified=first.headers["last-modified"])
    assert "etag" not in first.headers and again.not_modified


def test_gzip_is_asked_for_and_decoded(feed_server, fast_options):
    feed_server.put("/feed.xml", FEED, gzip=True)
    result = fetch(fast_options, feed_server.url("/feed.xml"))
    assert result.body == FEED and result.headers["content-encoding"] == "gzip"
    assert "gzip" in feed_server.requests_for("/feed.xml")[0].headers["accept-encoding"]


@pytest.mark.parametrize("status, moved", [(301, True), (308, True), (302, False), (307, False)])
def test_only_permanent_redirects_move_the_feed(feed_server, fast_options, status, moved):
    feed_server.put("/new.xml", FEED)
    feed_server.redirect("/old.xml", status, "/new.xml")
    result = fetch(fast_options, feed_server.url("/old.xml"))
    assert result.ok and result.body == FEED and result.final_url == feed_server.url("/new.xml")
    assert result.moved_to == (feed_server.url("/new.xml") if moved else None)


def test_a_temporary_hop_stops_the_move_where_it_is(feed_server, fast_options):
    feed_server.put("/c.xml", FEED)
    feed_server.redirect("/a.xml", 301, "/b.xml")
    feed_server.redirect("/b.xml", 302, "/c.xml")
    feed_server.redirect("/z.xml", 301, "/y.xml")
    result = fetch(fast_options, feed_server.url("/a.xml"))
    assert result.moved_to == feed_server.url("/b.xml") and result.final_url == feed_server.url("/c.xml")


def test_redirect_loops_and_other_schemes_are_errors(feed_server, fast_options):
    feed_server.redirect("/loop.xml", 302, "/loop.xml")
    feed_server.redirect("/local.xml", 301, "file:///etc/passwd")
    feed_server.redirect("/idna.xml", 301, "http://xn--/feed")  # httpx raises a bare ValueError
    assert "more than 5 redirects" in fetch(fast_options, feed_server.url("/loop.xml")).error
    assert "only http/https are followed" in fetch(fast_options, feed_server.url("/local.xml")).error
    assert "invalid URL on the way to the feed" in fetch(fast_options, feed_server.url("/idna.xml")).error


def test_rate_limits_carry_retry_after(feed_server, fast_options):
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    feed_server.status("/busy.xml", 429, {"Retry-After": "120"})
    feed_server.status("/down.xml", 503, {"Retry-After": later})
    busy = fetch(fast_options, feed_server.url("/busy.xml"))
    down = fetch(fast_options, feed_server.url("/down.xml"))
    assert busy.error == "HTTP 429 Too Many Requests, Retry-After 120 s" and busy.retry_after == 120
    assert down.status == 503 and 3500 < down.retry_after <= 3600


def test_parse_retry_after_forms():
    assert parse_retry_after("30") == 30 and parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past


def test_server_errors(feed_server, fast_options):
    feed_server.status("/broken.xml", 500)
    result = fetch(fast_options, feed_server.url("/broken.xml"))
    assert result.error == "HTTP 500 Internal Server Error" and result.status == 500
    assert fetch(fast_options, feed_server.url("/missing.xml")).error == "HTTP 404 Not Found"


def test_a_server_that_hangs_times_out(feed_server, fast_options):
    feed_server.hang("/slow.xml")
    started = time.monotonic()
    result = fetch(fast_options, feed_server.url("/slow.xml"))
    assert result.error == "read timeout: no data for 0.5 s"
    assert time.monotonic() - started < fast_options.total_timeout


def test_a_slow_response_hits_the_total_timeout(feed_server, fast_options):
    options = dataclasses.replace(fast_options, total_timeout=0.5, read_timeout=10)
    feed_server.hang("/slow.xml")
    assert fetch(options, feed_server.url("/slow.xml")).error == "no complete response within 0.5 s"


def test_an_oversized_body_is_cut_off(feed_server, fast_options):
    feed_server.oversized("/huge.xml", 10 * fast_options.max_body_bytes)
    result = fetch(fast_options, feed_server.url("/huge.xml"))
    assert result.ok and result.truncated and len(result.body) == fast_options.max_body_bytes


def test_a_gzip_bomb_is_cut_off_after_decoding(feed_server, fast_options):
    bomb = FEED[:-len(b"</channel></rss>")] + b"<!--" + b" " * (20 * fast_options.max_body_bytes)
    feed_server.put("/bomb.xml", bomb, gzip=True)
    result = fetch(fast_options, feed_server.url("/bomb.xml"))
    assert len(gzip.compress(bomb)) < fast_options.max_body_bytes  # small on the wire
    assert result.truncated and len(result.body) == fast_options.max_body_bytes


def test_private_addresses_are_refused_unless_allowed(feed_server, fast_options):
    feed_server.put("/feed.xml", FEED)
    guarded = dataclasses.replace(fast_options, allow_private_addresses=False)
    for url in (feed_server.url("/feed.xml"), f"http://localhost:{feed_server.port}/feed.xml"):
        result = fetch(guarded, url)
        assert result.error.startswith("refused: ") and "127.0.0.1" in result.error
        assert "--allow-private-addresses" in result.error
    assert feed_server.hits("/feed.xml") == 0
    assert fetch(fast_options, feed_server.url("/feed.xml")).ok


def test_the_cloud_metadata_address_is_refused(fast_options):
    """The guard sits on the connection (every hop of a redirect chain goes through it)."""
    guarded = dataclasses.replace(fast_options, allow_private_addresses=False)
    result = fetch(guarded, "http://169.254.169.254/latest/meta-data/")
    assert result.error.startswith("refused: 169.254.169.254")


def test_local_files(tmp_path, fast_options):
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    url = path.as_uri()
    first = fetch(fast_options, url)
    assert first.ok and first.body == FEED and first.status is None
    assert fetch(fast_options, url, last_modified=first.headers["last-modified"]).not_modified
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert fetch(fast_options, url, last_modified=first.headers["last-modified"]).body == FEED
    assert "cannot read" in fetch(fast_options, (tmp_path / "gone.xml").as_uri()).error


@pytest.mark.parametrize("coding, encode", [
    ("gzip", lambda data: gzip.compress(data[:40]) + gzip.compress(data[40:])),  # two members
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw deflate, as some servers send
    ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ("zstd", lambda data: zstandard.ZstdCompressor().compress(data)),
    ("br", brotli.compress),
    ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
    ("identity, gzip", gzip.compress),
])
def test_content_codings_are_decoded_layer_by_layer(feed_server, fast_options, coding, encode):
    feed_server.put("/feed.xml", encode(FEED), headers={"Content-Encoding": coding})
    result = fetch(fast_options, feed_server.url("/feed.xml"))
    assert result.ok and result.body == FEED and not result.truncated


@pytest.mark.parametrize("coding, body, error", [
    ("compress", b"\x1f\x9d\x90hello", "unsupported Content-Encoding compress"),
    ("br", b"\x0b\x02\x80not brotli at all", "corrupt br data"),
    ("gzip, gzip, gzip, gzip, gzip", b"", "5 layers refused (at most 4)"),
    ("gzip", b"\x1f\x8b\x08\x00garbage-garbage", "corrupt gzip data"),
])
def test_unusable_content_codings_are_errors(feed_server, fast_options, coding, body, error):
    feed_server.put("/feed.xml", body, headers={"Content-Encoding": coding})
    result = fetch(fast_options, feed_server.url("/feed.xml"))
    assert result.error.startswith("cannot decode the response body: ") and error in result.error


def test_a_gzip_body_cut_short_in_transit_keeps_what_was_decoded(feed_server, fast_options):
    feed_server.put("/feed.xml", gzip.compress(FEED * 50)[:-8], headers={"Content-Encoding": "gzip"})
    result = fetch(fast_options, feed_server.url("/feed.xml"))
    assert result.ok and result.truncated and (FEED * 50).startswith(result.body) and len(result.body) > len(FEED)  # no trailer


def test_decode_limited_holds_the_limit_on_a_nested_bomb():
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = inner.compress(b"\0" * 200 * 2**20) + inner.flush()
    bomb = gzip.compress(gzip.compress(bomb))
    body, truncated = decode_limited([bomb], content_codings("gzip,gzip,gzip"), 1000)
    assert truncated and body == b"\0" * 1000


@pytest.mark.parametrize("window_log, refused", [(23, False), (25, True)])
def test_a_zstd_frame_asking_for_a_window_over_8_mb_is_refused(window_log, refused):
    """RFC 9659 bounds a zstd content coding's window at 8 MB; zstandard would allocate 128."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=window_log)
    compressor = zstandard.ZstdCompressor(compression_params=params).compressobj()
    frame = compressor.compress(b"x" * 100_000) + compressor.flush()  # no content size: the window it says
    if refused:
        with pytest.raises(BodyError, match="too much memory"):
            decode_limited([frame], ["zstd"], 10**6)
    else:
        assert decode_limited([frame], ["zstd"], 10**6) == (b"x" * 100_000, False)


@pytest.mark.parametrize("host", ["[64:ff9b::a9fe:a9fe]", "[2002:a00:1::1]", "[::7f00:1]", "[fec0::1]",
                                  "[::ffff:0:7f00:1]"])
def test_ipv6_forms_of_private_addresses_are_refused_before_connecting(fast_options, host):
    guarded = dataclasses.replace(fast_options, allow_private_addresses=False)
    result = fetch(guarded, f"http://{host}/latest/meta-data/")
    assert result.error.startswith(f"refused: {host.strip('[]')} resolves to")


def test_local_files_are_read_only_inside_the_allowed_folder(tmp_path, fast_options):
    """Checked again when read: a link placed in the folder after the list was loaded."""
    allowed, outside = tmp_path / "feeds", tmp_path / "outside"
    allowed.mkdir(), outside.mkdir()
    (outside / "secret.xml").write_bytes(FEED)
    (allowed / "feed.xml").write_bytes(FEED)
    (allowed / "link.xml").symlink_to(outside / "secret.xml")
    options = dataclasses.replace(fast_options, allow_file_feeds=False, file_feed_dir=str(allowed))
    assert fetch(options, (allowed / "feed.xml").as_uri()).body == FEED
    assert "outside the feed list's folder" in fetch(options, (allowed / "link.xml").as_uri()).error
    nowhere = dataclasses.replace(options, file_feed_dir=None)
    assert "local files are not read as feeds here" in fetch(nowhere, (allowed / "feed.xml").as_uri()).error
    os.mkfifo(allowed / "pipe.xml")
    assert fetch(options, (allowed / "pipe.xml").as_uri()).error.endswith("pipe.xml is not a regular file")


def test_a_file_read_blocked_for_good_does_not_keep_the_process_alive():
    """What made `ingest --once` hang on a FIFO: asyncio.run() waited for the blocked thread."""
    script = ("import asyncio, threading\n"
              "from pipeline.reader.fetch import _in_daemon_thread\n"
              "async def main():\n"
              "    try:\n"
              "        await asyncio.wait_for(_in_daemon_thread(threading.Event().wait), 0.2)\n"
              "    except asyncio.TimeoutError:\n"
              "        print('timed out', flush=True)\n"
              "asyncio.run(main())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30,
                          check=False, cwd=Path(__file__).parents[3])
    assert done.returncode == 0 and done.stdout == "timed out\n", done.stderr


def test_a_brotli_bomb_is_cut_at_the_decoded_size_limit(feed_server, fast_options):
    limit = fast_options.max_body_bytes
    bomb = brotli.compress(FEED + b" " * (200 * limit), quality=5)  # decodes to ~50 MB
    feed_server.put("/feed.xml", bomb, headers={"Content-Encoding": "br"})
    result = fetch(fast_options, feed_server.url("/feed.xml"))
    assert result.truncated and len(result.body) == limit and result.body.startswith(FEED)
