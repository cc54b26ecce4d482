"""JSON Lines sink: readers only ever see complete files; crashes leave recoverable files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline.enrich import files
from pipeline.enrich.files import RollingFile, WriteJsonLines, recover


def _visible(directory: Path) -> list[Path]:
    """What a reader globbing for JSON Lines files sees."""
    return sorted(directory.glob("*.jsonl"))


def _lines(paths: list[Path]) -> list[dict]:
    out = []
    for path in paths:
        text = path.read_text("utf-8")
        assert text.endswith("\n"), f"{path} does not end with a complete line"
        out.extend(json.loads(line) for line in text.splitlines())
    return out


def test_bounded_pipeline_leaves_only_complete_files_rolled_by_size(tmp_path):
    docs = [json.dumps({"n": n, "pad": "x" * 50}).encode() for n in range(300)]
    with TestPipeline(runner="FnApiRunner") as pipeline:
        _ = pipeline | beam.Create(docs) | WriteJsonLines(tmp_path, roll_bytes=4096)
    assert not list(tmp_path.glob(".*")), "in-progress files left behind"
    visible = _visible(tmp_path)
    assert len(visible) > 1, "roll_bytes=4096 should have rolled the ~20 KB into several files"
    assert sorted(doc["n"] for doc in _lines(visible)) == list(range(300))


def test_lines_are_invisible_until_the_file_is_rolled_and_durable_at_sync(tmp_path):
    writer = RollingFile(tmp_path, "enriched", roll_bytes=1 << 20, roll_seconds=3600)
    writer.write(b'{"n": 1}')
    writer.sync()
    hidden = list(tmp_path.glob(".enriched-*.jsonl.inprogress"))
    assert len(hidden) == 1 and hidden[0].read_bytes() == b'{"n": 1}\n'  # synced to disk
    assert _visible(tmp_path) == [] and not writer.due()
    final = writer.finish()
    assert _visible(tmp_path) == [final] and final.read_bytes() == b'{"n": 1}\n'
    assert not hidden[0].exists()
    assert writer.finish() is None  # nothing open: a second finish is a no-op


def test_rolls_by_age(tmp_path):
    writer = RollingFile(tmp_path, "enriched", roll_bytes=1 << 20, roll_seconds=0.01)
    writer.write(b"{}")
    time.sleep(0.02)
    assert writer.due()
    writer.finish()


_CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from pipeline.enrich.files import RollingFile
    writer = RollingFile(Path(sys.argv[1]), "enriched", roll_bytes=1 << 20, roll_seconds=3600)
    for n in range(5):
        writer.write(b'{"n": %d}' % n)
    writer.sync()
    writer._file.write(b'{"n": 5, "torn')  # a line cut by the crash
    writer._file.flush()
    print("ready", flush=True)
    if sys.argv[2] == "crash":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.read()  # stay alive, holding the lock, until the test closes stdin
    """
)


def _writer(tmp_path: Path, mode: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_WRITER, str(tmp_path), mode],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_recover_finishes_a_killed_writers_file_without_its_torn_line(tmp_path):
    proc = _writer(tmp_path, "crash")
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert _visible(tmp_path) == []
    finished = recover(tmp_path)
    assert finished == _visible(tmp_path) and len(finished) == 1
    assert [doc["n"] for doc in _lines(finished)] == [0, 1, 2, 3, 4]
    assert not list(tmp_path.glob(".*"))


def test_recover_leaves_a_live_writers_file_alone(tmp_path):
    proc = _writer(tmp_path, "live")
    try:
        assert recover(tmp_path) == []
        assert len(list(tmp_path.glob(".*.inprogress"))) == 1
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert len(recover(tmp_path)) == 1  # its writer is gone now


def test_recover_deletes_an_in_progress_file_with_no_complete_line(tmp_path):
    (tmp_path / ".enriched-x.jsonl.inprogress").write_bytes(b'{"torn')
    assert recover(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_close_open_files_finishes_every_live_writer(tmp_path):
    writers = [RollingFile(tmp_path, f"w{n}", 1 << 20, 3600) for n in range(2)]
    for n, writer in enumerate(writers):
        writer.write(b'{"w": %d}' % n)
    finished = files.close_open_files()
    assert sorted(finished) == _visible(tmp_path) and len(finished) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"prefix": ".hidden"}, "prefix"), ({"roll_bytes": 0}, "roll_bytes"), ({"roll_seconds": 0}, "roll_seconds")],
)
def test_invalid_arguments_are_refused_at_construction(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        WriteJsonLines(tmp_path, **kwargs)


def test_empty_directory_is_refused():
    with pytest.raises(ValueError, match="directory"):
        WriteJsonLines(" ")


def _finish_from_two_threads(writer: RollingFile) -> list[object]:
    start = threading.Barrier(2)
    results: list[object] = []

    def finish() -> None:
        start.wait()
        try:
            results.append(writer.finish())
        except OSError as exc:  # the race this guards against: a second rename
            results.append(exc)

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_file_finished_from_two_threads_at_once_is_finished_once(tmp_path):
    """A stop finishes the files from the main thread while a Prism or Flink worker thread
    (LOOPBACK: same process) may be tearing its writer down: one of them renames the file,
    the other finds nothing left to do."""
    for _ in range(50):
        writer = RollingFile(tmp_path, "race", roll_bytes=1 << 20, roll_seconds=60)
        writer.write(b'{"n": 1}')
        results = _finish_from_two_threads(writer)
        assert sum(isinstance(result, Path) for result in results) == 1, results
        assert results.count(None) == 1, results
    assert len(list(tmp_path.glob("race-*.jsonl"))) == 50 and not list(tmp_path.glob(".*"))
