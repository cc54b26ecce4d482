"""The reader end to end: a real HTTP server on loopback, a real broker, the topic read back
with an independent client (confluent-kafka)."""

from __future__ import annotations

import asyncio
import dataclasses
import random

from pipeline import metrics
from pipeline.commands import feeds as feeds_command
from pipeline.reader.feedlist import FeedSource
from pipeline.reader.options import ReaderOptions
from pipeline.reader.service import Reader
from pipeline.reader.store import Store
from tests.pipeline.reader.feedserver import FeedServer
from tests.pipeline.reader.harness import (
    counts,
    expected_ids,
    ingest_args,
    read_topic,
    run_ingest,
    serve_fixtures,
    write_feed_list,
)

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Desk {tag}</title>
<link>https://desk.example.com/</link><lastBuildDate>{tag}</lastBuildDate>{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><guid isPermaLink="false">{guid}</guid>
<link>https://desk.example.com/{guid}</link><description>&lt;p&gt;{body}&lt;/p&gt;</description></item>"""


def rss(items: list[tuple[str, str]], tag: str = "1") -> bytes:
    """A feed with (guid, title) items."""
    body = "".join(ITEM.format(guid=guid, title=title, body=f"Story {guid}.") for guid, title in items)
    return RSS.format(tag=tag, items=body).encode()


def test_every_entry_reaches_the_topic_exactly_once_across_polls_and_a_restart(
    feed_server, kafka_bootstrap, topic_factory, tmp_path
):
    topic = topic_factory("raw")
    served = serve_fixtures(feed_server)
    feeds = write_feed_list(tmp_path, list(served))
    store = tmp_path / "reader.sqlite3"
    args = ingest_args(feeds, store, kafka_bootstrap, topic, "--once")
    wanted = set().union(*(expected_ids(url, f.body) for url, f in served.items() if f.readable))
    assert len(wanted) == sum(len(f.expect["records"]) for f in served.values())

    assert run_ingest(args) == 0  # not-a-feed.html fails: that is the feed's problem, not ours
    first = {url: feed_server.requests_for(url.split(str(feed_server.port))[1])[-1] for url in served}
    assert run_ingest(args) == 0  # second poll: conditional GET, every readable feed answers 304
    for url, fixture in served.items():
        request = feed_server.requests_for(url.split(str(feed_server.port))[1])[-1]
        if fixture.readable:
            assert request.headers["if-none-match"] and request.status == 304, url
        else:
            assert "if-none-match" not in request.headers and request.status == 200
        assert first[url].status == 200

    # a restart against servers that ignore validators: new bytes, the same entries
    for url, fixture in served.items():
        path = url.split(str(feed_server.port))[1]
        feed_server.put(path, fixture.body + b"\n<!-- regenerated -->\n",
                        content_type=fixture.headers["Content-Type"], etag=False, last_modified=False)
    assert run_ingest(args) == 0

    records = read_topic(kafka_bootstrap, topic, expect=len(wanted))
    assert {record.story_id for record in records} == wanted
    assert all(n == 1 for n in counts(records).values()) and len(records) == len(wanted)
    assert {record.revision for record in records} == {1}


def test_an_edited_entry_is_published_again_as_a_revision(feed_server, kafka_bootstrap, topic_factory, tmp_path):
    topic = topic_factory("raw")
    feed_server.put("/desk.xml", rss([("d-1", "Quake hits coast"), ("d-2", "Flood warning lifted")]))
    args = ingest_args(write_feed_list(tmp_path, [feed_server.url("/desk.xml")]), tmp_path / "r.db",
                       kafka_bootstrap, topic, "--once")
    assert run_ingest(args) == 0
    feed_server.put("/desk.xml", rss([("d-1", "Quake hits coast, 12 dead"), ("d-2", "Flood warning lifted")], "2"))
    assert run_ingest(args) == 0
    assert run_ingest(args) == 0
    records = read_topic(kafka_bootstrap, topic, expect=3)
    by_title = sorted((r.title, r.revision) for r in records)
    assert by_title == [("Flood warning lifted", 1), ("Quake hits coast", 1), ("Quake hits coast, 12 dead", 2)]
    assert len({r.story_id for r in records if r.title.startswith("Quake")}) == 1


def _reader(tmp_path, urls: list[str], options: ReaderOptions, seed: int = 1) -> Reader:
    store = Store(tmp_path / "reader.sqlite3")
    return Reader.for_sources(store, [FeedSource(url) for url in urls], options, rng=random.Random(seed))


def test_a_301_moves_the_stored_url_and_a_302_does_not(feed_server, fast_options, tmp_path):
    feed_server.put("/new-home.xml", rss([("m-1", "Moved feed story")]))
    feed_server.put("/campaign.xml", rss([("t-1", "Temporarily elsewhere")]))
    feed_server.redirect("/moved.xml", 301, "/new-home.xml")
    feed_server.redirect("/temp.xml", 302, "/campaign.xml")
    reader = _reader(tmp_path, [feed_server.url("/moved.xml"), feed_server.url("/temp.xml")], fast_options)
    asyncio.run(reader.run_once())
    asyncio.run(reader.run_once())
    moved, temp = reader.store.feeds()
    assert moved.url == feed_server.url("/new-home.xml") and moved.listed_url == feed_server.url("/moved.xml")
    assert temp.url == feed_server.url("/temp.xml")
    assert feed_server.hits("/moved.xml") == 1 and feed_server.hits("/new-home.xml") == 2
    assert feed_server.hits("/temp.xml") == 2 and feed_server.hits("/campaign.xml") == 2
    assert reader.store.pending_count() == 2  # one story each, published once
    assert reader.counters.not_modified == 2


def _polls(outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("newswire_reader_polls_total", {"outcome": outcome})


def test_a_failing_feed_backs_off_and_does_not_stop_the_others(feed_server, fast_options, tmp_path):
    feed_server.put("/good.xml", rss([("g-1", "Good")]))
    feed_server.status("/broken.xml", 500)
    feed_server.status("/busy.xml", 429, {"Retry-After": "3600"})
    options = dataclasses.replace(fast_options, failing_after=4)
    reader = _reader(tmp_path, [feed_server.url(p) for p in ("/good.xml", "/broken.xml", "/busy.xml")], options)
    store = reader.store
    good, broken, busy = store.feeds()
    before = {outcome: _polls(outcome) for outcome in metrics.POLL_OUTCOMES}
    for attempt in range(1, 6):
        asyncio.run(reader.run_once())
        state = store.feed(broken.id)
        delay = state.next_poll_at - state.last_poll_at
        base = options.max_backoff if attempt >= options.failing_after else options.interval * 2 ** (attempt - 1)
        assert base * 0.5 <= delay <= base, (attempt, delay)
        assert state.consecutive_errors == attempt and state.last_error == "HTTP 500 Internal Server Error"
    assert store.feed(broken.id).consecutive_errors >= options.failing_after  # failing...
    assert delay >= options.max_backoff * 0.5  # ...and polled every max_backoff, not every minute
    busy_state = store.feed(busy.id)
    assert busy_state.next_poll_at - busy_state.last_poll_at >= 3600  # Retry-After honoured
    good_state = store.feed(good.id)
    assert good_state.consecutive_errors == 0 and good_state.last_status in (200, 304)
    assert reader.counters.failed == 10 and reader.counters.fetched == 1 and reader.counters.not_modified == 4
    polled = {outcome: _polls(outcome) - before[outcome] for outcome in metrics.POLL_OUTCOMES}
    assert polled == {"fetched": 1, "not_modified": 4, "malformed": 0, "failed": 5, "throttled": 5}

    table = feeds_command.format_table(feeds_command.status_rows(store.feeds(), options.failing_after))
    broken_line = next(line for line in table.splitlines() if "/broken.xml" in line)
    assert "FAILING" in broken_line and " 500 " in broken_line and "HTTP 500 Internal Server Error" in broken_line


def test_continuous_polling_goes_on_while_another_host_hangs(feed_server, fast_options, tmp_path):
    """Feeds on a host that never answers hold that host's slots only: the feeds of other
    hosts keep being polled on schedule meanwhile."""
    options = dataclasses.replace(fast_options, interval=0.2, per_host=2, max_concurrency=4,
                                  read_timeout=30, total_timeout=30)
    feed_server.put("/good.xml", rss([("g-1", "Good")]))
    feed_server.put("/other.xml", rss([("o-1", "Other")]))
    with FeedServer("127.0.0.2") as slow_host:
        releases = [slow_host.hang(f"/stuck-{i}.xml") for i in range(4)]
        urls = [slow_host.url(f"/stuck-{i}.xml") for i in range(4)]
        reader = _reader(tmp_path, [*urls, feed_server.url("/good.xml"), feed_server.url("/other.xml")], options)

        async def scenario():
            stop = asyncio.Event()
            running = asyncio.create_task(reader.run_forever(stop))
            while feed_server.hits("/good.xml") < 5 or feed_server.hits("/other.xml") < 5:
                await asyncio.sleep(0.05)
            in_flight, peak = slow_host.in_flight, slow_host.max_in_flight
            for release in releases:
                release.set()
            stop.set()
            await running
            return in_flight, peak

        in_flight, peak = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert in_flight == 2 and peak == 2  # the slow host got its two slots, never more
    assert reader.store.pending_count() == 2


def test_polling_pauses_while_the_outbox_is_full_and_resumes_by_itself(feed_server, fast_options, tmp_path, caplog):
    options = dataclasses.replace(fast_options, interval=0.1, max_pending=3)
    feed_server.put("/desk.xml", rss([(f"p-{i}", f"Story {i}") for i in range(5)]))
    reader = _reader(tmp_path, [feed_server.url("/desk.xml")], options)

    async def scenario():
        stop = asyncio.Event()
        running = asyncio.create_task(reader.run_forever(stop))
        while "polling paused: 5 records wait for Kafka (limit 3)" not in caplog.text:
            await asyncio.sleep(0.05)
        hits = feed_server.hits("/desk.xml")
        await asyncio.sleep(1.0)  # ten intervals: no poll while paused
        assert feed_server.hits("/desk.xml") == hits
        with Store(reader.store.path) as kafka_took_them:  # as the publisher would
            kafka_took_them.mark_published(kafka_took_them.pending(10))
        while feed_server.hits("/desk.xml") < hits + 2:
            await asyncio.sleep(0.05)
        stop.set()
        await running

    with caplog.at_level("WARNING", logger="pipeline.reader.service"):
        asyncio.run(asyncio.wait_for(scenario(), 30))
    assert "polling resumes: 0 records wait for Kafka" in caplog.text


def test_a_bug_met_on_one_feed_is_an_error_on_that_feed_only(feed_server, fast_options, tmp_path, monkeypatch, caplog):
    """Fault injection: the parser raises on one document, as a bug would on odd input."""
    from pipeline.reader import service

    real_parse = service.parse_feed

    def parse_or_crash(body, **kwargs):
        if b"Poison" in body:
            raise RuntimeError("unexpected input")
        return real_parse(body, **kwargs)

    monkeypatch.setattr(service, "parse_feed", parse_or_crash)
    feed_server.put("/poison.xml", rss([("x-1", "Poison")]))
    feed_server.put("/good.xml", rss([("g-1", "Good")]))
    reader = _reader(tmp_path, [feed_server.url("/poison.xml"), feed_server.url("/good.xml")], fast_options)
    asyncio.run(reader.run_once())
    poison, good = reader.store.feeds()
    assert poison.consecutive_errors == 1 and poison.last_error == "internal error: RuntimeError: unexpected input"
    assert good.consecutive_errors == 0 and reader.store.pending_count() == 1
    assert "Traceback" in caplog.text and "internal error while polling" in caplog.text


def test_an_oversized_feed_is_cut_off_reported_and_keeps_its_complete_entries(feed_server, fast_options, tmp_path):
    feed_server.oversized("/huge.xml", 4 * fast_options.max_body_bytes)
    reader = _reader(tmp_path, [feed_server.url("/huge.xml")], fast_options)
    asyncio.run(reader.run_once())
    (huge,) = reader.store.feeds()
    assert f"the body was cut off at {fast_options.max_body_bytes} bytes (size limit)" in huge.last_problem
    assert "unfinished entry skipped" in huge.last_problem
    assert huge.consecutive_errors == 0 and reader.counters.entries >= 1
