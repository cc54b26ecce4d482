"""`newswire replay`: dead letters go back to the input topic with their original key and
bytes, filtered by stage, once (the replay group's offsets are committed)."""

from __future__ import annotations

import argparse

from pipeline.commands import replay
from pipeline.enrich.deadletter import dead_letter, to_kafka
from pipeline.kafkaio import KafkaRecord
from tests.pipeline.enrich.support import publish, read_all


def _letter(stage: str, key: bytes | None, value: bytes, offset: int) -> tuple[bytes | None, bytes]:
    source = KafkaRecord("news.raw", 0, offset, 1_700_000_000_000, key, value, ())
    key, encoded, _ = to_kafka(
        dead_letter(stage=stage, reason="test", error_type="RecordError", value=None, source=source),
        key,
    )
    return key, encoded


def _replay(bootstrap: str, dead: str, raw: str, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    replay.configure(parser)
    args = parser.parse_args([
        "--bootstrap-servers", bootstrap, "--dead-letter-topic", dead, "--input-topic", raw,
        "--consumer-group", f"replay-{dead}", *extra,
    ])
    return replay.main(args)


def test_replay_sends_the_original_records_of_the_chosen_stages_once(
    kafka_bootstrap, topic_factory, capsys
):
    dead, raw = topic_factory("dead"), topic_factory("raw")
    sink_letter = dead_letter(
        stage="sink", reason="too large", error_type="MessageSizeTooLargeError",
        value=b"{enriched}", key=b"k9",
    )
    publish(kafka_bootstrap, dead, [
        _letter("clean", b"k1", b'{"story": 1}', 10),
        _letter("decode", b"k2", b"not json", 11),
        _letter("clean", b"k3", b'{"story": 3}', 12),
        to_kafka(sink_letter, b"k9")[:2],
        (b"x", b"not a dead letter"),
    ])

    assert _replay(kafka_bootstrap, dead, raw, "--stage", "clean", "--dry-run") == 0
    assert capsys.readouterr().out.startswith("would send 2 of 5")
    assert read_all(kafka_bootstrap, raw) == []

    assert _replay(kafka_bootstrap, dead, raw, "--stage", "clean") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"sent 2 of 5 dead letters from {dead} to {raw}")
    assert "1 decode (not selected)" in out and "1 sink (not a raw story)" in out and "1 unreadable" in out
    sent = read_all(kafka_bootstrap, raw, expect=2)
    assert [(m.key, m.value) for m in sent] == [(b"k1", b'{"story": 1}'), (b"k3", b'{"story": 3}')]
    assert sent[0].headers == {replay.REPLAY_HEADER: f"{dead}[0]@0".encode()}

    # Each stage's progress is its own: the clean-only replay consumed nothing of the other
    # stages, so the decode dead letter goes now, and the clean ones do not go again.
    assert _replay(kafka_bootstrap, dead, raw, "--stage", "decode") == 0
    out = capsys.readouterr().out
    assert out.startswith("sent 1 of 5") and "2 clean (not selected)" in out
    assert read_all(kafka_bootstrap, raw, expect=3)[-1][2:4] == (b"k2", b"not json")
    assert _replay(kafka_bootstrap, dead, raw) == 0  # every stage: only what no replay sent
    out = capsys.readouterr().out
    assert out.startswith("sent 0 of 5") and "2 clean (replayed before)" in out
    assert "1 decode (replayed before)" in out
    # Everything is committed now: the next replay reads nothing; --from-beginning rereads.
    assert _replay(kafka_bootstrap, dead, raw) == 0
    assert capsys.readouterr().out.startswith("sent 0 of 0")
    assert _replay(kafka_bootstrap, dead, raw, "--from-beginning", "--stage", "decode") == 0
    assert capsys.readouterr().out.startswith("sent 1 of 5")
    assert read_all(kafka_bootstrap, raw, expect=4)[-1][2:4] == (b"k2", b"not json")


def test_a_dead_letter_with_a_truncated_value_is_not_replayed(kafka_bootstrap, topic_factory, capsys):
    dead, raw = topic_factory("dead"), topic_factory("raw")
    publish(kafka_bootstrap, dead, [_letter("decode", b"big", b"x" * 800_000, 3)])
    assert _replay(kafka_bootstrap, dead, raw) == 0
    assert "1 decode (value truncated)" in capsys.readouterr().out
    assert read_all(kafka_bootstrap, raw) == []


def test_replay_reports_a_missing_topic(kafka_bootstrap, topic_factory, capsys):
    raw = topic_factory("raw")
    assert _replay(kafka_bootstrap, "no.such.deadletters", raw) == 2
    assert "no.such.deadletters" in capsys.readouterr().err
