"""SLOW (about a minute): windowed counts on Prism, what Beam's DirectRunner runs for a user
with internet. The continuous pipeline runs in its own process with --stats-topic against
the session's broker; stories carry Kafka timestamps in a minute that has just ended, one
of them twice (dedup drops the repeat, so it is counted once). The counts are read back from
the stats topic with confluent-kafka: on-time panes first, then a story that arrives late
(behind the watermark, within the allowed lateness) is counted in a later pane of the same
window, and one later than the allowed lateness is not counted, though it is enriched.

Runner: PrismRunner with a local Prism binary (tests/prism.py); skipped without.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline.kafka_clients import make_producer
from schemas import ENRICHED_STORY, SCHEMA_VERSION, STATS
from tests.pipeline.enrich.support import read_all
from tests.prism import prism_location
from tests.stories import raw_value

REPO = Path(__file__).resolve().parents[3]
# What the seed story (JAKARTA/SEOUL, credit Reuters, cited TASS and KCNA) counts toward.
SEED_KEYS = {("country", "ID"), ("country", "KR"), ("credit", "Reuters"), ("cited", "TASS"),
             ("cited", "KCNA")}
LATE_PANE_WAIT_S = 40  # the late pane fires this long after the test starts (see below)


def publish_at(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, int]]) -> None:
    """Send (key, value, Kafka timestamp ms) records and wait for the acknowledgements."""
    producer = make_producer(bootstrap)
    try:
        for key, value, stamp in records:
            producer.send(topic, key=key, value=value, timestamp_ms=stamp).get(timeout=10)
    finally:
        producer.close()


def latest_panes(bootstrap: str, topic: str, expect: int, timeout_s: float) -> dict:
    """The stats topic as a consumer upserting by key sees it: key → the record with the
    highest pane index; waits until at least ``expect`` records were read."""
    latest: dict[str, dict] = {}
    for message in read_all(bootstrap, topic, expect=expect, timeout_s=timeout_s):
        record = STATS.decode(message.value)
        assert message.headers == {"schema_version": SCHEMA_VERSION.encode()}
        window, dimension, value = message.key.decode().split("|", 2)
        assert (window, dimension, value) == (record["window_start"], record["dimension"], record["value"])
        kept = latest.get(message.key.decode())
        if kept is None or record["pane"]["index"] > kept["pane"]["index"]:
            latest[message.key.decode()] = record
    return latest


def counts_of(latest: dict, window_start: str) -> dict[tuple[str, str], tuple[int, str]]:
    return {(r["dimension"], r["value"]): (r["count"], r["pane"]["timing"])
            for r in latest.values() if r["window_start"] == window_start}


def test_counts_per_minute_land_on_the_stats_topic_on_prism(kafka_bootstrap, topic_factory, tmp_path):
    prism_binary = prism_location()
    raw, enriched, dead, stats = (topic_factory(name) for name in ("raw", "enriched", "dead", "stats"))
    # The minute that ended 5 to 65 s ago: the watermark (processing time minus 2 s once the
    # source is idle) is past its end at once, so its on-time panes fire as soon as the
    # pipeline runs. Prism fires late data of a window in the pane it emits when the
    # watermark passes the window's end plus the allowed lateness (seen with Prism 2.78),
    # so the lateness is chosen to put that pane LATE_PANE_WAIT_S after now.
    now_ms = int(time.time() * 1000)
    start_ms = (now_ms - 65_000) // 60_000 * 60_000
    end_ms = start_ms + 60_000
    lateness_minutes = (now_ms - end_ms + LATE_PANE_WAIT_S * 1000) / 60_000
    window = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000))
    publish_at(kafka_bootstrap, raw, [
        (f"{n:032x}".encode(), raw_value(n), start_ms + 1000 * n) for n in range(3)
    ] + [(f"{0:032x}".encode(), raw_value(0), start_ms + 10_000)])  # a redelivery: dropped

    log_path = tmp_path / "enrich.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.enrich", "--bootstrap-servers", kafka_bootstrap,
             "--input-topic", raw, "--output-topic", enriched, "--dead-letter-topic", dead,
             "--stats-topic", stats, "--stats-lateness-minutes", f"{lateness_minutes:.4f}",
             "--consumer-group", f"group-{raw}", "--start-from", "earliest",
             "--runner", "PrismRunner", "--prism_location", prism_binary],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        on_time = counts_of(latest_panes(kafka_bootstrap, stats, expect=5, timeout_s=60), window)
        assert on_time == {key: (3, "on_time") for key in SEED_KEYS}, log_path.read_text(errors="replace")

        publish_at(kafka_bootstrap, raw, [
            (f"{3:032x}".encode(), raw_value(3), start_ms + 30_000),  # late, within the lateness
            (f"{4:032x}".encode(), raw_value(4), start_ms - 10 * 60_000),  # later than the lateness
        ])
        final = latest_panes(kafka_bootstrap, stats, expect=10, timeout_s=LATE_PANE_WAIT_S + 60)
        assert counts_of(final, window) == {key: (4, "late") for key in SEED_KEYS}
        assert {r["window_start"] for r in final.values()} == {window}  # nothing for the too-late story

        stories = read_all(kafka_bootstrap, enriched, expect=5, timeout_s=30)
        assert sorted(ENRICHED_STORY.decode(m.value)["story_id"] for m in stories) == [
            f"{n:032x}" for n in range(5)]
        assert proc.poll() is None, log_path.read_text(errors="replace")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:  # Prism runs as a child of the pipeline's process: end the whole group
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
