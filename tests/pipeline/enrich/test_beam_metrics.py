"""CountEnriched in a real Beam pipeline (in-process runner, so the DoFns share our registry)."""

from __future__ import annotations

import time

import apache_beam as beam
import httpx
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import metrics
from pipeline.broker import free_port
from pipeline.enrich.beam_metrics import CountEnriched
from pipeline.kafkaio.config import KafkaDelivery


def value(name: str) -> float:
    return metrics.REGISTRY.get_sample_value(name) or 0.0


def test_counts_deliveries_and_their_latency_and_serves_the_endpoint():
    port = free_port()
    enriched = value("newswire_pipeline_stories_enriched_total")
    observed = value("newswire_pipeline_end_to_end_latency_seconds_count")
    now_ms = int(time.time() * 1000)
    stamps = [now_ms - 200, now_ms - 1500, now_ms - 3_600_000 * 2]  # 0.2 s, 1.5 s, 2 h old
    deliveries = [KafkaDelivery("news.enriched", 0, i, ms, b"k") for i, ms in enumerate(stamps)]
    with beam.Pipeline(options=PipelineOptions(["--runner", "FnApiRunner"])) as pipeline:
        _ = (
            pipeline
            | beam.Create(deliveries)
            | beam.Map(lambda d: beam.window.TimestampedValue(d, d.timestamp_ms / 1000))
            .with_output_types(KafkaDelivery)
            | CountEnriched(port)
        )
    try:
        assert value("newswire_pipeline_stories_enriched_total") == enriched + 3
        assert value("newswire_pipeline_end_to_end_latency_seconds_count") == observed + 3
        buckets = {
            le: metrics.REGISTRY.get_sample_value(
                "newswire_pipeline_end_to_end_latency_seconds_bucket", {"le": le}) or 0.0
            for le in ("1.0", "2.5", "3600.0", "+Inf")
        }
        assert buckets["2.5"] - buckets["1.0"] >= 1  # the 1.5 s one
        assert buckets["+Inf"] - buckets["3600.0"] >= 1  # the 2 h backlog one
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'newswire_build_info{component="pipeline"' in text
        assert "newswire_pipeline_stories_enriched_total" in text
    finally:
        metrics.stop_metrics_server(port)


def test_a_bad_port_is_refused_when_the_pipeline_is_built():
    with pytest.raises(ValueError, match="--metrics-port: 70000 is not a TCP port"):
        CountEnriched(70000)
