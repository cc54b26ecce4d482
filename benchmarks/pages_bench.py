"""Article pages: fetching throughput against a local server, extraction time by page size.

1. Fetching: --hosts loopback servers (127.0.0.1, 127.0.0.2, ...; tests/pipeline/reader/
   feedserver.py, in this process) each serve robots.txt and --pages/--hosts article pages of
   about --size-kb KB, gzip-compressed on the wire. One PageFetcher (the reader's: robots.txt,
   host limiter, address guard, decoding, stripping) fetches them all, in the reader's event
   loop with its one worker thread. Run at --host-rate (default 1000/s, i.e. the machine's
   speed) and, for scale, the default politeness of 1 request/s per host makes
   N hosts give at most N pages/s.
2. Extraction: pages written here (the test page with its body grown to the size) at
   10, 50, 200 and 700 KB: ms/page for transforms.page.extract_page (trafilatura and
   what we add) and for the pipeline's whole path (transforms.extract.enrich_record).
   With the evaluation pages present (../shared/devdata/pages or $NEWSWIRE_DEVDATA/pages),
   the same for them, by size band.

    .venv/bin/python benchmarks/pages_bench.py [--pages 400] [--hosts 4] [--size-kb 60]
        [--host-rate 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trafilatura

from benchmarks.page_eval import pages_dir
from pipeline.reader.fetch import Fetcher
from pipeline.reader.options import ReaderOptions
from pipeline.reader.pages import PageFetcher
from pipeline.reader.politeness import HostLimiter
from pipeline.reader.robots import RobotsCache
from tests.pages import article_page, raw_with_page
from tests.pipeline.reader.feedserver import FeedServer
from transforms.extract import enrich_record, load_data
from transforms.page import extract_page

PARAGRAPH = ("<p>The port authority said on Tuesday that the northern terminal would reopen after "
             "the storm, that the ferries would run on time and that traders expected the backlog "
             "of container ships to clear by the end of the week. {n}</p>")


def page_of(kb: int) -> str:
    """The test article page, its body grown to about ``kb`` KB."""
    page = article_page("Port reopens")
    paragraphs, n = [], 0
    while len(page) + sum(map(len, paragraphs)) < kb * 1024:
        paragraphs.append(PARAGRAPH.format(n=n))
        n += 1
    return article_page("Port reopens", body="".join(paragraphs))


async def fetch_all(options: ReaderOptions, urls: list[str]) -> tuple[float, dict]:
    async with Fetcher(options) as fetcher:
        limiter = HostLimiter(options)
        pages = PageFetcher(fetcher, limiter, RobotsCache(fetcher, limiter))
        records = [{"source": {"link": url}, "html": None, "text": "summary"} for url in urls]
        started = time.perf_counter()
        results = await asyncio.gather(*(pages.page_for(r, "always") for r in records))
        elapsed = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for result in results:
        outcomes[result.article["outcome"]] = outcomes.get(result.article["outcome"], 0) + 1
    return elapsed, outcomes


def bench_fetch(args) -> None:
    body = page_of(args.size_kb).encode()
    servers = [FeedServer(f"127.0.0.{n + 1}") for n in range(args.hosts)]
    urls = []
    for server in servers:
        server.__enter__()
        server.put("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        for n in range(args.pages // args.hosts):
            server.put(f"/news/{n}", body, content_type="text/html; charset=utf-8", gzip=True)
            urls.append(server.url(f"/news/{n}"))
    try:
        options = ReaderOptions(allow_private_addresses=True, host_rate=args.host_rate,
                                per_host=2, max_concurrency=16)
        elapsed, outcomes = asyncio.run(fetch_all(options, urls))
        print(f"fetching: {len(urls)} pages of {len(body) / 1024:.0f} KB from {args.hosts} hosts "
              f"(gzip on the wire, per-host 2, host rate {args.host_rate:g}/s): {elapsed:.2f} s, "
              f"{len(urls) / elapsed:.1f} pages/s; outcomes {outcomes}")
        slow = dataclasses.replace(options, host_rate=1.0)
        per_host = args.pages // args.hosts
        few = [url for h in range(args.hosts) for url in urls[h * per_host : h * per_host + 3]]
        elapsed, _ = asyncio.run(fetch_all(slow, few))
        print(f"fetching at the default 1 request/s per host: {len(few)} pages from {args.hosts} "
              f"hosts in {elapsed:.2f} s = {len(few) / elapsed:.2f} pages/s (robots.txt counts "
              f"as a request: at most {args.hosts} pages/s)")
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def timed(function, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def measure(page: str, url: str, repeat: int) -> tuple[float, float, float]:
    """ms for trafilatura alone, for extract_page, and for the pipeline's whole path."""
    raw = raw_with_page(page)
    return (
        timed(lambda: trafilatura.extract(page, url=url, include_comments=False), repeat),
        timed(lambda: extract_page(page, url), repeat),
        timed(lambda: enrich_record(raw, pipeline_version="bench",
                                    processed_at="2026-12-01T08:00:00Z"), repeat),
    )


def bench_extract(args) -> None:
    load_data()
    print("extraction (median of --repeat runs, one core):")
    print(f"  {'page':<26} {'KB':>6} {'trafilatura alone':>18} {'extract_page ms':>16} "
          f"{'whole enrichment ms':>20}")
    for kb in (10, 50, 200, 700):
        page = page_of(kb)
        alone_ms, page_ms, whole_ms = measure(page, "https://herald.example.org/p", args.repeat)
        print(f"  {'written here':<26} {len(page.encode()) / 1024:>6.0f} {alone_ms:>18.1f} "
              f"{page_ms:>16.1f} {whole_ms:>20.1f}")
    folder = pages_dir(None)
    index = folder / "index.jsonl"
    if not index.is_file():
        print(f"  (no evaluation pages at {folder}: real pages skipped)")
        return
    bands: dict[str, list[tuple[float, float]]] = {}
    for row in map(json.loads, index.open(encoding="utf-8")):
        page = gzip.decompress((folder / row["file"]).read_bytes()).decode("utf-8")
        kb = len(page.encode()) / 1024
        band = "< 50 KB" if kb < 50 else "50-200 KB" if kb < 200 else "200-1000 KB" if kb < 1000 else ">= 1 MB"
        bands.setdefault(band, []).append(measure(page, row["url"], 1))
    for band in ("< 50 KB", "50-200 KB", "200-1000 KB", ">= 1 MB"):
        if band in bands:
            runs = bands[band]
            medians = [statistics.median(r[i] for r in runs) for i in range(3)]
            print(f"  {'real pages ' + band:<26} {len(runs):>4} p {medians[0]:>18.1f} "
                  f"{medians[1]:>16.1f} {medians[2]:>20.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--size-kb", type=int, default=60)
    parser.add_argument("--host-rate", type=float, default=1000.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bench_fetch(args)
    bench_extract(args)
    print(f"command: .venv/bin/python benchmarks/pages_bench.py --pages {args.pages} --hosts "
          f"{args.hosts} --size-kb {args.size_kb} --host-rate {args.host_rate:g} --repeat {args.repeat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
