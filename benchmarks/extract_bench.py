"""Throughput of extraction (clean, dateline, attribution) on one core, and its memory.

The labelled corpus (tests/transforms/corpus/) is scaled to N stories of realistic length:
each story is a corpus case as HTML (plain-text cases get one <p> per paragraph), padded
with body paragraphs drawn from other cases, right after its opening paragraph, to a size
drawn uniformly from 2-6 KB. Stories are generated one at a time (deterministic seed), so
memory stays flat and no two consecutive stories are the same text.

Each story runs through the three step functions of transforms.extract (what the Beam
pipeline runs); each stage is timed on its own and together. The baseline, measured in the
same run on the same stories, is selectolax parsing the HTML and taking its text: the least
any HTML cleaning must do. Peak RSS is printed after warm-up and at the end.

    .venv/bin/python benchmarks/extract_bench.py [--stories 50000] [--seed 1] [--cpu 0]
"""

from __future__ import annotations

import argparse
import gc
import html
import json
import os
import random
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser

from schemas.timefmt import parse_rfc3339
from transforms.extract import attribution_step, clean_step, dateline_step

CORPUS = ROOT / "tests" / "transforms" / "corpus"
TARGET = 5000  # stories/s/core for the whole step (issue 3)
MIN_SIZE, MAX_SIZE = 2048, 6144


def load_cases() -> list[dict]:
    return [json.loads(line) for path in sorted(CORPUS.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def as_html(case: dict) -> str:
    if case["format"] == "html":
        return case["input"]
    return "\n".join(f"<p>{html.escape(line, quote=False)}</p>"
                     for line in case["input"].splitlines() if line.strip())


def filler_paragraphs(cases: list[dict]) -> list[str]:
    """Middle paragraphs of the plain-text cases: ordinary body text, no dateline, no sign-off."""
    out = []
    for case in cases:
        if case["format"] == "text":
            lines = [line for line in case["input"].splitlines() if len(line) > 80]
            out.extend(f"<p>{html.escape(line, quote=False)}</p>" for line in lines[1:-1])
    return out


def stories(cases: list[dict], count: int, seed: int) -> Iterator[tuple[str, object]]:
    """``count`` (html, published_at) pairs of 2-6 KB, generated one at a time."""
    rng = random.Random(seed)
    bases = [(as_html(c), parse_rfc3339(c["published_at"]) if c.get("published_at") else None)
             for c in cases]
    filler = filler_paragraphs(cases)
    for n in range(count):
        page, published_at = bases[n % len(bases)]
        target = rng.randint(MIN_SIZE, MAX_SIZE)
        cut = page.find("</p>")
        cut = len(page) if cut < 0 else cut + 4
        extra: list[str] = []
        size = len(page.encode())
        while size < target:
            paragraph = rng.choice(filler)
            extra.append(paragraph)
            size += len(paragraph.encode()) + 1
        yield page[:cut] + "\n" + "\n".join(extra) + page[cut:], published_at


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=50_000, help="stories to run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="padding seed (default: %(default)s)")
    parser.add_argument("--cpu", type=int, default=None,
                        help="pin the process to this CPU (default: the first one allowed)")
    args = parser.parse_args(argv)
    if args.stories < 1:
        parser.error(f"--stories {args.stories}: must be at least 1")
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[0] if args.cpu is None else args.cpu
    if cpu not in allowed:
        parser.error(f"--cpu {cpu}: not among the CPUs this process may use {allowed}")
    os.sched_setaffinity(0, {cpu})

    cases = load_cases()
    # Warm-up: loads the registry, gazetteer and compiled patterns once, as a worker would.
    for page, published_at in stories(cases, 200, args.seed + 1):
        attribution_step(dateline_step(clean_step({"html": page, "published_at": published_at})))
    gc.collect()
    rss_start, peak_start = current_rss_mb(), peak_rss_mb()

    size_min, size_max, size_sum = MAX_SIZE * 10, 0, 0  # running figures: no list growing
    baseline = clean = dateline = attribution = 0.0
    clock = time.perf_counter
    for page, published_at in stories(cases, args.stories, args.seed):
        size = len(page.encode())
        size_min, size_max, size_sum = min(size_min, size), max(size_max, size), size_sum + size
        t0 = clock()
        LexborHTMLParser(page).text(separator="\n")
        t1 = clock()
        work = clean_step({"html": page, "published_at": published_at})
        t2 = clock()
        work = dateline_step(work)
        t3 = clock()
        attribution_step(work)
        t4 = clock()
        baseline += t1 - t0
        clean += t2 - t1
        dateline += t3 - t2
        attribution += t4 - t3
    rss_end, peak_end = current_rss_mb(), peak_rss_mb()

    n = args.stories
    whole = clean + dateline + attribution
    print(f"extract benchmark: {n} stories, {size_min}-{size_max} bytes of HTML "
          f"(mean {size_sum / n:.0f}), {len(cases)} corpus cases, "
          f"one core (cpu {cpu}), Python {sys.version.split()[0]}")
    print(f"  {'stage':<34}{'stories/s':>12}{'µs/story':>10}{'x baseline':>12}")
    for name, seconds in (("baseline: selectolax parse + text", baseline),
                          ("clean (clean_step)", clean), ("dateline (dateline_step)", dateline),
                          ("attribution (attribution_step)", attribution),
                          ("all three together", whole)):
        print(f"  {name:<34}{n / seconds:>12,.0f}{seconds / n * 1e6:>10.1f}"
              f"{seconds / baseline:>12.2f}")
    verdict = "meets" if n / whole >= TARGET else "BELOW"
    print(f"  target >= {TARGET:,} stories/s/core for the whole step: {verdict}")
    print(f"  RSS after warm-up {rss_start:.1f} MB (peak {peak_start:.1f} MB); "
          f"at the end {rss_end:.1f} MB (peak {peak_end:.1f} MB); "
          f"growth {rss_end - rss_start:+.1f} MB")
    print(f"  reproduce: .venv/bin/python benchmarks/extract_bench.py --stories {n} "
          f"--seed {args.seed} --cpu {cpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
