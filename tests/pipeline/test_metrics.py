"""Prometheus metrics: recorded through the hook functions, scraped over real HTTP."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline import __version__, metrics


def value(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def metrics_port():
    port = metrics.start_metrics_server(0, "reader", addr="127.0.0.1")
    yield port
    metrics.stop_metrics_server(port)


def test_every_labelled_series_exists_before_the_first_event(metrics_port):
    samples = scrape(metrics_port)
    for outcome in metrics.POLL_OUTCOMES:
        assert ("newswire_reader_polls_total", (("outcome", outcome),)) in samples
    for kind in metrics.PUBLISH_KINDS:
        assert ("newswire_reader_entries_published_total", (("kind", kind),)) in samples
    assert ("newswire_build_info", (("component", "reader"), ("version", __version__))) in samples
    assert any(name == "process_cpu_seconds_total" for name, _ in samples)


def test_reader_events_reach_the_endpoint(metrics_port):
    before = scrape(metrics_port)
    metrics.record_poll("fetched", fetch_seconds=0.2)
    metrics.record_poll("not_modified", fetch_seconds=0.01)
    metrics.record_poll("failed")
    metrics.record_published("new", 3)
    metrics.record_published("revision")
    metrics.record_unchanged(5)
    metrics.set_outbox_pending(7)
    metrics.set_feed_states(ok=9, failing=1)
    after = scrape(metrics_port)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    assert delta("newswire_reader_polls_total", outcome="fetched") == 1
    assert delta("newswire_reader_polls_total", outcome="not_modified") == 1
    assert delta("newswire_reader_polls_total", outcome="failed") == 1
    assert delta("newswire_reader_fetch_duration_seconds_count") == 2
    assert delta("newswire_reader_entries_published_total", kind="new") == 3
    assert delta("newswire_reader_entries_published_total", kind="revision") == 1
    assert delta("newswire_reader_entries_unchanged_total") == 5
    assert after[("newswire_reader_outbox_pending", ())] == 7
    assert after[("newswire_reader_feeds", (("state", "failing"),))] == 1


def test_pipeline_events_are_counted_per_stage_and_error_class():
    before = value("newswire_pipeline_dead_letters_total", stage="decode", reason="RecordError")
    latency_before = value("newswire_pipeline_end_to_end_latency_seconds_count")
    metrics.record_read(4)
    metrics.record_enriched(3)
    metrics.record_dead_letter("decode", "RecordError")
    metrics.record_dead_letter("clean", "selectolax.parser ParserError!")
    metrics.set_consumer_lag(2, 40)
    metrics.observe_end_to_end(1_000_000, now=1_000.25)  # 0.25 s
    metrics.observe_end_to_end(None)  # no timestamp: nothing observed

    assert value("newswire_pipeline_dead_letters_total",
                 stage="decode", reason="RecordError") == before + 1
    assert value("newswire_pipeline_dead_letters_total",
                 stage="clean", reason="selectolax.parser_ParserError") >= 1
    assert value("newswire_pipeline_consumer_lag_records", partition="2") == 40
    assert value("newswire_pipeline_end_to_end_latency_seconds_count") == latency_before + 1
    assert value("newswire_pipeline_end_to_end_latency_seconds_bucket", le="0.25") >= 1


def test_negative_lag_from_a_stale_end_offset_is_shown_as_zero():
    metrics.set_consumer_lag(5, -3)
    assert value("newswire_pipeline_consumer_lag_records", partition="5") == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: metrics.record_poll("ok"), "outcome: 'ok' is not one of fetched, not_modified"),
        (lambda: metrics.record_published("update"), "kind: 'update' is not one of new, revision"),
        (lambda: metrics.record_dead_letter("transform", "X"), "stage: 'transform' is not one of"),
        (lambda: metrics.start_metrics_server(0, "web"), "component: 'web' is not one of"),
        (lambda: metrics.start_metrics_server(70000, "reader"), "--metrics-port: 70000"),
    ],
)
def test_label_values_outside_their_fixed_sets_are_refused(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()


def test_a_taken_port_raises_for_a_service_and_warns_for_a_worker(caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"--metrics-port {port}: cannot serve metrics"):
            metrics.start_metrics_server(port, "pipeline", addr="127.0.0.1")
        assert metrics.start_metrics_server(port, "pipeline", addr="127.0.0.1",
                                            if_in_use="warn") is None
    assert f"--metrics-port {port}" in caplog.text


def test_starting_twice_on_one_port_reuses_the_server(metrics_port):
    assert metrics.start_metrics_server(metrics_port, "reader", addr="127.0.0.1") == metrics_port
