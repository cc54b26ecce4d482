"""DedupByRevision: keyed state keeps the highest revision per story (FnApiRunner), and
its optional TTL expires state with the watermark (TestStream, BundleBasedDirectRunner)."""

from __future__ import annotations

from operator import itemgetter

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipeline.enrich.dedup import NAMESPACE, DedupByRevision


def _counters(result) -> dict[str, int]:
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    return {c.key.metric.name: c.committed for c in query["counters"] if c.committed}


def test_keeps_first_of_each_revision_and_drops_repeats_and_older_revisions():
    # (story_id, revision, which delivery)
    items = [
        ("a", 1, "first"), ("a", 1, "redelivered"), ("b", 1, "only"),
        ("a", 2, "update"), ("a", 1, "late old revision"), ("a", 2, "update again"),
        ("c", 3, "starts at 3"),
    ]
    pipeline = TestPipeline(runner="FnApiRunner")
    out = (
        pipeline
        | beam.Create(items)
        | DedupByRevision(itemgetter(0), itemgetter(1))
        | beam.Map(lambda item: (item[0], item[1]))
    )
    assert_that(out, equal_to([("a", 1), ("a", 2), ("b", 1), ("c", 3)]))
    result = pipeline.run()
    result.wait_until_finish()
    # Create hands the items over in order within one bundle, so "a" 1 → 2 is "revised".
    assert _counters(result) == {"new": 3, "revised": 1, "duplicate": 2, "stale": 1}


def test_ttl_forgets_a_story_once_the_watermark_passes_it():
    options = PipelineOptions(runner="BundleBasedDirectRunner")
    options.view_as(StandardOptions).streaming = True
    stream = (
        TestStream()
        .add_elements([TimestampedValue(("a", 1, "first"), 0)])
        .advance_watermark_to(50)
        .add_elements([TimestampedValue(("a", 1, "within ttl"), 40)])
        .advance_watermark_to(200)  # past 0 + ttl 100: "a" expired
        .add_elements([TimestampedValue(("a", 1, "after ttl"), 150)])
        .advance_watermark_to_infinity()
    )
    with TestPipeline(options=options) as pipeline:
        out = (
            pipeline
            | stream
            | DedupByRevision(itemgetter(0), itemgetter(1), ttl_seconds=100)
            | beam.Map(itemgetter(2))
        )
        assert_that(out, equal_to(["first", "after ttl"]))


def test_negative_ttl_is_refused():
    with pytest.raises(ValueError, match="ttl_seconds"):
        DedupByRevision(itemgetter(0), itemgetter(1), ttl_seconds=-1)


@pytest.mark.parametrize(("ttl_seconds", "timers"), [(0, 0), (100, 1)])
def test_only_a_ttl_adds_a_timer(ttl_seconds, timers):
    """Without TTL the stateful DoFn declares one state cell and no timer: a declared timer
    costs the runner a timer handle per element even when it is never set."""
    from apache_beam.pipeline import PipelineVisitor
    from apache_beam.transforms.userstate import get_dofn_specs

    class Specs(PipelineVisitor):
        def __init__(self) -> None:
            self.found: list[tuple[int, int]] = []

        def visit_transform(self, node):
            if isinstance(node.transform, beam.ParDo) and node.full_label.endswith("KeepNewestRevision"):
                states, timer_specs = get_dofn_specs(node.transform.fn)
                self.found.append((len(states), len(timer_specs)))

    pipeline = beam.Pipeline()
    _ = pipeline | beam.Create([("a", 1)]) | DedupByRevision(itemgetter(0), itemgetter(1), ttl_seconds)
    specs = Specs()
    pipeline.visit(specs)
    assert specs.found == [(1, timers)]
