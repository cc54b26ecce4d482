"""CountStories in event time with TestStream (BundleBasedDirectRunner, streaming; one test
on Prism, with a local binary, tests/prism.py): windows
fire when the watermark passes their end and not before, later stories within the allowed
lateness fire late panes that accumulate (each re-emits every value of the window), later
still they are not counted."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipeline import runners
from schemas import SCHEMA_VERSION, STATS
from tests.prism import prism_location
from tests.transforms.stat_stories import story
from transforms.beam_stats import CountStories

T0 = 1_697_533_320  # 2023-10-17T09:02:00Z, a minute boundary
MINUTE_1 = "2023-10-17T09:02:00Z"
MINUTE_2 = "2023-10-17T09:03:00Z"


def _streaming() -> PipelineOptions:
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    return options


def _summary(element) -> tuple:
    """(key, window_start, dimension, value, count, pane index, pane timing) of an output."""
    key, value, headers = element
    record = STATS.decode(value)
    assert headers == (("schema_version", SCHEMA_VERSION.encode()),)
    assert record["window_end"] > record["window_start"]
    pane = record["pane"]
    return (key.decode(), record["window_start"], record["dimension"], record["value"],
            record["count"], pane["index"], pane["timing"])


def _run(stream: TestStream, lateness: int = 600, options: PipelineOptions | None = None):
    pipeline = TestPipeline(options=options or _streaming())
    out = pipeline | stream | CountStories("9.9.9", allowed_lateness_seconds=lateness)
    return pipeline, out | beam.Map(_summary)


def test_on_time_panes_then_accumulating_late_panes_then_too_late_is_not_counted():
    kr_reuters = story(("KR",), credit=("Reuters",))
    stream = (
        TestStream()
        .advance_watermark_to(T0)
        .add_elements([
            TimestampedValue(kr_reuters, T0 + 1),
            TimestampedValue(story(("KR", "ID"), credit=("Reuters",), cited=("TASS",)), T0 + 30),
            TimestampedValue(kr_reuters, T0 + 61),  # the next minute
        ])
        .advance_watermark_to(T0 + 60)  # minute 1 fires on time; minute 2 is held
        .add_elements([TimestampedValue(kr_reuters, T0 + 59)])  # late for minute 1
        .advance_watermark_to(T0 + 120)  # minute 2 fires on time
        .add_elements([TimestampedValue(story(("KR",)), T0 + 10)])  # late again, minute 1
        .advance_watermark_to(T0 + 60 + 600 + 1)  # minute 1 is past its allowed lateness
        .add_elements([TimestampedValue(kr_reuters, T0 + 20)])  # too late: not counted
        .advance_watermark_to_infinity()
    )
    pipeline, summaries = _run(stream)
    m1 = lambda d, v: f"{MINUTE_1}|{d}|{v}"
    m2 = lambda d, v: f"{MINUTE_2}|{d}|{v}"
    assert_that(summaries, equal_to([
        # minute 1, on time: two stories
        (m1("country", "KR"), MINUTE_1, "country", "KR", 2, 0, "on_time"),
        (m1("country", "ID"), MINUTE_1, "country", "ID", 1, 0, "on_time"),
        (m1("credit", "Reuters"), MINUTE_1, "credit", "Reuters", 2, 0, "on_time"),
        (m1("cited", "TASS"), MINUTE_1, "cited", "TASS", 1, 0, "on_time"),
        # minute 1, first late story: the window's counts so far, pane 1
        (m1("country", "KR"), MINUTE_1, "country", "KR", 3, 1, "late"),
        (m1("country", "ID"), MINUTE_1, "country", "ID", 1, 1, "late"),
        (m1("credit", "Reuters"), MINUTE_1, "credit", "Reuters", 3, 1, "late"),
        (m1("cited", "TASS"), MINUTE_1, "cited", "TASS", 1, 1, "late"),
        # minute 1, second late story (KR only)
        (m1("country", "KR"), MINUTE_1, "country", "KR", 4, 2, "late"),
        (m1("country", "ID"), MINUTE_1, "country", "ID", 1, 2, "late"),
        (m1("credit", "Reuters"), MINUTE_1, "credit", "Reuters", 3, 2, "late"),
        (m1("cited", "TASS"), MINUTE_1, "cited", "TASS", 1, 2, "late"),
        # minute 2, on time (the story that arrived before minute 1 fired was held)
        (m2("country", "KR"), MINUTE_2, "country", "KR", 1, 0, "on_time"),
        (m2("credit", "Reuters"), MINUTE_2, "credit", "Reuters", 1, 0, "on_time"),
    ]))
    pipeline.run().wait_until_finish()


def test_nothing_fires_while_the_watermark_holds_before_the_window_end():
    stream = (
        TestStream()
        .advance_watermark_to(T0)
        .add_elements([TimestampedValue(story(("FR",)), T0 + 5)])
        .advance_watermark_to(T0 + 58)
        .add_elements([TimestampedValue(story(("FR",)), T0 + 40)])
        .advance_watermark_to(T0 + 59)  # just before the end of minute 1
        .add_elements([TimestampedValue(story(("FR",)), T0 + 58)])
        .advance_watermark_to_infinity()  # only now does minute 1 fire: one pane, all three
    )
    pipeline, summaries = _run(stream)
    assert_that(summaries, equal_to([
        (f"{MINUTE_1}|country|FR", MINUTE_1, "country", "FR", 3, 0, "on_time"),
    ]))
    pipeline.run().wait_until_finish()


def test_zero_lateness_drops_every_late_story():
    stream = (
        TestStream()
        .advance_watermark_to(T0)
        .add_elements([TimestampedValue(story(("US",)), T0 + 5)])
        .advance_watermark_to(T0 + 61)  # past the end of minute 1 (T0 + 60)
        .add_elements([TimestampedValue(story(("US",)), T0 + 6)])
        .advance_watermark_to_infinity()
    )
    pipeline, summaries = _run(stream, lateness=0)
    assert_that(summaries, equal_to([
        (f"{MINUTE_1}|country|US", MINUTE_1, "country", "US", 1, 0, "on_time"),
    ]))
    pipeline.run().wait_until_finish()


def test_on_prism_late_stories_are_counted_in_the_pane_at_the_end_of_the_lateness():
    """The same kind of stream on Prism (2.78): late stories are not counted at once but in
    the pane Prism fires when the watermark passes the window's end plus the allowed
    lateness (README, *Windowed counts*); too late ones are not counted. If Prism starts
    firing late panes at once, this test fails and the README must say so."""
    # runner_arguments: its own Prism, not one an earlier DirectRunner pipeline of this
    # process left behind (Beam keeps one per process)
    options = PipelineOptions(runners.runner_arguments("prism", prism=prism_location()))
    options.view_as(StandardOptions).streaming = True
    stream = (
        TestStream()
        .advance_watermark_to(T0)
        .add_elements([TimestampedValue(story(("KR",), credit=("AFP",)), T0 + 1),
                       TimestampedValue(story(("KR",)), T0 + 2)])
        .advance_watermark_to(T0 + 70)  # minute 1 fires on time
        .add_elements([TimestampedValue(story(("KR",)), T0 + 3)])  # late
        .advance_watermark_to(T0 + 80)
        .add_elements([TimestampedValue(story(("KR",)), T0 + 4)])  # late
        .advance_watermark_to(T0 + 60 + 600 + 1)  # past the allowed lateness
        .add_elements([TimestampedValue(story(("KR",)), T0 + 5)])  # too late
        .advance_watermark_to_infinity()
    )
    pipeline, summaries = _run(stream, options=options)
    assert_that(summaries, equal_to([
        (f"{MINUTE_1}|country|KR", MINUTE_1, "country", "KR", 2, 0, "on_time"),
        (f"{MINUTE_1}|credit|AFP", MINUTE_1, "credit", "AFP", 1, 0, "on_time"),
        (f"{MINUTE_1}|country|KR", MINUTE_1, "country", "KR", 4, 1, "late"),
        (f"{MINUTE_1}|credit|AFP", MINUTE_1, "credit", "AFP", 1, 1, "late"),
    ]))
    pipeline.run().wait_until_finish()


@pytest.mark.parametrize(
    ("args", "message"),
    [(("",), "pipeline_version"), (("1.0", -1), "allowed_lateness_seconds"),
     (("1.0", 1.5), "allowed_lateness_seconds")],
)
def test_invalid_arguments_are_refused_when_built(args, message):
    with pytest.raises(ValueError, match=message):
        CountStories(*args)
