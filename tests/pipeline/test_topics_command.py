"""`newswire topics create|check` and `newswire broker` option errors."""

from __future__ import annotations

import socket

import pytest

from pipeline.cli import main
from pipeline.topics import newswire_topics
from tests.conftest import broker_engine


def _names(request) -> list[str]:
    tag = "".join(ch if ch.isalnum() else "-" for ch in request.node.name)[-40:]
    return [f"raw.{tag}", f"enriched.{tag}", f"dead.{tag}"]


def _argv(action: str, bootstrap: str, names: list[str], *extra: str) -> list[str]:
    return ["topics", action, "--bootstrap-servers", bootstrap, "--raw-topic", names[0],
            "--enriched-topic", names[1], "--dead-letter-topic", names[2], *extra]


def test_create_then_check(kafka_bootstrap, request, capsys):
    names = _names(request)
    assert main(_argv("check", kafka_bootstrap, names)) == 1
    assert capsys.readouterr().out.count("missing; create it") == 3

    assert main(_argv("create", kafka_bootstrap, names, "--partitions", "2")) == 0
    out = capsys.readouterr().out
    assert f"{names[1]}: created; enriched stories: 2 partition(s), replication 1, " \
           "cleanup.policy=compact" in out
    assert "retention.ms=604800000" in out and "retention.ms=2592000000" in out
    assert main(_argv("create", kafka_bootstrap, names)) == 0
    assert capsys.readouterr().out.count("exists (left alone)") == 3

    status = main(_argv("check", kafka_bootstrap, names, "--partitions", "2"))
    problems = capsys.readouterr().out.splitlines()
    if broker_engine() == "kafka":
        assert (status, problems) == (0, [f"{', '.join(names)}: as wanted"])
    else:  # Tansu reports no topic configs (PLATFORM.md): check says so rather than guess
        assert status == 1 and problems and all("(broker default)" in p for p in problems)

    assert main(_argv("check", kafka_bootstrap, names, "--partitions", "4",
                      "--replication-factor", "3")) == 1
    out = capsys.readouterr().out
    assert f"{names[0]} (raw stories): 2 partition(s), 4 wanted" in out
    assert f"{names[2]} (dead letters): replication factor 1, 3 wanted" in out


def test_production_settings():
    raw, enriched, dead = newswire_topics(replication_factor=3)
    assert enriched.configs == {"cleanup.policy": "compact", "min.insync.replicas": "2"}
    assert raw.configs["retention.ms"] == str(7 * 86_400_000)
    assert dead.configs["cleanup.policy"] == "delete"


@pytest.mark.parametrize(("argv", "message"), [
    (["topics", "create", "--partitions", "0"], "--partitions: 0 must be >= 1"),
    (["topics", "check", "--raw-topic", "bad topic"], "not a valid Kafka topic name"),
    (["topics", "check", "--raw-retention-hours", "0"], "--raw-retention-hours"),
    (["broker", "--engine", "kafka", "--validate-schemas"], "only --engine tansu"),
    (["broker", "--port", "99999"], "is not a TCP port"),
    (["broker", "--partitions", "0"], ">= 1"),
    (["broker", "--topics", "news.raw,bad topic"], "not a valid Kafka topic name"),
])
def test_bad_options_are_one_line_and_exit_2(argv, message, capsys):
    try:
        status, by_argparse = main(argv), False
    except SystemExit as exc:  # refused by argparse: its usage, then the error line
        status, by_argparse = exc.code, True
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "".join(err)
    assert by_argparse or len(err) == 1


def test_broker_on_a_port_in_use(capsys):
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["broker", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"port {port} on 127.0.0.1 is already in use" in err[0]
