"""CountStories: counts per event-time minute of stories by dateline country, credited agency
and cited agency, as (key, value, headers) records for a Kafka stats topic.

    stories | CountStories(pipeline_version, allowed_lateness_seconds=600)
      StoryKeys            Story → its (dimension, value) pairs, one list per story
                           (transforms.stats.story_keys)
      WindowByMinute       fixed event-time windows of WINDOW_SECONDS; the elements keep the
                           Kafka record timestamp the source gave them
      CountPerWindow       one {(dimension, value): count} per window and pane; partial
                           counts are combined before the shuffle where the runner lifts them
      EncodeCounts         → one (key, JSON, headers) per (dimension, value), with the window
                           and the pane

The counts of a window are combined into one dict rather than per (dimension, value) key:
a story is one element instead of one per value (five for a JAKARTA/SEOUL story credited to
one agency citing two), which measured ~3x cheaper per story on the FnApiRunner
(benchmarks/stats_bench.py has the pipeline's figures). The price is that every firing of a
window re-emits all of its values, changed or not.

Trigger: a window fires when the watermark passes its end (pane timing ``on_time``), then
again for stories that arrive behind the watermark but within the allowed lateness
(``late``); later still, stories are no longer counted (the source counts records behind
the watermark as ``kafkaio/records_behind_watermark``; they are enriched and written as
usual). Panes ACCUMULATE: each holds the window's whole counts so far, so a consumer upserts
by key and the latest pane (highest ``pane.index``) is the answer. Accumulating also makes a
repeated firing harmless (Beam notes that Prism may fire an AfterCount trigger twice).

Windows fire only on runners with real watermarks (Prism, Flink, Dataflow) or at the end
of a bounded input; the FnApiRunner never fires a GroupByKey behind an unbounded source
(pipeline assembly refuses the stats output there).
"""

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms import trigger
from apache_beam.transforms.window import FixedWindows, IntervalWindow
from apache_beam.utils.timestamp import Duration
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming

from schemas import SCHEMA_VERSION, STATS
from schemas.timefmt import utc_now
from transforms.stats import (
    Counts,
    StatKey,
    add_keys,
    count_key,
    count_record,
    merge_counts,
    story_keys,
)

WINDOW_SECONDS = 60
NAMESPACE = "newswire.stats"
STATS_HEADERS = (("schema_version", SCHEMA_VERSION.encode()),)

KafkaRecordOut = tuple[bytes, bytes, tuple[tuple[str, bytes], ...]]
_TIMINGS = {
    PaneInfoTiming.EARLY: "early",
    PaneInfoTiming.ON_TIME: "on_time",
    PaneInfoTiming.LATE: "late",
    PaneInfoTiming.UNKNOWN: "unknown",
}


def keys_of_story(story: Any) -> list[StatKey]:
    """The (dimension, value) pairs of a story in flight (transforms.beam.Story)."""
    return story_keys(story.work["dateline"], story.work["attribution"])


class _CountKeysFn(beam.CombineFn):
    """Lists of (dimension, value) pairs → {(dimension, value): count}."""

    def create_accumulator(self) -> Counts:
        return {}

    def add_input(self, counts: Counts, keys: list[StatKey]) -> Counts:
        return add_keys(counts, keys)

    def merge_accumulators(self, accumulators: Iterable[Counts]) -> Counts:
        return merge_counts(accumulators)

    def extract_output(self, counts: Counts) -> Counts:
        return counts


class _EncodeCountsFn(beam.DoFn):
    """The counts of one window and pane → (key, stats JSON, headers) per (dimension, value),
    in a stable order."""

    def __init__(self, pipeline_version: str) -> None:
        self._version = pipeline_version
        self._panes = {timing: Metrics.counter(NAMESPACE, f"panes_{timing}") for timing in _TIMINGS.values()}

    def process(
        self,
        counts: Counts,
        window: IntervalWindow = beam.DoFn.WindowParam,
        pane: PaneInfo = beam.DoFn.PaneInfoParam,
    ) -> Iterator[KafkaRecordOut]:
        timing = _TIMINGS.get(pane.timing, "unknown")
        if counts:
            self._panes[timing].inc()
        emitted_at = utc_now()
        for (dimension, value), count in sorted(counts.items()):
            record = count_record(
                window_start_micros=window.start.micros,
                window_end_micros=window.end.micros,
                dimension=dimension,
                value=value,
                count=count,
                pane_index=pane.index,
                pane_timing=timing,
                pipeline_version=self._version,
                emitted_at=emitted_at,
            )
            key = count_key(record["window_start"], dimension, value)
            yield key, STATS.encode(record), STATS_HEADERS


class CountStories(beam.PTransform):
    """Story → (key, value, headers) for the stats topic: one record per (minute, dimension,
    value) at each firing of the minute. See the module docstring for windows, trigger and
    panes."""

    def __init__(self, pipeline_version: str, allowed_lateness_seconds: int = 600) -> None:
        super().__init__()
        if not pipeline_version:
            raise ValueError("pipeline_version: empty; pass pipeline.__version__")
        if isinstance(allowed_lateness_seconds, bool) or not isinstance(allowed_lateness_seconds, int) \
                or allowed_lateness_seconds < 0:
            raise ValueError(
                f"allowed_lateness_seconds: {allowed_lateness_seconds!r}; must be an integer >= 0"
            )
        self._version = pipeline_version
        self._lateness = allowed_lateness_seconds

    def expand(self, stories: beam.PCollection) -> beam.PCollection:
        return (
            stories
            | "StoryKeys" >> beam.Map(keys_of_story)
            | "WindowByMinute" >> beam.WindowInto(
                FixedWindows(WINDOW_SECONDS),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                allowed_lateness=Duration(seconds=self._lateness),
            )
            | "CountPerWindow" >> beam.CombineGlobally(_CountKeysFn()).without_defaults()
            | "EncodeCounts" >> beam.ParDo(_EncodeCountsFn(self._version))
        )
