"""The Beam side of pipeline/metrics.py: where a pipeline's worker processes serve and
count their Prometheus metrics.

:class:`CountEnriched` goes after the enriched topic's sink: for each record Kafka
acknowledged it counts one enriched story and observes its end-to-end latency, from the
element's timestamp (the raw record's Kafka timestamp, the source's event time) to now.
Its ``setup`` starts the metrics endpoint once per worker process when a port is given,
so every runner serves metrics where the DoFns run: the `newswire enrich` process on the
DirectRunner, each SDK worker on Flink and Dataflow.
"""

import apache_beam as beam

from pipeline import metrics
from pipeline.kafkaio.config import KafkaDelivery


class _CountEnrichedFn(beam.DoFn):
    def __init__(self, metrics_port: int | None) -> None:
        self._port = metrics_port

    def setup(self) -> None:
        if self._port is not None:
            # SDK workers sharing a host share the port: the first one serves it. Every
            # interface: workers run in containers (Flink sidecar, Dataflow VMs) that
            # Prometheus scrapes from outside (deploy/).
            metrics.start_metrics_server(self._port, "pipeline", addr="0.0.0.0",
                                         if_in_use="warn")

    def process(self, delivery: KafkaDelivery, timestamp=beam.DoFn.TimestampParam):
        metrics.record_enriched()
        metrics.observe_end_to_end(timestamp.micros // 1000)
        return ()


class CountEnriched(beam.PTransform):
    """Deliveries of the enriched topic's sink → ``newswire_pipeline_stories_enriched_total``
    and ``newswire_pipeline_end_to_end_latency_seconds``; serves ``/metrics`` on
    ``metrics_port`` (None: count only)."""

    def __init__(self, metrics_port: int | None = None) -> None:
        super().__init__()
        if metrics_port is not None and not 0 <= metrics_port < 65536:
            raise ValueError(f"--metrics-port: {metrics_port} is not a TCP port (0-65535)")
        self._port = metrics_port

    def expand(self, deliveries):
        return deliveries | "CountEnriched" >> beam.ParDo(_CountEnrichedFn(self._port))
