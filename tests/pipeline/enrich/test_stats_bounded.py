"""--stats-topic on the FnApiRunner: a bounded run (a backfill) fires every window at the end
of its input, so the counts land on the stats topic, read back with confluent-kafka; a
continuous run there is refused with a one-line error before anything starts.
Runner: FnApiRunner."""

from __future__ import annotations

from collections import Counter

from pipeline.enrich.launch import run
from schemas import STATS
from tests.pipeline.enrich.support import read_all
from tests.pipeline.enrich.test_stats_prism import SEED_KEYS, publish_at
from tests.stories import raw_value

T0_MS = 1_697_533_320_000  # 2023-10-17T09:02:00Z


def _args(bootstrap: str, raw: str, enriched: str, dead: str, stats: str, *extra: str) -> list[str]:
    return ["--bootstrap-servers", bootstrap, "--input-topic", raw, "--output-topic", enriched,
            "--dead-letter-topic", dead, "--stats-topic", stats,
            "--consumer-group", f"group-{raw}", "--runner", "FnApiRunner", *extra]


def test_a_bounded_run_counts_each_minute_once_with_its_final_count(kafka_bootstrap, topic_factory):
    raw, stats = topic_factory("raw", partitions=2), topic_factory("stats")
    enriched, dead = topic_factory("enriched"), topic_factory("dead")
    minute_one = [(f"{n:032x}".encode(), raw_value(n), T0_MS + 1000 * n) for n in range(3)]
    minute_two = [(f"{9:032x}".encode(), raw_value(9), T0_MS + 61_000)]
    redelivered = [(f"{0:032x}".encode(), raw_value(0), T0_MS + 62_000)]  # dropped by dedup
    not_a_story = [(b"bad", b"{", T0_MS + 1000)]  # a dead letter, counted nowhere
    publish_at(kafka_bootstrap, raw, minute_one + minute_two + redelivered + not_a_story)

    assert run(_args(kafka_bootstrap, raw, enriched, dead, stats, "--bounded")) == 0

    records = [STATS.decode(m.value) for m in read_all(kafka_bootstrap, stats, expect=10)]
    assert Counter((r["window_start"], r["dimension"], r["value"], r["count"], r["pane"]["timing"])
                   for r in records) == Counter(
        [("2023-10-17T09:02:00Z", *key, 3, "on_time") for key in SEED_KEYS]
        + [("2023-10-17T09:03:00Z", *key, 1, "on_time") for key in SEED_KEYS]
    )


def test_a_continuous_run_on_the_fnapi_runner_is_refused_in_one_line(capsys):
    assert run(_args("127.0.0.1:9", "news.raw", "news.enriched", "news.deadletter", "news.stats")) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("newswire enrich: error: --stats-topic: the FnApiRunner never fires windows")
