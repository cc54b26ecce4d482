"""Deduplication by story_id and revision with Beam keyed state.

A stateful DoFn keyed by story_id keeps the highest revision it has passed on. A record
with a higher revision passes and becomes the new highest; the same revision again (a
redelivery) or a lower one (an older revision arriving late) is dropped and counted.

It uses no GroupByKey, so it runs continuously on the FnApiRunner behind an unbounded
source. State lives as long as the pipeline (the FnApiRunner keeps it in memory, so a
restart starts empty and a redelivered record passes again: downstream consumers dedup by
key, which is why the enriched topic is keyed by story_id). With ``ttl_seconds`` a story's
state is dropped once the watermark passes its last record's event time plus the TTL,
which bounds the state on runners with real watermarks (Prism, Flink, Dataflow).
"""

from collections.abc import Callable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.utils.timestamp import Duration

from pipeline import metrics

NAMESPACE = "newswire.dedup"


_HIGHEST = ReadModifyWriteStateSpec("highest_revision", VarIntCoder())
_EXPIRY = TimerSpec("expiry", TimeDomain.WATERMARK)
_HIGHEST_PARAM = beam.DoFn.StateParam(_HIGHEST)
_EXPIRY_PARAM = beam.DoFn.TimerParam(_EXPIRY)


class _KeepNewestRevision(beam.DoFn):
    """Without TTL: one state read per element, one write per passed element, no timer (a
    timer parameter costs the runner a timer handle per element even when never set)."""

    def __init__(self, revision_of: Callable[[Any], int]) -> None:
        self._revision_of = revision_of
        self._counters = {
            outcome: Metrics.counter(NAMESPACE, outcome)
            for outcome in ("new", "revised", "duplicate", "stale", "expired")
        }

    def _passes(self, item: Any, highest) -> bool:
        """True (and ``highest`` updated) if ``item`` is new or a higher revision."""
        revision = self._revision_of(item)
        seen = highest.read()
        if seen is not None and revision <= seen:
            self._counters["duplicate" if revision == seen else "stale"].inc()
            metrics.record_duplicate()
            return False
        highest.write(revision)
        self._counters["new" if seen is None else "revised"].inc()
        return True

    def process(self, element: tuple[str, Any], highest=_HIGHEST_PARAM) -> Iterator[Any]:
        item = element[1]
        if self._passes(item, highest):
            yield item


class _KeepNewestRevisionWithTtl(_KeepNewestRevision):
    """With TTL: also (re)sets a watermark timer that drops the key's state once the
    watermark passes the element's event time plus the TTL."""

    def __init__(self, revision_of: Callable[[Any], int], ttl_seconds: int) -> None:
        super().__init__(revision_of)
        self._ttl = Duration(seconds=ttl_seconds)

    def process(
        self,
        element: tuple[str, Any],
        timestamp=beam.DoFn.TimestampParam,
        highest=_HIGHEST_PARAM,
        expiry=_EXPIRY_PARAM,
    ) -> Iterator[Any]:
        item = element[1]
        if self._passes(item, highest):
            expiry.set(timestamp + self._ttl)
            yield item

    @on_timer(_EXPIRY)
    def expire(self, highest=_HIGHEST_PARAM):
        highest.clear()
        self._counters["expired"].inc()


class DedupByRevision(beam.PTransform):
    """Pass each (key, revision) once, keeping the highest revision per key.

    ``key_of(item) -> str`` and ``revision_of(item) -> int`` read an element; the output is
    the input elements that were new or a higher revision, unchanged.
    """

    def __init__(
        self,
        key_of: Callable[[Any], str],
        revision_of: Callable[[Any], int],
        ttl_seconds: int = 0,
    ) -> None:
        super().__init__()
        if ttl_seconds < 0:
            raise ValueError(f"ttl_seconds: {ttl_seconds}; must be >= 0 (0 = keep for the run)")
        self._key_of = key_of
        self._revision_of = revision_of
        self._ttl_seconds = ttl_seconds

    def expand(self, pcoll):
        key_of = self._key_of
        return (
            pcoll
            | "KeyByStory" >> beam.Map(lambda item: (key_of(item), item)).with_output_types(
                tuple[str, Any]
            )
            | "KeepNewestRevision"
            >> beam.ParDo(
                _KeepNewestRevisionWithTtl(self._revision_of, self._ttl_seconds)
                if self._ttl_seconds
                else _KeepNewestRevision(self._revision_of)
            )
        )
