"""SLOW (~30 s): a broker that lost its log under the running pipeline (issue 12).

The embedded broker keeps its logs in memory: restarted, it starts every log again at
offset 0. The running `enrich` (continuous, FnApiRunner, its own process) was at offset 100
of the old log; the new log gets 120 stories, past that offset. Every one of them must be
enriched (the reader notices the reset, follows offset_reset=earliest, says so in its log)
and the pipeline must keep running. This test restarts a broker, so it starts its own
Tansu; tests/pipeline/test_kafkaio.py covers a re-created topic on any broker."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.broker import EmbeddedBroker, free_port
from tests.pipeline.enrich.support import publish, read_all
from tests.stories import raw_value

REPO = Path(__file__).resolve().parents[3]
TOPICS = ("raw", "enriched", "dead")


def _wait_for_keys(bootstrap: str, keys: set[bytes], proc, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        got = {m.key for m in read_all(bootstrap, "enriched", timeout_s=3)}
        if keys <= got:
            return
        assert time.monotonic() < deadline, (
            f"{len(keys - got)} of {len(keys)} stories not enriched within {timeout_s:.0f} s\n"
            + log.read_text(errors="replace")[-3000:]
        )
        time.sleep(1)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_running_pipeline_reads_the_whole_new_log_after_the_broker_lost_its_log(tmp_path):
    port = free_port()
    broker = EmbeddedBroker(port=port, topics=TOPICS).start()
    log = tmp_path / "enrich.log"
    proc = None
    try:
        old = {f"{i:032x}".encode(): raw_value(i) for i in range(100)}
        publish(broker.bootstrap, "raw", list(old.items()))
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline.enrich", "--bootstrap-servers", broker.bootstrap,
                 "--input-topic", "raw", "--output-topic", "enriched", "--dead-letter-topic", "dead",
                 "--consumer-group", "g", "--runner", "FnApiRunner"],
                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
            )
        _wait_for_keys(broker.bootstrap, set(old), proc, log, 90)

        broker.stop()  # memory storage: every log is gone
        broker = EmbeddedBroker(port=port, topics=TOPICS).start()
        new = {f"{1000 + i:032x}".encode(): raw_value(1000 + i) for i in range(120)}
        publish(broker.bootstrap, "raw", list(new.items()))
        _wait_for_keys(broker.bootstrap, set(new), proc, log, 120)
        text = log.read_text(errors="replace")
        assert "OFFSET RESET to the earliest offset 0" in text, text[-3000:]
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            status = proc.wait(timeout=60)
            assert status == 0, log.read_text(errors="replace")[-3000:]
        broker.stop()
