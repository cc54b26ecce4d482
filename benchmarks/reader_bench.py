"""Throughput of the feed reader (`newswire ingest --once`) against its parts' bare speed.

A local HTTP server (tests/pipeline/reader/feedserver.py, in this process) serves --feeds RSS
2.0 feeds of --entries entries each (content:encoded of ~2 KB, dc:creator, categories, ETag
and Last-Modified). An embedded broker (or --bootstrap-servers) receives the stories. Then,
each in its own process, measured inside that process (start-up and imports excluded):

1. cycle 1: `newswire ingest --once` on a fresh store: every feed is new (fetch, parse, store,
   publish every entry and wait for Kafka's acknowledgements);
2. cycle 2: the same command again: every feed answers 304 Not Modified;
3. baselines, same run and same documents: httpx fetching every feed with the same
   concurrency; feedparser parsing every document; kafka-python producing as many records of
   the same size. Ratios compare the reader with each.

All feeds live on one host (127.0.0.1), so --per-host defaults to --concurrency here.

    .venv/bin/python benchmarks/reader_bench.py [--feeds 1000] [--entries 20]
        [--concurrency 16] [--per-host 16] [--bootstrap-servers HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARAGRAPH = (
    "The ministry said on Tuesday that talks would resume next week, after a round of "
    "meetings in the capital failed to settle the dispute over port fees and customs checks. "
)


def make_feed(index: int, entries: int) -> bytes:
    """One realistic RSS 2.0 document (about 2.3 KB per entry)."""
    items = []
    for n in range(entries):
        body = "".join(f"<p>CITY – {PARAGRAPH * 2} ({index}/{n}/{p})</p>" for p in range(5))
        items.append(
            f"<item><title>Story {n} of feed {index}: talks to resume next week</title>"
            f"<link>https://bench{index % 50}.example.com/world/{index}/{n}</link>"
            f'<guid isPermaLink="false">bench-{index}-{n}</guid>'
            f"<description>Talks resume next week ({index}/{n}).</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded>"
            f"<dc:creator>Desk {index % 7}</dc:creator><category>World</category>"
            f"<pubDate>{formatdate(1_697_500_000 + index * 60 + n, usegmt=True)}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Bench feed {index}</title><link>https://bench{index % 50}.example.com/</link>"
        f"<description>benchmark</description>{''.join(items)}</channel></rss>"
    ).encode()


# --- measured steps, each run in a child process ------------------------------------------

def _usage() -> tuple[float, float]:
    """(CPU seconds of this process, peak RSS in MiB). The peak comes from VmHWM: a child's
    ru_maxrss starts at its parent's peak (the server holding every feed), VmHWM at exec."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return usage.ru_utime + usage.ru_stime, peak


def _measure(step) -> dict:
    cpu0, rss0 = _usage()
    start = time.perf_counter()
    result = step()
    wall = time.perf_counter() - start
    cpu1, rss1 = _usage()
    return {"wall": wall, "cpu": cpu1 - cpu0, "rss_before": rss0, "rss_peak": rss1, **(result or {})}


def child_ingest(argv: list[str]) -> dict:
    from pipeline.commands import ingest

    parser = argparse.ArgumentParser()
    ingest.configure(parser)
    args = parser.parse_args(argv)
    out = io.StringIO()

    def step():
        stdout, sys.stdout = sys.stdout, out
        try:
            status = ingest.main(args)
        finally:
            sys.stdout = stdout
        return {"status": status, "summary": out.getvalue().strip()}

    return _measure(step)


def child_fetch(urls_file: str, concurrency: int) -> dict:
    import httpx

    urls = Path(urls_file).read_text().split()

    async def fetch_all():
        limit = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
            async def one(url):
                async with limit:
                    return len((await client.get(url)).content)
            return sum(await asyncio.gather(*(one(url) for url in urls)))

    return _measure(lambda: {"bytes": asyncio.run(fetch_all())})


def child_parse(feeds: int, entries: int) -> dict:
    import feedparser

    documents = [make_feed(i, entries) for i in range(feeds)]

    def step():
        parsed = sum(len(feedparser.parse(io.BytesIO(doc)).entries) for doc in documents)
        return {"entries": parsed}

    return _measure(step)


def child_produce(bootstrap: str, records: int, size: int) -> dict:
    from pipeline.kafka_clients import ensure_topics, make_producer

    ensure_topics(bootstrap, ["bench.produce"])
    value = b'{"x":"' + b"y" * (size - 8) + b'"}'
    producer = make_producer(bootstrap)

    def step():
        futures = [producer.send("bench.produce", key=b"%032x" % i, value=value) for i in range(records)]
        producer.flush()
        return {"acked": sum(1 for f in futures if f.succeeded())}

    result = _measure(step)
    producer.close()
    return result


CHILDREN = {"ingest": child_ingest, "fetch": child_fetch, "parse": child_parse, "produce": child_produce}


def run_child(mode: str, *args) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--", *map(str, args)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} step failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the benchmark --------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-host", type=int, default=None, help="default: --concurrency")
    parser.add_argument("--bootstrap-servers", default=None, help="default: an embedded broker")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        casts = {"fetch": (str, int), "parse": (int, int), "produce": (str, int, int)}
        values = args.rest if args.child == "ingest" else [c(v) for c, v in zip(casts[args.child], args.rest)]
        result = CHILDREN[args.child](values) if args.child == "ingest" else CHILDREN[args.child](*values)
        print(json.dumps(result))
        return
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)  # the broker's start-up probes
    per_host = args.per_host or args.concurrency

    from pipeline.broker import EmbeddedBroker
    from tests.pipeline.reader.feedserver import FeedServer

    with tempfile.TemporaryDirectory(prefix="reader-bench-") as tmp, FeedServer() as server:
        broker = None if args.bootstrap_servers else EmbeddedBroker(port=0, topics=("news.raw",)).start()
        bootstrap = args.bootstrap_servers or broker.bootstrap
        try:
            total_bytes = 0
            urls = []
            for i in range(args.feeds):
                document = make_feed(i, args.entries)
                total_bytes += len(document)
                server.put(f"/feeds/{i}.xml", document)
                urls.append(server.url(f"/feeds/{i}.xml"))
            feeds_file = Path(tmp, "feeds.txt")
            feeds_file.write_text("\n".join(urls) + "\n")
            Path(tmp, "urls.txt").write_text("\n".join(urls))
            ingest = ["--feeds", feeds_file, "--store", Path(tmp, "reader.sqlite3"), "--once",
                      "--bootstrap-servers", bootstrap, "--topic", "news.raw",
                      "--allow-private-addresses", "--concurrency", args.concurrency,
                      "--per-host", per_host, "--publish-timeout", 600]
            entries = args.feeds * args.entries
            cycle1 = run_child("ingest", *ingest)
            cycle2 = run_child("ingest", *ingest)
            fetch = run_child("fetch", Path(tmp, "urls.txt"), args.concurrency)
            parse = run_child("parse", args.feeds, args.entries)
            record_bytes = 2700  # a raw story record of these feeds, about
            produce = run_child("produce", bootstrap, entries, record_bytes)
        finally:
            if broker is not None:
                broker.stop()

    for name, cycle in (("cycle 1", cycle1), ("cycle 2", cycle2)):
        if cycle["status"] != 0:
            raise SystemExit(f"{name} exited with {cycle['status']}: {cycle['summary']}")
    if f"published={entries} waiting=0" not in cycle1["summary"] or "not_modified=" + str(args.feeds) not in cycle2["summary"]:
        raise SystemExit(f"unexpected results:\n{cycle1['summary']}\n{cycle2['summary']}")

    def row(name, result, feeds, items, unit="entries/s"):
        rate_f = f"{feeds / result['wall']:>9.0f}" if feeds else f"{'':>9}"
        rate_e = f"{items / result['wall']:>10.0f} {unit}" if items else ""
        return (f"  {name:<28}{rate_f} feeds/s {rate_e:<22} wall {result['wall']:6.2f} s  "
                f"CPU {result['cpu']:6.2f} s  peak RSS {result['rss_peak']:5.0f} MiB "
                f"(before {result['rss_before']:.0f})")

    print(f"reader benchmark: {args.feeds} feeds x {args.entries} entries "
          f"({total_bytes / 2**20:.1f} MiB of feed XML), concurrency {args.concurrency}, "
          f"per-host {per_host}, broker {'embedded' if broker else bootstrap}")
    print(row("cycle 1: all new", cycle1, args.feeds, entries))
    print(row("cycle 2: all 304", cycle2, args.feeds, 0))
    print("baselines (same run, same documents):")
    print(row("httpx fetch only", fetch, args.feeds, 0))
    print(row("feedparser parse only", parse, args.feeds, parse["entries"]))
    print(row("kafka-python produce only", produce, 0, produce["acked"], "records/s"))
    def ratio(a: dict, n_a: int, b: dict, n_b: int, key: str) -> float:
        """How many times b's per-item cost ``key`` (wall or cpu) a's per-item cost is."""
        return (b[key] / n_b) / (a[key] / n_a)

    for key, label in (("wall", "wall clock"), ("cpu", "CPU time")):
        print(f"ratios by {label}: cycle 1 feeds/s = {ratio(cycle1, args.feeds, fetch, args.feeds, key):.2f} x "
              f"fetch-only, {ratio(cycle1, args.feeds, parse, args.feeds, key):.2f} x parse-only; "
              f"cycle 1 entries/s = {ratio(cycle1, entries, produce, produce['acked'], key):.2f} x "
              f"produce-only; cycle 2 feeds/s = {ratio(cycle2, args.feeds, fetch, args.feeds, key):.2f} x fetch-only")
    print(f"  cycle 1: {cycle1['summary']}")
    print(f"  cycle 2: {cycle2['summary']}")
    print(f"reproduce: .venv/bin/python benchmarks/reader_bench.py --feeds {args.feeds} "
          f"--entries {args.entries} --concurrency {args.concurrency} --per-host {per_host}")


if __name__ == "__main__":
    main()
