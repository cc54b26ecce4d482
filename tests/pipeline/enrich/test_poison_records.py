"""Poison records in the raw topic (issue 12), against the real broker and the real pipeline
(`python -m pipeline.enrich --bounded`, FnApiRunner, in a process of its own so its peak
memory is its own): a 10 MB binary value, a valid story of 3 MB, a story nesting 900 arrays
in an extra field, revisions 2^63 and 2^70. Each record ends in exactly one place: enriched
in every sink, or a dead letter with its reason (a payload too large for the dead-letter
topic truncated, with the truncation recorded). Counted with confluent-kafka.

Memory: the poison records may cost the process at most POISON_EXTRA_MB over a run of the
good stories alone. Peaks are the process's own VmHWM (tests/peak.py): the figures that
moved with the test session (330-374 MB after other pipeline tests) were wait4's, which
kept the test process's own peak."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import uuid
from pathlib import Path

import orjson
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from schemas import DEAD_LETTER, ENRICHED_STORY, RAW_STORY
from tests import peak
from tests.pipeline.enrich.support import publish, read_all
from tests.stories import raw_story, raw_value

REPO = Path(__file__).resolve().parents[3]
BIG = 16 * 1024 * 1024
POISON_EXTRA_MB = 100


def _big_topic(bootstrap: str, name: str) -> str:
    """A topic that takes 16 MB records (Apache Kafka's default limit is 1 MB)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, 1, 1, topic_configs={"max.message.bytes": str(BIG)})])
    finally:
        admin.close()
    return name




def _run_enrich(args: list[str], log_path: Path) -> tuple[int, float]:
    """Exit status and peak RSS in MB of one `enrich` process."""
    with log_path.open("wb") as log:
        status = subprocess.run(peak.measured("pipeline.enrich", *args), cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT, check=False).returncode
    return status, peak.peak_mb(log_path.read_text("utf-8", "replace"))


def _with_nested_extra(value: bytes, depth: int) -> bytes:
    """The story with an extra field of ``depth`` nested arrays (orjson writes at most 255)."""
    return value[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"


def test_poison_records_end_dead_lettered_with_their_reason_and_the_rest_enriched_everywhere(
    kafka_bootstrap, topic_factory, tmp_path
):
    raw = _big_topic(kafka_bootstrap, f"raw-big.{uuid.uuid4().hex}")
    enriched, dead = topic_factory("enriched"), topic_factory("dead")
    binary = bytes(range(256)) * (10 * 1024 * 1024 // 256)  # 10 MB, not JSON
    huge_story = raw_value(201, html="<p>" + "Lorem ipsum dolor sit amet. " * 110_000 + "</p>")
    assert 3_000_000 < len(huge_story) < 3_200_000
    poison = {
        b"binary-10mb": (binary, "decode", "over the limit of 700,000"),
        f"{201:032x}".encode(): (huge_story, "decode", "over the limit of 700,000"),
        f"{202:032x}".encode(): (_with_nested_extra(raw_value(202), 900), "decode", "nest more than"),
        f"{203:032x}".encode(): (orjson.dumps(raw_story(203, revision=2**63)), "validate", "revision"),
        f"{204:032x}".encode(): (
            orjson.dumps(raw_story(204)).replace(b'"revision":1', b'"revision":1180591620717411303424'),
            "validate", "revision",
        ),
    }
    good = [(f"{i:032x}".encode(), raw_value(i)) for i in range(5)]
    records = good[:2] + [(key, value) for key, (value, _, _) in poison.items()] + good[2:]
    publish(kafka_bootstrap, raw, records, max_request_size=BIG)
    files = tmp_path / "out"

    def args(source: str, sink: str, letters: str, *more: str) -> list[str]:
        return ["--bootstrap-servers", kafka_bootstrap, "--input-topic", source, "--output-topic",
                sink, "--dead-letter-topic", letters, "--consumer-group", f"group-{source}",
                "--runner", "FnApiRunner", "--bounded", *more]

    plain = _big_topic(kafka_bootstrap, f"raw-plain.{uuid.uuid4().hex}")
    publish(kafka_bootstrap, plain, good, max_request_size=BIG)
    status, baseline_mb = _run_enrich(
        args(plain, topic_factory("enriched"), topic_factory("dead")), tmp_path / "baseline.log")
    assert status == 0, (tmp_path / "baseline.log").read_text("utf-8", "replace")[-3000:]

    status, peak_mb = _run_enrich(args(raw, enriched, dead, "--output-path", str(files)),
                                  tmp_path / "enrich-1.log")
    log = (tmp_path / "enrich-1.log").read_text("utf-8", "replace")
    assert status == 0, log[-3000:]
    print(f"peak RSS of enrich: {peak_mb:.0f} MB with the poison records, {baseline_mb:.0f} MB without")
    assert peak_mb - baseline_mb < POISON_EXTRA_MB

    out = read_all(kafka_bootstrap, enriched, expect=len(good))
    assert sorted(m.key for m in out) == sorted(key for key, _ in good)
    for message in out:
        ENRICHED_STORY.decode(message.value)
    lines = [orjson.loads(line) for path in files.glob("*.jsonl") for line in path.read_bytes().splitlines()]
    assert sorted(line["story_id"].encode() for line in lines) == sorted(m.key for m in out)

    letters = {m.key: DEAD_LETTER.decode(m.value) for m in read_all(kafka_bootstrap, dead, expect=len(poison))}
    assert sorted(letters) == sorted(poison)
    for key, (value, stage, reason) in poison.items():
        letter = letters[key]
        assert letter["stage"] == stage and reason in letter["reason"], letter["reason"]
        assert letter["value_bytes"] == len(value)
        assert letter["value_sha256"] == hashlib.sha256(value).hexdigest()
        kept = base64.b64decode(letter["value_base64"])
        if len(value) > RAW_STORY.limits.max_record_bytes:
            assert letter["value_truncated"] is True and value.startswith(kept) and len(kept) < len(value)
        else:
            assert letter.get("value_truncated", False) is False and kept == value

    # The run committed past every record: a second run finds nothing to do and does not crash.
    status, _ = _run_enrich(args(raw, enriched, dead), tmp_path / "enrich-2.log")
    assert status == 0, (tmp_path / "enrich-2.log").read_text("utf-8", "replace")[-3000:]
    assert len(read_all(kafka_bootstrap, enriched)) == len(good)
    assert len(read_all(kafka_bootstrap, dead)) == len(poison)
