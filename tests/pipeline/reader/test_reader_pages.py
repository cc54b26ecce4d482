"""The reader with article pages, end to end: loopback HTTP servers, a real broker, the topic
read back with confluent-kafka. No entry is lost when its page fails; two readers side by
side share a feed list by host."""

from __future__ import annotations

import argparse
from collections import Counter

from pipeline import metrics
from pipeline.commands import feeds as feeds_command
from pipeline.reader.feedlist import FeedSource
from pipeline.reader.pages import PageResult, with_page
from pipeline.reader.shard import parse_shard, select, shard_of
from pipeline.reader.store import Store
from schemas import RAW_STORY
from tests.pages import PAYWALL_STUB, article_page, summary_feed
from tests.pipeline.reader.feedserver import FeedServer
from tests.pipeline.reader.harness import ingest_args, read_records, run_ingest, write_feed_list

HTML = "text/html; charset=utf-8"
ITEMS = [("port", "Port reopens"), ("private", "Secret plans"), ("gone", "Deleted story"),
         ("slow", "Slow page"), ("stub", "Subscribers only"), ("pdf", "A report"),
         ("moved", "Ferries resume")]
EXPECTED = {"Port reopens": "fetched", "Secret plans": "robots_disallow", "Deleted story": "http_error",
            "Slow page": "fetch_error", "Subscribers only": "too_little_text", "A report": "not_html",
            "Ferries resume": "fetched"}


def serve_publisher(server: FeedServer) -> str:
    """A summary-only feed whose pages fail in every way; returns the feed URL."""
    base = server.url("")
    server.put("/feed.rss", summary_feed(base, ITEMS))
    server.put("/robots.txt", b"User-agent: *\nDisallow: /news/private\n", content_type="text/plain")
    server.put("/news/port", article_page("Port reopens").encode(), content_type=HTML)
    server.put("/news/private", article_page("Secret plans").encode(), content_type=HTML)
    server.status("/news/gone", 410)
    server.hang("/news/slow")
    server.put("/news/stub", PAYWALL_STUB.encode(), content_type=HTML)
    server.put("/news/pdf", b"%PDF-1.4", content_type="application/pdf")
    server.redirect("/news/moved", 301, "/news/port")
    return server.url("/feed.rss")


def test_no_entry_is_lost_when_its_page_fails(feed_server, kafka_bootstrap, topic_factory, tmp_path,
                                              capsys):
    topic = topic_factory("raw")
    feeds = write_feed_list(tmp_path, [serve_publisher(feed_server)])
    store = tmp_path / "reader.sqlite3"
    args = ingest_args(feeds, store, kafka_bootstrap, topic, "--once", "--fetch-articles", "auto",
                       "--page-timeout", "1", "--host-rate", "50")
    assert run_ingest(args) == 0
    records = read_records(kafka_bootstrap, topic, expect=len(ITEMS))
    assert sorted(r["title"] for r in records) == sorted(title for _, title in ITEMS)  # each once
    outcomes = {r["title"]: r["article"]["outcome"] for r in records}
    assert outcomes == EXPECTED
    for record in records:
        assert record["schema_version"] == "1.1"
        assert record["html"] or record["text"]  # the feed's summary is always there
        has_page = record["article"]["outcome"] in ("fetched", "too_little_text")
        assert (record.get("page") is not None) == has_page, record["title"]
    moved = next(r for r in records if r["title"] == "Ferries resume")
    assert moved["article"]["final_url"] == feed_server.url("/news/port")
    with Store(store) as state:
        assert state.article_outcomes() == Counter(EXPECTED.values())
    assert metrics.READER_ARTICLES.labels("robots_disallow")._value.get() >= 1
    parser = argparse.ArgumentParser()
    feeds_command.configure(parser)
    assert feeds_command.main(parser.parse_args(["status", "--store", str(store)])) == 0
    assert "article pages of new and edited entries: fetched 2, " in capsys.readouterr().out
    # a second poll publishes nothing and fetches no page again
    before = len(feed_server.requests)
    assert run_ingest(args) == 0
    assert {r.path for r in feed_server.requests[before:]} == {"/feed.rss"}
    assert len(read_records(kafka_bootstrap, topic, expect=len(ITEMS), settle=1.0)) == len(ITEMS)


def test_a_page_near_the_record_limit_travels_through_kafka(feed_server, kafka_bootstrap,
                                                            topic_factory, tmp_path):
    """A page of ~480 KB (under the 500 KB page limit) is published in its raw record and
    read back whole by another client; with a long feed summary beside it the record would
    pass the raw schema's 700,000 bytes: the page is left out, the entry still goes out."""
    topic = topic_factory("raw")
    base = feed_server.url("")
    feed_server.put("/feed.rss", summary_feed(base, [("long", "A long read")]))
    body = "".join(f"<p>Paragraph {n}: the port authority said the terminal would reopen "
                   f"after the storm, and the ferries would run on time. {'x' * 500}</p>"
                   for n in range(780))
    page = article_page("A long read", body=body).encode()
    assert 450_000 < len(page) < 500_000
    feed_server.put("/news/long", page, content_type=HTML)
    args = ingest_args(write_feed_list(tmp_path, [feed_server.url("/feed.rss")]), tmp_path / "r.db",
                       kafka_bootstrap, topic, "--once", "--fetch-articles", "auto")
    assert run_ingest(args) == 0
    [record] = read_records(kafka_bootstrap, topic, expect=1)
    assert record["article"]["outcome"] == "fetched" and record["article"]["bytes"] == len(page)
    assert "Paragraph 779:" in record["page"]["html"]


def test_a_page_that_would_overflow_the_record_is_left_out():
    record = {"html": "<p>" + "a long teaser " * 20_000 + "</p>", "source": {"link": "https://x.example/a"}}
    page = {"url": "https://x.example/a", "html": "<p>" + "y" * 450_000 + "</p>",
            "content_type": "text/html", "encoding": "utf-8"}
    article = {"outcome": "fetched", "url": "https://x.example/a", "final_url": "https://x.example/a",
               "status": 200, "bytes": 450_000, "reason": None}
    out = with_page(record, PageResult(article, page))
    assert "page" not in out and out["article"]["outcome"] == "too_large"
    assert "a raw record may be 700000" in out["article"]["reason"]
    small = with_page({"html": "<p>x</p>"}, PageResult(article, page))
    assert small["page"] is page and small["article"]["outcome"] == "fetched"


def test_the_article_outcomes_are_the_schemas():
    enum = RAW_STORY.schema["definitions"]["article"]["properties"]["outcome"]["enum"]
    assert list(metrics.ARTICLE_OUTCOMES) == enum


def test_shards_split_a_feed_list_by_publisher():
    sources = [FeedSource(f"https://{host}/feed") for host in
               ("feeds.reuters.com", "www.reuters.com", "apnews.com", "bbc.co.uk", "news.bbc.co.uk")]
    shares = [select(sources, k, 3) for k in (1, 2, 3)]
    assert sorted(s.url for share in shares for s in share) == sorted(s.url for s in sources)
    assert shard_of("https://feeds.reuters.com/a", 3) == shard_of("https://www.reuters.com/b", 3)
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "x", "1/0"):
        try:
            parse_shard(bad)
        except ValueError as exc:
            assert "--shard" in str(exc)
        else:
            raise AssertionError(bad)


def test_two_readers_side_by_side_poll_each_host_once(kafka_bootstrap, topic_factory, tmp_path):
    """Four publishers on four loopback addresses; two readers with --shard 1/2 and 2/2 and
    their own stores: every entry reaches the topic once, each host hears from one reader."""
    topic = topic_factory("raw")
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
    servers = [FeedServer(host) for host in hosts]
    for server in servers:
        server.__enter__()
    try:
        urls = []
        for n, server in enumerate(servers):
            items = [(f"s{n}-{i}", f"Story {i} of desk {n}") for i in range(3)]
            server.put("/feed.rss", summary_feed(server.url(""), items))
            for slug, title in items:
                server.put(f"/news/{slug}", article_page(title).encode(), content_type=HTML)
            urls.append(server.url("/feed.rss"))
        feeds = write_feed_list(tmp_path, urls)
        for k in (1, 2):
            args = ingest_args(feeds, tmp_path / f"reader-{k}.sqlite3", kafka_bootstrap, topic,
                               "--once", "--shard", f"{k}/2", "--fetch-articles", "auto",
                               "--host-rate", "50", "--user-agent", f"newswire-test reader-{k}")
            assert run_ingest(args) == 0
        records = read_records(kafka_bootstrap, topic, expect=12)
        assert len(records) == 12 and len({r["story_id"] for r in records}) == 12
        assert all(r["article"]["outcome"] == "fetched" for r in records)
        readers_by_host = {
            server.host: {r.headers["user-agent"] for r in server.requests} for server in servers
        }
        assert all(len(agents) == 1 for agents in readers_by_host.values()), readers_by_host
        assert len(set().union(*readers_by_host.values())) == 2  # both readers had work
    finally:
        for server in servers:
            server.__exit__(None, None, None)
