"""The watermark of one partition's reader.

Beam holds downstream windows until the watermark passes their end. A partition's
watermark follows the newest record timestamp it emitted, minus a lag that tolerates some
disorder; when the reader has caught up with the partition and a poll returns nothing, the
watermark follows processing time minus the same lag instead. Without that second rule an
idle partition would hold every window of the pipeline back forever (Beam issue #20908).
The watermark never moves backwards.
"""

from __future__ import annotations

from apache_beam.io.iobase import WatermarkEstimator
from apache_beam.transforms.core import WatermarkEstimatorProvider
from apache_beam.utils.timestamp import Timestamp

# Estimator state: (watermark or None before the first observation, lag in milliseconds).
EstimatorState = tuple[Timestamp | None, int]


class PartitionWatermarkEstimator(WatermarkEstimator):
    """Watermark from record timestamps, advanced by processing time while idle."""

    def __init__(self, state: EstimatorState) -> None:
        self._watermark, self._lag_ms = state
        self._lag_micros = self._lag_ms * 1000
        self._newest_micros: int | None = None  # newest record timestamp not yet applied

    def observe_timestamp(self, timestamp: Timestamp) -> None:
        """Called by Beam with the timestamp of every element the reader outputs (kept cheap:
        the watermark itself is worked out when asked for)."""
        micros = timestamp.micros
        if self._newest_micros is None or micros > self._newest_micros:
            self._newest_micros = micros

    def observe_idle(self, now: Timestamp) -> None:
        """The reader is caught up and found nothing new: let processing time lead."""
        self._advance_to(now.micros - self._lag_micros)

    def _advance_to(self, micros: int) -> None:
        if self._watermark is None or micros > self._watermark.micros:
            self._watermark = Timestamp(micros=micros)

    def current_watermark(self) -> Timestamp | None:
        if self._newest_micros is not None:
            self._advance_to(self._newest_micros - self._lag_micros)
            self._newest_micros = None
        return self._watermark

    def get_estimator_state(self) -> EstimatorState:
        return (self.current_watermark(), self._lag_ms)


class PartitionWatermarkEstimatorProvider(WatermarkEstimatorProvider):
    """Creates a PartitionWatermarkEstimator with the lag the element (a PartitionRead) asks."""

    def initial_estimator_state(self, element, restriction) -> EstimatorState:
        return (None, element.watermark_lag_ms)

    def create_watermark_estimator(self, estimator_state: EstimatorState):
        return PartitionWatermarkEstimator(estimator_state)
