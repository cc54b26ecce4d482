"""The enrichment pipeline's throughput, latency and memory, with baselines from the same run.

1. Bounded backfill: N raw stories (the seed story, ~3 KB of JSON, each its own story_id)
   are produced to a raw topic, then, in this order:
   a. bare copy:   kafka-python consume + produce the same records to another topic, flushing
                   per poll batch like the Beam sink does per bundle (no Beam, no transforms);
   b. transforms:  decode + validate + clean + dateline + attribution + encode, plain
                   function calls on one core (no Beam, no Kafka);
   c. pipeline:    `python -m pipeline.enrich --bounded` (what `newswire enrich` runs) into an
                   enriched topic, timed from "pipeline built" to exit (imports excluded).
   The pipeline's rate is printed as a ratio of the lesser of (a) and (b): the issue's
   target is >= 50 %. The enriched topic is checked to hold exactly N records. Then the
   pipeline's own account of its time (Beam's sampled execution time per step), per story.
2. Continuous latency: the pipeline runs in its own process while stories are published at
   --rate per second for --seconds; latency is the enriched record's Kafka timestamp minus
   the raw record's (both CreateTime), p50/p95/p99 over every story.
Memory of both pipeline processes (RSS sampled from /proc every 0.5 s, and VmHWM, the peak)
is printed over the run, to show whether it grows with the number of stories.

    .venv/bin/python benchmarks/enrich_bench.py [--stories 100000] [--rate 200] [--seconds 60]
        [--partitions 1] [--bootstrap-servers HOST:PORT] [--runner FnApiRunner]
    quick: .venv/bin/python benchmarks/enrich_bench.py --stories 5000 --seconds 15
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson
from kafka import TopicPartition

from benchmarks.kafkaio_bench import bare_copy  # the same baseline in both benchmarks
from pipeline import __version__
from pipeline.broker import EmbeddedBroker
from pipeline.kafka_clients import ensure_topics, make_consumer, make_producer
from pipeline.kafkaio.offsets import end_offsets
from schemas import ENRICHED_STORY, RAW_STORY
from tests.stories import raw_value
from transforms import extract

TARGET_RATIO = 0.5
TARGET_P99_MS = 1000
POOL = 1000  # distinct raw values kept in memory for the transforms-alone run


def produce(bootstrap: str, topic: str, first: int, count: int) -> float:
    producer = make_producer(bootstrap)
    start = time.perf_counter()
    for i in range(first, first + count):
        producer.send(topic, key=b"%032x" % i, value=raw_value(i))
    producer.flush()
    elapsed = time.perf_counter() - start
    producer.close()
    return elapsed


def topic_size(bootstrap: str, topic: str) -> int:
    consumer = make_consumer(bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        return sum(end_offsets(consumer, partitions).values())
    finally:
        consumer.close()


def transforms_alone(count: int) -> float:
    """The pipeline's per-record work as plain calls (what each Beam step wraps)."""
    pool = [raw_value(i) for i in range(min(POOL, count))]
    input_position = {"topic": "news.raw", "partition": 0, "offset": 0}
    start = time.perf_counter()
    for i in range(count):
        raw = orjson.loads(pool[i % len(pool)])
        RAW_STORY.validate(raw)
        work = extract.attribution_step(extract.dateline_step(extract.clean_step(extract.start(raw))))
        record = extract.finish(work, pipeline_version=__version__,
                                processed_at="2023-10-17T09:05:13Z", input=input_position)
        ENRICHED_STORY.encode(record)
    return time.perf_counter() - start


class MemorySampler(threading.Thread):
    """RSS of a process every 0.5 s (from /proc), and its peak (VmHWM) at the end."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []  # (seconds since start, RSS KiB)
        self.peak_kib = 0
        self._halt = threading.Event()

    def _status(self) -> dict[str, int]:
        fields = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0])
        return fields

    def run(self) -> None:
        start = time.monotonic()
        while not self._halt.wait(0.5):
            try:
                fields = self._status()
            except (FileNotFoundError, ProcessLookupError):
                return
            self.samples.append((time.monotonic() - start, fields.get("VmRSS", 0)))
            self.peak_kib = max(self.peak_kib, fields.get("VmHWM", 0))

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def report(self, label: str) -> str:
        if not self.samples:
            return f"{label}: no memory samples"
        picks = [self.samples[min(len(self.samples) - 1, int(q * (len(self.samples) - 1)))]
                 for q in (0.1, 0.25, 0.5, 0.75, 1.0)]
        over_time = "  ".join(f"{t:5.0f}s {kib / 1024:5.0f}" for t, kib in picks)
        return f"{label} RSS MiB over the run: {over_time}   peak {self.peak_kib / 1024:.0f} MiB"


def start_pipeline(args: list[str], log_path: Path) -> tuple[subprocess.Popen, float]:
    """Start `python -m pipeline.enrich`; return it once it has built its pipeline."""
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.enrich", *args], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT)
    log.close()
    while b"enrich: " not in log_path.read_bytes():
        if proc.poll() is not None:
            raise RuntimeError(f"the pipeline exited: {log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return proc, time.perf_counter()


def pipeline_args(bootstrap: str, raw: str, enriched: str, dead: str, runner: str) -> list[str]:
    return ["--bootstrap-servers", bootstrap, "--input-topic", raw, "--output-topic", enriched,
            "--dead-letter-topic", dead, "--consumer-group", f"bench-{raw}", "--runner", runner]


def backfill(bootstrap: str, runner: str, stories: int, partitions: int, workdir: Path, tag: str) -> None:
    raw, copy, enriched, dead = (f"bench.{name}.{tag}" for name in ("raw", "copy", "enriched", "dead"))
    ensure_topics(bootstrap, [raw, copy, enriched, dead], partitions=partitions)
    produced = produce(bootstrap, raw, 0, stories)
    print(f"produce raw stories (kafka-python)     {stories / produced:8.0f} stories/s")

    copy_s = bare_copy(bootstrap, raw, copy, stories)
    assert topic_size(bootstrap, copy) == stories
    print(f"a bare copy (kafka-python, no Beam)    {stories / copy_s:8.0f} stories/s")
    transform_s = transforms_alone(stories)
    print(f"b transforms alone (one core, no Kafka){stories / transform_s:8.0f} stories/s")

    proc, started = start_pipeline(
        [*pipeline_args(bootstrap, raw, enriched, dead, runner), "--bounded"], workdir / "backfill.log")
    memory = MemorySampler(proc.pid)
    memory.start()
    status = proc.wait()
    pipeline_s = time.perf_counter() - started
    memory.stop()
    if status != 0:
        raise RuntimeError(f"the bounded pipeline failed ({status}); see {workdir / 'backfill.log'}")
    written = topic_size(bootstrap, enriched)
    assert written == stories, f"{written} enriched records for {stories} stories"
    baseline = min(stories / copy_s, stories / transform_s)
    ratio = (stories / pipeline_s) / baseline
    print(f"c pipeline --bounded (Beam, {runner})  {stories / pipeline_s:8.0f} stories/s   "
          f"{ratio:4.0%} of the lesser of a and b (target >= {TARGET_RATIO:.0%}: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    print(memory.report("  pipeline --bounded"))
    print_step_times(workdir / "backfill.log", stories)


def print_step_times(log_path: Path, stories: int) -> None:
    """The pipeline's own account of where its time went (Beam's sampled execution time per
    top-level step, logged by pipeline.enrich at the end of a bounded run), per story."""
    for line in log_path.read_text(errors="replace").splitlines():
        if "seconds by step: " in line:
            steps = [part.rsplit(" ", 1) for part in line.split("seconds by step: ", 1)[1].split(", ")]
            print("  time by step, µs/story: " + ", ".join(
                f"{name} {float(seconds) / stories * 1e6:.0f}" for name, seconds in steps))
            return
    print("  time by step: not reported by this runner")


def latency(bootstrap: str, runner: str, rate: int, seconds: int, partitions: int, workdir: Path,
            tag: str, first: int) -> None:
    raw, enriched, dead = (f"bench.live.{name}.{tag}" for name in ("raw", "enriched", "dead"))
    ensure_topics(bootstrap, [raw, enriched, dead], partitions=partitions)
    proc, _ = start_pipeline(pipeline_args(bootstrap, raw, enriched, dead, runner), workdir / "live.log")
    memory = MemorySampler(proc.pid)
    try:
        warmup = 20  # until these come out, the pipeline is reading
        produce(bootstrap, raw, first, warmup)
        consumer = make_consumer(bootstrap, max_poll_records=1000)
        out_partitions = [TopicPartition(enriched, p) for p in sorted(consumer.partitions_for_topic(enriched))]
        consumer.assign(out_partitions)
        seen: dict[bytes, int] = {}
        deadline = time.monotonic() + 120
        while len(seen) < warmup:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no output after 120 s; see {workdir / 'live.log'}")
            for batch in consumer.poll(timeout_ms=200).values():
                seen.update((r.key, r.timestamp) for r in batch)
        memory.start()
        producer = make_producer(bootstrap)
        sent: dict[bytes, int] = {}
        total = rate * seconds
        begin = time.monotonic()
        for n in range(total):  # steady rate; consume as we go so the reader keeps up
            while time.monotonic() < begin + n / rate:
                for batch in consumer.poll(timeout_ms=5).values():
                    seen.update((r.key, r.timestamp) for r in batch)
            key = b"%032x" % (first + warmup + n)
            now_ms = int(time.time() * 1000)
            producer.send(raw, key=key, value=raw_value(first + warmup + n), timestamp_ms=now_ms)
            sent[key] = now_ms
        producer.flush()
        publish_s = time.monotonic() - begin
        deadline = time.monotonic() + 60
        while not sent.keys() <= seen.keys() and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                seen.update((r.key, r.timestamp) for r in batch)
        consumer.close()
        producer.close()
    finally:
        memory.stop()
        proc.terminate()
        proc.wait(timeout=60)
    missing = len(sent.keys() - seen.keys())
    latencies = sorted(seen[key] - sent[key] for key in sent if key in seen)
    cuts = statistics.quantiles(latencies, n=100)
    print(f"continuous: {len(sent)} stories at {len(sent) / publish_s:.0f}/s for {publish_s:.0f} s, "
          f"{missing} missing after 60 s")
    print(f"  latency raw → enriched (Kafka timestamps): p50 {cuts[49]:.0f} ms  p95 {cuts[94]:.0f} ms  "
          f"p99 {cuts[98]:.0f} ms  max {latencies[-1]} ms   (target p99 <= {TARGET_P99_MS} ms: "
          f"{'met' if cuts[98] <= TARGET_P99_MS else 'NOT met'})")
    print(memory.report("  pipeline continuous"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=100_000, help="backfill size (default: %(default)s)")
    parser.add_argument("--rate", type=int, default=200, help="continuous stories/s (default: %(default)s)")
    parser.add_argument("--seconds", type=int, default=60, help="continuous duration (default: %(default)s)")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--bootstrap-servers", default=None, help="an existing broker (default: embedded)")
    parser.add_argument("--runner", default="FnApiRunner",
                        help="Beam runner (default: %(default)s, what DirectRunner is here)")
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    broker = None
    bootstrap = args.bootstrap_servers
    if bootstrap is None:
        broker = EmbeddedBroker(port=0, topics=()).start()
        bootstrap = broker.bootstrap
    print(f"broker {bootstrap}{' (embedded Tansu)' if broker else ''}, {args.partitions} partition(s), "
          f"{os.cpu_count()} cores, stories of {len(raw_value(0))} B raw JSON")
    tag = f"{os.getpid()}.{int(time.time())}"
    try:
        with tempfile.TemporaryDirectory(prefix="enrich-bench-") as workdir:
            if not args.skip_backfill:
                backfill(bootstrap, args.runner, args.stories, args.partitions, Path(workdir), tag)
            if not args.skip_latency:
                latency(bootstrap, args.runner, args.rate, args.seconds, args.partitions,
                        Path(workdir), tag, first=10 * args.stories + 10**6)
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
