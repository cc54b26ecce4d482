"""`newswire enrich` options: Beam's pass through, ours are validated with messages that
name the option and what it accepts."""

from __future__ import annotations

import argparse
import re

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.commands import enrich as enrich_command
from pipeline.enrich.options import NewswireOptions, checked


def _config(*argv: str):
    return checked(PipelineOptions(list(argv)))


def test_defaults():
    config = _config()
    assert (config.bootstrap_servers, config.input_topic, config.output_topic, config.dead_letter_topic) == (
        "127.0.0.1:9092", "news.raw", "news.enriched", "news.deadletter")
    assert (config.consumer_group, config.start_from, config.bounded) == (
        "newswire-enrich", "committed", False)
    assert config.output_path is None and config.dedup_ttl_seconds == 0 and config.metrics_port is None
    assert config.offset_reset == "earliest"
    assert _config("--offset-reset", "none").offset_reset == "none"


def test_ours_and_beams_options_parse_together():
    options = PipelineOptions([
        "--bootstrap-servers", "k1:9092,k2:9092", "--input-topic", "in", "--bounded",
        "--start-from", "2023-10-17T08:00:00Z", "--output-path", "/tmp/x", "--output-roll-mb", "0.5",
        "--runner", "FlinkRunner", "--streaming", "--dedup-ttl-hours", "2",
    ])
    config = checked(options)
    assert config.bootstrap_servers == "k1:9092,k2:9092" and config.input_topic == "in"
    assert config.bounded and config.start_from == "2023-10-17T08:00:00Z"
    assert config.output_roll_bytes == 512 * 1024 and config.dedup_ttl_seconds == 7200
    standard = options.view_as(StandardOptions)
    assert standard.runner == "FlinkRunner" and standard.streaming


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--bootstrap-servers", "localhost"], "--bootstrap-servers: 'localhost' is not HOST:PORT"),
        (["--input-topic", "news raw"], "--input-topic: 'news raw' is not a valid Kafka topic name"),
        (["--output-topic", "news.raw"], "must be three different topics"),
        (["--start-from", "yesterday"], "--start-from: 'yesterday' is not one of earliest, latest, committed"),
        (["--consumer-group", " "], "--consumer-group: empty"),
        (["--output-roll-mb", "0"], "--output-roll-mb: 0.0; must be > 0"),
        (["--output-roll-seconds", "-1"], "--output-roll-seconds: -1.0; must be > 0"),
        (["--metrics-port", "70000"], "--metrics-port: 70000 is not a TCP port"),
        (["--dedup-ttl-hours", "-1"], "--dedup-ttl-hours: -1.0; must be >= 0"),
        (["--offset-reset", "smallest"], "--offset-reset: 'smallest'; choose one of earliest, latest, none"),
        (["--dedup-ttl-hours", "24"], "--dedup-ttl-hours: the DirectRunner fires event-time timers"),
        (["--dedup-ttl-hours", "24", "--runner", "FnApiRunner"], "the FnApiRunner fires"),
        (["--stats-topic", "news stats", "--runner", "PrismRunner"], "--stats-topic: 'news stats' is not"),
        (["--stats-topic", "news.enriched", "--runner", "PrismRunner"], "--stats-topic: 'news.enriched' is also"),
        (["--stats-topic", "news.stats", "--runner", "FnApiRunner"],
         "--stats-topic: the FnApiRunner never fires windows behind an unbounded source"),
        (["--stats-topic", "news.stats"],
         "--stats-topic: the DirectRunner falls back to the FnApiRunner where Prism cannot be had"),
        (["--stats-lateness-minutes", "-1"], "--stats-lateness-minutes: -1.0; must be >= 0"),
    ],
)
def test_invalid_options_are_refused_naming_the_option(argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _config(*argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--runner", "PrismRunner"],
        ["--runner", "FlinkRunner"],
        ["--runner", "FnApiRunner", "--bounded"],  # a bounded run fires every window at its end
        ["--bounded"],
    ],
)
def test_windowed_counts_where_windows_fire(argv):
    config = _config("--stats-topic", "news.stats", "--stats-lateness-minutes", "2.5", *argv)
    assert (config.stats_topic, config.stats_lateness_seconds) == ("news.stats", 150)


def test_windowed_counts_are_off_by_default():
    assert _config().stats_topic is None


def test_the_command_documents_our_options_and_hands_beams_through():
    parser = argparse.ArgumentParser(prog="newswire enrich")
    enrich_command.configure(parser)
    text = parser.format_help()
    for option in ("--bootstrap-servers", "--input-topic", "--output-topic", "--dead-letter-topic",
                   "--output-path", "--consumer-group", "--start-from", "--bounded"):
        assert option in text
    assert "--runner" in text  # the epilog says Beam's options pass through
    args, extra = parser.parse_known_args(["--input-topic", "in", "--runner", "FnApiRunner", "--streaming"])
    assert args.input_topic == "in" and args.accepts_extra
    assert extra == ["--runner", "FnApiRunner", "--streaming"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--bounded=yes"])


def test_options_are_a_pipeline_options_view():
    options = PipelineOptions(["--input-topic", "in"]).view_as(NewswireOptions)
    assert options.input_topic == "in"
