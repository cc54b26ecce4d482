"""What the windowed counts (--stats-topic) add to a bounded backfill, measured in one run.

N raw stories (the seed story: dateline ID and KR, credit Reuters, cited TASS and KCNA, so
five counts per story) are produced with Kafka timestamps spread over --minutes minutes of
event time. The bounded pipeline (`python -m pipeline.enrich --bounded`, what `newswire
enrich` runs) then reads them twice per round, without and with --stats-topic, alternating
the order between rounds (the machine is shared: compare within a round). Each run is timed
from "pipeline built" to exit. The stats topic is checked: per dimension and value, the last
pane of every window adds up to N. Then the pipeline's own account of its time per story
(FnApiRunner only), where CountStories and WriteStats are the stats branch.

    .venv/bin/python benchmarks/stats_bench.py [--stories 20000] [--minutes 20] [--rounds 2]
        [--runner FnApiRunner | --runner PrismRunner --prism-location PATH]
"""

import argparse
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.enrich_bench import print_step_times, start_pipeline, topic_size
from pipeline.broker import EmbeddedBroker
from pipeline.kafka_clients import ensure_topics, make_producer
from schemas import STATS
from tests.pipeline.enrich.support import read_all
from tests.stories import raw_value

T0_MS = 1_697_533_200_000  # 2023-10-17T09:00:00Z
SEED_KEYS = 5  # counts per seed story: country ID, KR; credit Reuters; cited TASS, KCNA


def produce(bootstrap: str, topic: str, stories: int, minutes: int) -> None:
    producer = make_producer(bootstrap)
    spacing_ms = minutes * 60_000 / stories
    for i in range(stories):
        producer.send(topic, key=b"%032x" % i, value=raw_value(i),
                      timestamp_ms=T0_MS + int(i * spacing_ms))
    producer.flush()
    producer.close()


def run_once(bootstrap: str, raw: str, stories: int, stats: str | None, runner_args: list[str],
             workdir: Path, tag: str) -> float:
    """One bounded run; returns stories/s from "pipeline built" to exit."""
    enriched, dead = f"bench.enriched.{tag}", f"bench.dead.{tag}"
    ensure_topics(bootstrap, [enriched, dead] + ([stats] if stats else []))
    args = ["--bootstrap-servers", bootstrap, "--input-topic", raw, "--output-topic", enriched,
            "--dead-letter-topic", dead, "--consumer-group", f"bench-{tag}",
            "--start-from", "earliest", "--bounded", *runner_args]
    if stats:
        args += ["--stats-topic", stats]
    log_path = workdir / f"{tag}.log"
    proc, started = start_pipeline(args, log_path)
    status = proc.wait()
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"the bounded pipeline failed ({status}); see {log_path}")
    written = topic_size(bootstrap, enriched)
    assert written == stories, f"{written} enriched records for {stories} stories"
    rate = stories / elapsed
    print(f"  {'with' if stats else 'without'} --stats-topic  {rate:8.0f} stories/s")
    print_step_times(log_path, stories)
    return rate


def check_counts(bootstrap: str, stats: str, stories: int, minutes: int) -> None:
    """Per (dimension, value): the last pane of each window, summed over the windows, is N."""
    last: dict[tuple[str, str, str], dict] = {}
    for message in read_all(bootstrap, stats, expect=minutes * SEED_KEYS, timeout_s=60):
        record = STATS.decode(message.value)
        key = (record["window_start"], record["dimension"], record["value"])
        if key not in last or record["pane"]["index"] > last[key]["pane"]["index"]:
            last[key] = record
    totals = Counter()
    for (_, dimension, value), record in last.items():
        totals[dimension, value] += record["count"]
    windows = {window for window, _, _ in last}
    assert set(totals.values()) == {stories}, totals
    print(f"  stats topic: {len(last)} counts over {len(windows)} windows; each of the "
          f"{len(totals)} values adds up to {stories} stories")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--minutes", type=int, default=20, help="event-time span (windows)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runner", default="FnApiRunner")
    parser.add_argument("--prism-location", default=None, help="local Prism binary (PrismRunner)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    runner_args = ["--runner", args.runner]
    if args.prism_location:
        runner_args += ["--prism_location", args.prism_location]
    print(f"command: {' '.join(sys.argv)}")
    with EmbeddedBroker(port=0, topics=()) as broker, tempfile.TemporaryDirectory() as tmp:
        bootstrap, workdir = broker.bootstrap, Path(tmp)
        raw = "bench.raw"
        ensure_topics(bootstrap, [raw])
        produce(bootstrap, raw, args.stories, args.minutes)
        print(f"{args.stories} stories over {args.minutes} minutes of event time, {args.runner}")
        for n in range(args.rounds):
            print(f"round {n + 1}:")
            order = (False, True) if n % 2 == 0 else (True, False)
            rates = {}
            for with_stats in order:
                stats = f"bench.stats.{n}" if with_stats else None
                tag = f"{n}-{'stats' if with_stats else 'plain'}"
                rates[with_stats] = run_once(bootstrap, raw, args.stories, stats, runner_args,
                                             workdir, tag)
                if stats:
                    check_counts(bootstrap, stats, args.stories, args.minutes)
            print(f"  with / without: {rates[True] / rates[False]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
