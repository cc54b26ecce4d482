"""`newswire enrich --bounded` against the real (embedded) broker: every raw story comes
out once on the enriched topic, read back with an independent client (confluent-kafka) and
valid against the schema; bad records come out on the dead-letter topic with their reason;
offsets are committed, so the next run starts after them. Runners: every one of
tests/pipeline/conftest.py (FnApiRunner, Prism, the DirectRunner on Prism), unless a test
says otherwise."""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import sys

import orjson
import pytest

from pipeline import cli
from pipeline.enrich.launch import run
from schemas import DEAD_LETTER, ENRICHED_STORY, SCHEMA_VERSION
from tests.pipeline.conftest import DIRECT_FELL_BACK, DIRECT_ON_PRISM, Runner
from tests.pipeline.enrich.support import publish, read_all
from tests.stories import raw_value

FNAPI = Runner("fnapi", ("--runner", "FnApiRunner"))


def _enrich(runner, bootstrap: str, raw: str, enriched: str, dead: str, *extra: str) -> int:
    return run([
        "--bootstrap-servers", bootstrap, "--input-topic", raw, "--output-topic", enriched,
        "--dead-letter-topic", dead, "--consumer-group", f"group-{raw}", *runner.args, *extra,
    ])


def test_bounded_run_enriches_each_story_once_and_dead_letters_the_rest(
    kafka_bootstrap, topic_factory, tmp_path, pipeline_runner, caplog
):
    caplog.set_level(logging.INFO, logger="apache_beam.runners.direct.direct_runner")
    raw, enriched, dead = topic_factory("raw", partitions=2), topic_factory("enriched"), topic_factory("dead")
    n = 30
    stories = [(f"{i:032x}".encode(), raw_value(i)) for i in range(n)]
    malformed = {
        b"bad-json": (b'{"story_id": ', "decode"),
        f"{100:032x}".encode(): (raw_value(100, revision=0), "validate"),
        f"{101:032x}".encode(): (raw_value(101, html=None, text=None), "clean"),
    }
    redelivered = stories[:5]  # the same stories and revisions again: dedup drops them
    publish(
        kafka_bootstrap, raw,
        stories + [(key, value) for key, (value, _) in malformed.items()] + redelivered,
    )
    files = tmp_path / "enriched"

    assert _enrich(
        pipeline_runner, kafka_bootstrap, raw, enriched, dead, "--bounded", "--output-path", str(files)
    ) == 0
    if pipeline_runner.name == "direct":  # it ran on Prism, as for a user with internet
        assert DIRECT_ON_PRISM in caplog.text
        assert not any(fell_back in caplog.text for fell_back in DIRECT_FELL_BACK)

    out = read_all(kafka_bootstrap, enriched, expect=n)
    assert len(out) == n
    records = [ENRICHED_STORY.decode(message.value) for message in out]  # every field valid
    assert sorted(message.key for message in out) == sorted(key for key, _ in stories)
    assert all(message.key.decode() == record["story_id"] for message, record in zip(out, records))
    assert all(message.headers == {"schema_version": SCHEMA_VERSION.encode()} for message in out)
    assert all(record["processing"]["input"]["topic"] == raw for record in records)

    letters = {m.key: DEAD_LETTER.decode(m.value) for m in read_all(kafka_bootstrap, dead, expect=3)}
    assert sorted(letters) == sorted(malformed)
    for key, letter in letters.items():
        value, stage = malformed[key]
        assert letter["stage"] == stage
        assert base64.b64decode(letter["value_base64"]) == value
        assert letter["source"]["topic"] == raw and base64.b64decode(letter["source"]["key_base64"]) == key
        assert letter["reason"]
    assert "revision" in letters[f"{100:032x}".encode()]["reason"]

    assert not list(files.glob(".*")), "in-progress files left after a bounded run"
    lines = [orjson.loads(line) for path in files.glob("*.jsonl") for line in path.read_bytes().splitlines()]
    assert sorted(line["story_id"] for line in lines) == sorted(key.decode() for key, _ in stories)

    # Offsets were committed: a second run starts after them and writes nothing new.
    assert _enrich(pipeline_runner, kafka_bootstrap, raw, enriched, dead, "--bounded") == 0
    assert len(read_all(kafka_bootstrap, enriched)) == n


def test_a_new_revision_passes_dedup(kafka_bootstrap, topic_factory, pipeline_runner):
    raw, enriched, dead = topic_factory("raw"), topic_factory("enriched"), topic_factory("dead")
    key = f"{7:032x}".encode()
    publish(kafka_bootstrap, raw, [(key, raw_value(7, 1)), (key, raw_value(7, 2)), (key, raw_value(7, 1))])
    assert _enrich(pipeline_runner, kafka_bootstrap, raw, enriched, dead, "--bounded") == 0
    out = read_all(kafka_bootstrap, enriched, expect=2)
    assert [ENRICHED_STORY.decode(m.value)["revision"] for m in out] == [1, 2]


def test_a_missing_topic_is_reported_naming_the_option(kafka_bootstrap, topic_factory, capsys):
    raw, dead = topic_factory("raw"), topic_factory("dead")
    assert _enrich(FNAPI, kafka_bootstrap, raw, "no.such.topic.enriched", dead, "--bounded") == 2
    error = capsys.readouterr().err
    assert "--output-topic" in error and "no.such.topic.enriched" in error


def test_the_in_process_worker_gets_the_state_cache_size_of_the_option():
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    from pipeline.enrich.launch import size_in_process_state_cache

    before = worker_handlers.STATE_CACHE_SIZE_MB
    try:
        assert size_in_process_state_cache(PipelineOptions([])) == 0  # our default: no cache
        assert worker_handlers.STATE_CACHE_SIZE_MB == 0
        assert size_in_process_state_cache(PipelineOptions(["--max_cache_memory_usage_mb", "50"])) == 50
        assert worker_handlers.STATE_CACHE_SIZE_MB == 50
    finally:
        worker_handlers.STATE_CACHE_SIZE_MB = before


def test_settle_heap_loads_the_data_and_sets_what_lives_aside():
    import gc

    from pipeline.enrich.launch import GC_THRESHOLDS, settle_heap
    from transforms.gazetteer import default_gazetteer

    thresholds = gc.get_threshold()
    try:
        settle_heap()
        assert default_gazetteer.cache_info().currsize == 1  # loaded before the first story
        assert gc.get_freeze_count() > 100_000  # Beam, our modules, the data
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_step_seconds_are_reported_by_top_level_step():
    import time

    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.enrich.launch import step_seconds

    pipeline = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    _ = (pipeline | "Numbers" >> beam.Create(range(3))
         | "Sleepy" >> beam.Map(lambda n: time.sleep(0.3) or n))
    result = pipeline.run()
    result.wait_until_finish()
    seconds = step_seconds(result)
    assert {"Numbers", "Sleepy"} <= set(seconds)
    assert seconds["Sleepy"] >= 0.4  # sampled: most of the 0.9 s spent sleeping
    assert step_seconds(object()) == {}  # a runner that reports nothing here


def test_nothing_downstream_of_the_source_waits_for_it_to_finish():
    """The FnApiRunner runs a GroupByKey or a Flatten as a stage after its inputs finish:
    behind an unbounded source, never. Only the source's own planning (before its Splittable
    DoFn) may use them."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.pipeline import PipelineVisitor

    from pipeline.enrich.assembly import build

    class Blocking(PipelineVisitor):
        def __init__(self) -> None:
            self.found: list[str] = []

        def visit_transform(self, applied):
            if isinstance(applied.transform, (beam.GroupByKey, beam.Flatten)):
                self.found.append(applied.full_label)

    options = PipelineOptions(["--output-path", "/tmp/unused", "--runner", "FnApiRunner"])
    pipeline = beam.Pipeline(options=options)
    build(pipeline, options)
    visitor = Blocking()
    pipeline.visit(visitor)
    assert [label for label in visitor.found if not label.startswith("ReadRawStories/SpreadPartitions")] == []


@pytest.mark.parametrize(("args", "expected_ms"), [([], 1_000), (["--bounded"], 5_000)])
def test_a_backfill_reads_in_longer_bundles_than_a_continuous_run(args, expected_ms):
    """Each bundle ends with a flush, an fsync, an offset commit and (FnApiRunner) a wait for
    the state sampler; a backfill is all backlog, so it amortises them over 5 s bundles."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.pipeline import PipelineVisitor

    from pipeline.enrich.assembly import build
    from pipeline.kafkaio import ReadFromKafka

    class Reads(PipelineVisitor):
        def __init__(self) -> None:
            self.bundle_ms: list[int] = []

        def enter_composite_transform(self, node):
            if isinstance(node.transform, ReadFromKafka):
                self.bundle_ms.append(node.transform.max_bundle_ms)

    options = PipelineOptions(["--runner", "FnApiRunner", *args])
    pipeline = beam.Pipeline(options=options)
    build(pipeline, options)
    reads = Reads()
    pipeline.visit(reads)
    assert reads.bundle_ms == [expected_ms]


def test_a_misspelt_option_is_refused_before_anything_runs(
    kafka_bootstrap, topic_factory, tmp_path, capsys
):
    raw, enriched, dead = topic_factory("raw"), topic_factory("enriched"), topic_factory("dead")
    publish(kafka_bootstrap, raw, [(f"{i:032x}".encode(), raw_value(i)) for i in range(3)])
    common = ["enrich", "--bootstrap-servers", kafka_bootstrap, "--input-topic", raw,
              "--output-topic", enriched, "--dead-letter-topic", dead, "--consumer-group",
              f"group-{raw}", "--runner", "FnApiRunner", "--bounded"]

    assert cli.main([*common, "--output-pth", str(tmp_path), "--flink_mastr", "h:1"]) == 2
    err = capsys.readouterr().err
    assert "newswire enrich: error: unknown option --output-pth (did you mean --output-path?)" in err
    assert "unknown option --flink_mastr (did you mean --flink_master?)" in err
    # Nothing ran, nothing was committed: the corrected command reads all three stories.
    assert cli.main([*common, "--output-path", str(tmp_path)]) == 0
    assert sum(len(p.read_bytes().splitlines()) for p in tmp_path.glob("*.jsonl")) == 3


def test_a_bounded_run_ends_saying_what_it_did(kafka_bootstrap, topic_factory, capsys):
    raw, enriched, dead = topic_factory("raw"), topic_factory("enriched"), topic_factory("dead")
    stories = [(f"{i:032x}".encode(), raw_value(i)) for i in range(4)]
    publish(kafka_bootstrap, raw, [
        *stories, (b"bad-json", b'{"story_id": '), (f"{100:032x}".encode(), raw_value(100, revision=0)),
        *stories[:2],  # delivered again: dedup drops them
    ])

    assert cli.main(["enrich", "--bootstrap-servers", kafka_bootstrap, "--input-topic", raw,
                     "--output-topic", enriched, "--dead-letter-topic", dead, "--consumer-group",
                     f"group-{raw}", "--runner", "FnApiRunner", "--bounded"]) == 0

    out = capsys.readouterr().out
    assert re.search(r"^newswire enrich: read 8, enriched 4, dead-lettered 2 \(decode 1, "
                     r"validate 1\), duplicates dropped 2 in \d+\.\d s$", out, re.MULTILINE), out


def test_a_bounded_run_on_the_default_runner_says_no_more_than_it_needs(
    kafka_bootstrap, topic_factory
):
    raw, enriched, dead = topic_factory("raw"), topic_factory("enriched"), topic_factory("dead")
    publish(kafka_bootstrap, raw, [(f"{i:032x}".encode(), raw_value(i)) for i in range(2)])

    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "enrich", "--bootstrap-servers", kafka_bootstrap,
         "--input-topic", raw, "--output-topic", enriched, "--dead-letter-topic", dead,
         "--consumer-group", f"group-{raw}", "--bounded"],
        check=False, capture_output=True, text=True, timeout=300,
    )

    assert done.returncode == 0, done.stderr
    assert "read 2, enriched 2" in done.stdout
    # Beam's notices about its optional GCP libraries, the runner it picked by default, the
    # Prism download it tries (there is no internet here) and the fall-back are noise
    for noise in ("apitools", "Missing pipeline option", "prism", "Falling back",
                  "Converting string literal type hint"):
        assert noise.lower() not in done.stderr.lower(), done.stderr
