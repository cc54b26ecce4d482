"""`newswire tail` against the session's real broker, each test on its own topic."""

from __future__ import annotations

import argparse
import base64
import copy
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient

from pipeline.commands import tail
from pipeline.kafka_clients import make_producer
from schemas import DEAD_LETTER, ENRICHED_STORY, STATS
from schemas.timefmt import to_rfc3339

EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
SEED = json.loads((EXAMPLES / "seed-enriched.json").read_text("utf-8"))
SEED_LINE = "JAKARTA (ID) / SEOUL (KR)  credit: Reuters  cited: TASS, KCNA  photo: AFP"
T0_MS = 1_697_533_200_000  # 2023-10-17T09:00:00Z


def story(n: int, *, credit=("Reuters",), cited=(), place=("SEOUL", "KR")) -> dict:
    """A valid enriched story numbered n (its title says which)."""
    record = copy.deepcopy(SEED)
    record["story_id"] = f"{n:032x}"
    record["title"] = f"story {n}"
    record["dateline"]["locations"] = [dict(SEED["dateline"]["locations"][1],
                                            name=place[0], country=place[1])]
    record["attribution"].update(credit=list(credit), cited=list(cited), photo=[], findings=[])
    ENRICHED_STORY.validate(record)
    return record


def produce(
    bootstrap: str, topic: str, values: list[bytes | None], start_ms: int | None = T0_MS
) -> None:
    """Send the values in order, 1 s of record time apart from start_ms (None: now).

    One record per request: the embedded broker (Tansu) reports a partition's end offset
    as the last *batch's* base offset + 1, so batched records would make "latest" and
    offsets past the end look wrong (a broker fault; Apache Kafka counts records)."""
    producer = make_producer(bootstrap)
    for i, value in enumerate(values):
        stamp = None if start_ms is None else start_ms + i * 1000
        producer.send(topic, key=str(i).encode(), value=value, timestamp_ms=stamp)
        producer.flush(10)
    producer.close()


def run_tail(capsys, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="newswire tail")
    tail.configure(parser)
    status = tail.main(parser.parse_args(list(argv)))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_prints_stories_compactly_and_reports_invalid_records_with_their_offset(
    kafka_bootstrap, topic_factory, capsys
):
    topic = topic_factory("enriched")
    broken = dict(SEED, revision=0)
    produce(kafka_bootstrap, topic,
            [orjson.dumps(SEED), b"<html>not json", orjson.dumps(broken), None, orjson.dumps(story(7))])

    status, out, err = run_tail(capsys, "--bootstrap-servers", kafka_bootstrap, "--topic", topic,
                                "--timeout", "1")

    assert status == 0
    assert out.splitlines() == [
        "US envoy calls alleged North Korea, Russia weapons delivery dangerous  [straitstimes.com]",
        f"    {SEED_LINE}",
        "story 7  [straitstimes.com]",
        "    SEOUL (KR)  credit: Reuters  cited: -  photo: -",
    ]
    assert f"skipped {topic}[0]@1: not a valid enriched story ($: not valid JSON" in err
    assert f"skipped {topic}[0]@2: not a valid enriched story (revision: " in err
    assert f"skipped {topic}[0]@3: not a valid enriched story ($: no value (a tombstone))" in err
    assert "2 printed, 0 filtered out, 3 invalid (skipped)" in err


def test_json_lines_are_the_records_themselves(kafka_bootstrap, topic_factory, capsys):
    topic = topic_factory("enriched")
    records = [story(n) for n in range(5)]
    produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in records])

    status, out, _ = run_tail(capsys, "--bootstrap-servers", kafka_bootstrap, "--topic", topic,
                              "--json", "--timeout", "1")

    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == records


def test_filters_by_credit_cited_and_country_given_by_any_spelling(
    kafka_bootstrap, topic_factory, capsys
):
    topic = topic_factory("enriched")
    produce(kafka_bootstrap, topic, [orjson.dumps(r) for r in (
        story(1, credit=["Reuters"], cited=["TASS"], place=("MOSCOW", "RU")),
        story(2, credit=["AP"], cited=["KCNA"], place=("SEOUL", "KR")),
        story(3, credit=["Reuters"], cited=["KCNA"], place=("JAKARTA", "ID")),
        story(4, credit=["AFP"], place=("PARIS", "FR")),
    )])
    common = ["--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--json", "--timeout", "1"]

    def titles(*filters: str) -> list[str]:
        status, out, err = run_tail(capsys, *common, *filters)
        assert status == 0, err
        shown = [json.loads(line)["title"] for line in out.splitlines()]
        assert f"{len(shown)} printed, {4 - len(shown)} filtered out" in err  # all 4 were read
        return shown

    assert titles("--credit", "Thomson Reuters") == ["story 1", "story 3"]
    assert titles("--credit", "associated press", "--credit", "AFP") == ["story 2", "story 4"]
    assert titles("--cited", "Korean Central News Agency") == ["story 2", "story 3"]
    assert titles("--country", "kr", "--country", "ID") == ["story 2", "story 3"]
    assert titles("--credit", "Reuters", "--cited", "KCNA", "--country", "ID") == ["story 3"]


def test_stats_prints_windowed_counts_filters_them_and_skips_stories(
    kafka_bootstrap, topic_factory, capsys
):
    topic = topic_factory("stats")
    count = json.loads((EXAMPLES / "stats.json").read_text("utf-8"))
    later = dict(count, count=2, pane={"index": 1, "timing": "late"})
    reuters = dict(count, dimension="credit", value="Reuters")
    produce(kafka_bootstrap, topic, [STATS.encode(r) for r in (count, later, reuters)]
            + [orjson.dumps(SEED)])
    common = ["--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--stats", "--timeout", "1"]

    status, out, err = run_tail(capsys, *common)
    assert status == 0
    window = "2023-10-17T09:05:00Z .. 2023-10-17T09:06:00Z"
    assert out.splitlines() == [
        f"{window}  country KR                1  (on_time, pane 0)",
        f"{window}  country KR                2  (late, pane 1)",
        f"{window}  credit  Reuters           1  (on_time, pane 0)",
    ]
    assert f"skipped {topic}[0]@3: not a valid windowed count (window_start: is required" in err

    status, out, err = run_tail(capsys, *common, "--credit", "Thomson Reuters", "--json")
    assert status == 0 and [json.loads(line) for line in out.splitlines()] == [reuters]
    assert "1 printed, 2 filtered out, 1 invalid (skipped)" in err


def test_start_positions_time_offset_and_latest(kafka_bootstrap, topic_factory, capsys):
    topic = topic_factory("enriched")
    produce(kafka_bootstrap, topic, [orjson.dumps(story(n)) for n in range(3)], start_ms=None)
    time.sleep(0.3)
    between = datetime.now(timezone.utc)
    time.sleep(0.3)
    produce(kafka_bootstrap, topic, [orjson.dumps(story(n)) for n in range(3, 6)], start_ms=None)
    common = ["--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--json", "--timeout", "1"]

    def titles(start: str) -> list[str]:
        status, out, err = run_tail(capsys, *common, "--from", start)
        assert status == 0, err
        return [json.loads(line)["title"] for line in out.splitlines()]

    assert titles(to_rfc3339(between)) == ["story 3", "story 4", "story 5"]
    assert titles(to_rfc3339(between + timedelta(hours=1))) == []  # no record after it
    assert titles("4") == ["story 4", "story 5"]
    assert titles("999") == []  # past the end: nothing, not a reset to the beginning
    assert titles("latest") == []
    assert titles("earliest") == [f"story {n}" for n in range(6)]


def test_latest_and_a_future_time_print_nothing_old_though_records_came_in_one_batch(
    kafka_bootstrap, topic_factory, capsys
):
    # One batch of 5: the embedded broker reports the end offset as 1 (the batch's base
    # offset + 1) and answers a future time with offset 0; tail must not print old records.
    topic = topic_factory("enriched")
    producer = make_producer(kafka_bootstrap)
    for n in range(5):
        producer.send(topic, key=str(n).encode(), value=orjson.dumps(story(n)))
    producer.flush(10)
    producer.close()
    common = ["--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--json", "--timeout", "1"]
    future = to_rfc3339(datetime.now(timezone.utc) + timedelta(hours=1))

    for start in ("latest", future):
        status, out, err = run_tail(capsys, *common, "--from", start)
        assert (status, out) == (0, ""), (start, err)
    status, out, _ = run_tail(capsys, *common, "--from", "3")
    assert [json.loads(line)["title"] for line in out.splitlines()] == ["story 3", "story 4"]
    status, out, _ = run_tail(capsys, *common, "--from", "latest", "--group", f"{topic}-g")
    assert (status, out) == (0, "")


def test_group_commits_exactly_what_was_printed_and_resumes_there(
    kafka_bootstrap, topic_factory, capsys
):
    topic = topic_factory("enriched")
    produce(kafka_bootstrap, topic, [orjson.dumps(story(n)) for n in range(5)])
    common = ["--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--json",
              "--group", f"{topic}-tail"]

    _, first, _ = run_tail(capsys, *common, "--max", "2")
    _, rest, _ = run_tail(capsys, *common, "--timeout", "1")

    assert [json.loads(line)["title"] for line in first.splitlines()] == ["story 0", "story 1"]
    assert [json.loads(line)["title"] for line in rest.splitlines()] == [
        "story 2", "story 3", "story 4"]


def test_missing_topic_is_an_error_and_is_not_created(kafka_bootstrap, capsys):
    missing = "news.enriched.no-such-topic-for-tail"
    status, out, err = run_tail(capsys, "--bootstrap-servers", kafka_bootstrap, "--topic", missing,
                                "--timeout", "1")
    assert status == 2 and out == ""
    assert f"--topic: {missing!r} does not exist on {kafka_bootstrap}" in err
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert missing not in admin.list_topics()
    finally:
        admin.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--country", "KOR"], "'KOR' is not an ISO 3166-1 alpha-2 country code"),
        (["--credit", "Reutres"], "'Reutres' is not an agency newswire knows"),
        (["--from", "yesterday"], "'yesterday' is not earliest, latest, an RFC 3339 time"),
        (["--max", "0"], "'0' must be a whole number >= 1"),
        (["--timeout", "-1"], "'-1' must be a number of seconds > 0"),
    ],
)
def test_bad_options_are_refused_with_the_accepted_values(argv, message, capsys):
    parser = argparse.ArgumentParser(prog="newswire tail")
    tail.configure(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    assert message in capsys.readouterr().err


def test_bad_bootstrap_servers_are_refused_before_connecting(capsys):
    status, _, err = run_tail(capsys, "--bootstrap-servers", "localhost", "--timeout", "1")
    assert status == 2
    assert "'localhost' is not HOST:PORT" in err


DEAD_EXAMPLE = json.loads((EXAMPLES / "dead-letter.json").read_text("utf-8"))


def dead_letter(stage: str, offset: int, value: bytes) -> dict:
    record = dict(DEAD_EXAMPLE, stage=stage, reason=f"{stage}: it failed",
                  source=dict(DEAD_EXAMPLE["source"], offset=offset),
                  value_base64=base64.b64encode(value).decode())
    DEAD_LETTER.validate(record)
    return record


def test_dead_letters_are_shown_with_stage_reason_origin_time_and_payload(
    kafka_bootstrap, topic_factory, capsys
):
    topic = topic_factory("deadletter")
    letters = [dead_letter("decode", 3, b"<html>not json"),
               dead_letter("clean", 4, orjson.dumps(story(4))),
               dead_letter("decode", 5, b"\xff\x00")]
    produce(kafka_bootstrap, topic, [*(orjson.dumps(d) for d in letters), orjson.dumps(story(9))])
    common = ["--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--dead-letters",
              "--timeout", "1"]

    status, out, err = run_tail(capsys, *common)

    assert status == 0, err
    assert out.splitlines()[:3] == [
        f"DEAD LETTER  stage decode  news.raw[0]@3  {DEAD_EXAMPLE['story_id']}",
        "    decode: it failed",
        "    failed 2023-10-17T09:05:13Z  RecordError  payload 14 bytes: <html>not json",
    ]
    assert "DEAD LETTER  stage clean  news.raw[0]@4  story 4" in out
    assert "payload 2 bytes: \\xff\\x00" in out
    assert f"skipped {topic}[0]@3: not a valid dead letter" in err
    assert "3 printed, 0 filtered out, 1 invalid (skipped)" in err

    status, out, err = run_tail(capsys, *common, "--stage", "clean", "--json")
    assert [json.loads(line) for line in out.splitlines()] == [letters[1]]
    assert "1 printed, 2 filtered out" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["--stage", "clean"], "--stage: only with --dead-letters"),
    (["--dead-letters", "--credit", "AP"], "--credit, --cited and --country filter stories"),
])
def test_filters_that_do_not_fit_the_records_are_refused(argv, message, capsys):
    status, out, err = run_tail(capsys, "--bootstrap-servers", "127.0.0.1:1", *argv)
    assert status == 2 and out == ""
    assert message in err


HOSTILE_TITLE = "\x1b]0;pwned\x07Markets\x1b[2J rally\x9b31m \u202egnp.exe\r\x08"


def _unsafe(text: str) -> list[str]:
    """Characters a terminal would act on: controls other than newline, bidi overrides."""
    return [ch for ch in text if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) < 0xA0
            or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"]


def test_control_characters_from_a_record_never_reach_the_terminal(
    kafka_bootstrap, topic_factory, capsys
):
    topic = topic_factory("enriched")
    hostile = story(1)
    hostile["title"] = HOSTILE_TITLE
    hostile["dateline"]["locations"][0]["name"] = "SE\x07OUL"
    broken = dict(story(2), revision="\x1b[2J\x07")
    produce(kafka_bootstrap, topic, [orjson.dumps(hostile), orjson.dumps(broken)])
    common = ("--bootstrap-servers", kafka_bootstrap, "--topic", topic, "--timeout", "1")

    status, out, err = run_tail(capsys, *common)
    assert status == 0
    assert _unsafe(out) == [] and _unsafe(err) == []
    assert out.splitlines()[0] == "]0;pwnedMarkets[2J rally31m gnp.exe  [straitstimes.com]"
    assert "SEOUL (KR)" in out and f"skipped {topic}[0]@1" in err

    status, out, _ = run_tail(capsys, *common, "--json")
    assert status == 0 and _unsafe(out) == []
    assert json.loads(out.splitlines()[0]) == hostile  # the same record, escaped
