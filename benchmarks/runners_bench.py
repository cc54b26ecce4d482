"""The bounded backfill of the same stories on each Beam runner, against a bare kafka-python
copy measured in the same run. Reports; does not gate.

N raw stories (the seed story, ~3 KB of JSON, each its own story_id) are produced to a raw
topic of --partitions partitions; then, one after the other on the same broker:

- bare copy: kafka-python consume + produce of the same records to another topic (no Beam,
  no transforms; benchmarks/kafkaio_bench.py's baseline), in this process;
- for each runner: `python -m pipeline.enrich --bounded --start-from earliest` into a fresh
  enriched topic with a fresh consumer group, checked to hold exactly N records after.

For each: stories/s (wall time, from "pipeline built" to exit for the pipeline), CPU seconds
per story (every process of the run: the pipeline and its children, Prism or the Flink job
server's JVM, from /proc) and peak memory (the largest sum of RSS over those processes,
sampled every 0.5 s). Runners: fnapi (FnApiRunner), prism (PrismRunner, LOOPBACK workers),
flink1 / flink2 (embedded Flink of parallelism 1 / 2, job server from Maven Central, LOOPBACK
workers: all Python work runs in the pipeline process whatever the parallelism).

    .venv/bin/python benchmarks/runners_bench.py [--stories 20000] [--partitions 4]
        [--runners fnapi,prism,flink1,flink2]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.enrich_bench import produce, topic_size
from benchmarks.kafkaio_bench import bare_copy
from pipeline import runners
from pipeline.broker import EmbeddedBroker
from pipeline.kafka_clients import ensure_topics
from tests.stories import raw_value

RUNNERS = {
    "fnapi": lambda: runners.runner_arguments("fnapi"),
    "prism": lambda: runners.runner_arguments("prism"),
    "flink1": lambda: runners.runner_arguments("flink", parallelism=1),
    "flink2": lambda: runners.runner_arguments("flink", parallelism=2),
}
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _process_table() -> dict[int, tuple[int, int, int]]:
    """pid → (parent pid, CPU ticks user + system, RSS bytes) of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after "pid (comm)": state ppid ... utime(12th) stime(13th) ... rss(22nd), in pages
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]),
                                  int(fields[21]) * PAGE)
    return table


class TreeSampler(threading.Thread):
    """CPU and RSS of a process and all its descendants, every 0.5 s."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.ticks: dict[int, int] = {}  # last CPU ticks seen per descendant (not the root)
        self.peak_rss = 0
        self._halt = threading.Event()

    def _sample(self) -> None:
        table = _process_table()
        tree, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, (ppid, _, _) in table.items() if ppid == parent]
            tree.update(children)
            frontier.extend(children)
        self.peak_rss = max(self.peak_rss, sum(table[pid][2] for pid in tree if pid in table))
        for pid in tree - {self.root}:
            if pid in table:
                self.ticks[pid] = table[pid][1]

    def run(self) -> None:
        while not self._halt.wait(0.5):
            self._sample()

    def stop(self) -> float:
        """Stop; return the descendants' CPU seconds (the root's comes from wait4)."""
        self._halt.set()
        self.join()
        return sum(self.ticks.values()) / TICK


def run_pipeline(runner: str, bootstrap: str, raw: str, stories: int, workdir: Path,
                 tag: str) -> tuple[float, float, int]:
    """Run the bounded pipeline on ``runner``; return (wall s, CPU s, peak RSS bytes)."""
    enriched, dead = f"bench.runners.enriched.{runner}.{tag}", f"bench.runners.dead.{runner}.{tag}"
    ensure_topics(bootstrap, [enriched, dead], partitions=1)
    log_path = workdir / f"{runner}.log"
    args = [
        "--bootstrap-servers", bootstrap, "--input-topic", raw, "--output-topic", enriched,
        "--dead-letter-topic", dead, "--consumer-group", f"bench-{runner}-{tag}",
        "--start-from", "earliest", "--bounded", *RUNNERS[runner](),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.enrich", *args], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    ended = None  # os.wait4's answer once the pipeline exited (not Popen's: it needs the usage)
    while b"enrich: " not in log_path.read_bytes():  # the pipeline is built and starting
        ended = os.wait4(proc.pid, os.WNOHANG)
        if ended[0]:
            break
        time.sleep(0.05)
    started = time.perf_counter()
    _, status, usage = ended if ended and ended[0] else os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = sampler.stop() + usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        raise RuntimeError(f"{runner}: the pipeline failed ({proc.returncode}); see {log_path}")
    written = topic_size(bootstrap, enriched)
    if written != stories:
        raise RuntimeError(f"{runner}: {written} enriched records for {stories} stories; see {log_path}")
    return wall, cpu, sampler.peak_rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000, help="backfill size (default: %(default)s)")
    parser.add_argument("--partitions", type=int, default=4, help="raw topic partitions (default: %(default)s)")
    parser.add_argument("--runners", default=",".join(RUNNERS),
                        help="comma-separated, of " + ", ".join(RUNNERS) + " (default: all)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.runners.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in RUNNERS]
    if unknown:
        parser.error(f"--runners: unknown {', '.join(unknown)}; choose from {', '.join(RUNNERS)}")
    logging.basicConfig(level=logging.WARNING)
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    for name in chosen:  # install first, so that no build is timed
        RUNNERS[name]()
    tag = f"{os.getpid()}.{int(time.time())}"
    broker = EmbeddedBroker(port=0, topics=()).start()
    try:
        bootstrap = broker.bootstrap
        print(f"embedded broker, {args.partitions} partitions, {os.cpu_count()} cores, "
              f"{args.stories} stories of {len(raw_value(0))} B raw JSON")
        raw, copy = f"bench.runners.raw.{tag}", f"bench.runners.copy.{tag}"
        ensure_topics(bootstrap, [raw, copy], partitions=args.partitions)
        produce(bootstrap, raw, 0, args.stories)
        cpu_before = time.process_time()
        copy_s = bare_copy(bootstrap, raw, copy, args.stories)
        copy_cpu = time.process_time() - cpu_before
        copy_rate = args.stories / copy_s
        print(f"{'run':<34}{'stories/s':>10}{'× copy':>8}{'CPU ms/story':>14}{'peak MiB':>10}")
        print(f"{'bare copy (kafka-python)':<34}{copy_rate:>10.0f}{1:>8.2f}"
              f"{copy_cpu / args.stories * 1000:>14.3f}{'-':>10}")
        with tempfile.TemporaryDirectory(prefix="runners-bench-") as workdir:
            for name in chosen:
                wall, cpu, peak = run_pipeline(name, bootstrap, raw, args.stories, Path(workdir), tag)
                rate = args.stories / wall
                print(f"{'pipeline --bounded, ' + name:<34}{rate:>10.0f}{rate / copy_rate:>8.2f}"
                      f"{cpu / args.stories * 1000:>14.3f}{peak / 2**20:>10.0f}", flush=True)
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
