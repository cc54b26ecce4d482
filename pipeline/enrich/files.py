"""JSON Lines file sink without GroupByKey: rolling files that readers only see complete.

Each writer (one per DoFn instance) appends lines to a hidden in-progress file
``.<name>.jsonl.inprogress`` that it holds an exclusive ``flock`` on. At the end of every
bundle it flushes and fsyncs, so what the bundle wrote is durable before the source commits
the bundle's offsets. When the file is older than ``roll_seconds`` or larger than
``roll_bytes`` (checked after each line and at bundle ends), and when the writer is torn down, it is renamed
atomically to its final name ``<name>.jsonl`` and the directory is fsynced. A reader
listing ``*.jsonl`` therefore never sees a half-written file.

After a crash (``kill -9``, power loss) an in-progress file may be left behind. Its lines
up to the last fsync belong to committed offsets and must not be lost, so it is
*recovered*, not deleted: every writer, when it starts, and :func:`recover` (run by
``newswire enrich`` after the pipeline stops) take each in-progress file whose lock is
free (its writer is gone), cut a torn last line, and rename it to its final name. Lines
written after the last fsync belong to offsets that were not committed; they are
processed again after the restart, so such a file can share a few records with a later
one (at-least-once; the records carry story_id and revision for downstream dedup).

The directory must be on a local POSIX filesystem (fsync, atomic rename, flock); for object
stores use the enriched topic and a connector.
"""

import fcntl
import logging
import os
import threading
import time
import uuid
import weakref
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas.timefmt import utc_now

log = logging.getLogger(__name__)

NAMESPACE = "newswire.files"
FINAL_SUFFIX = ".jsonl"
IN_PROGRESS_SUFFIX = ".jsonl.inprogress"

# Writers alive in this process, so `close_open_files` can finish them on a stop signal.
_LIVE_WRITERS: "weakref.WeakSet[RollingFile]" = weakref.WeakSet()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _final_path(in_progress: Path) -> Path:
    """``dir/.name.jsonl.inprogress`` → ``dir/name.jsonl``."""
    return in_progress.with_name(in_progress.name[1 : -len(IN_PROGRESS_SUFFIX)] + FINAL_SUFFIX)


def _cut_torn_line(fd: int) -> int:
    """Truncate the file after its last newline; return the remaining size."""
    size = os.fstat(fd).st_size
    if size == 0:
        return 0
    window = 1 << 16
    end = size
    while end > 0:
        start = max(0, end - window)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            if keep != size:
                os.ftruncate(fd, keep)
            return keep
        end = start
    os.ftruncate(fd, 0)
    return 0


def recover(directory: str | os.PathLike) -> list[Path]:
    """Finish the in-progress files no live writer holds; return the final paths made.

    A torn last line (a write cut by a crash) is removed; an empty file is deleted.
    Files another writer still holds a lock on are left alone.
    """
    directory = Path(directory)
    finished: list[Path] = []
    if not directory.is_dir():
        return finished
    for path in sorted(directory.glob("." + "*" + IN_PROGRESS_SUFFIX)):
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:  # finished by its writer meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # its writer renamed it between our open and our lock
                continue
            if _cut_torn_line(fd) == 0:
                os.unlink(path)
                log.info("removed empty in-progress file %s", path)
            else:
                os.fsync(fd)
                final = _final_path(path)
                os.rename(path, final)
                finished.append(final)
                log.warning("recovered in-progress file %s left by a stopped writer", final)
        finally:
            os.close(fd)
    if finished:
        _fsync_dir(directory)
    return finished


class RollingFile:
    """One writer's current file: append lines, make them durable, roll by size or age."""

    def __init__(self, directory: Path, prefix: str, roll_bytes: int, roll_seconds: float) -> None:
        self.directory = directory
        self.prefix = prefix
        self.roll_bytes = roll_bytes
        self.roll_seconds = roll_seconds
        self._file = None
        self._path: Path | None = None
        self._opened_at = 0.0
        self._size = 0
        self._unsynced = False
        # A stop finishes the files from the main thread (close_open_files) while a worker
        # thread of Prism or Flink (LOOPBACK: in this process) may be tearing its DoFn down.
        self._lock = threading.Lock()
        _LIVE_WRITERS.add(self)

    def _open(self) -> None:
        stamp = utc_now().strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{self.prefix}-{stamp}-{uuid.uuid4().hex[:12]}"
        self._path = self.directory / f".{name}{IN_PROGRESS_SUFFIX}"
        self._file = open(self._path, "xb")  # noqa: SIM115 - lives across bundles
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._opened_at = time.monotonic()
        self._size = 0

    def write(self, line: bytes) -> None:
        with self._lock:
            if self._file is None:
                self._open()
            self._file.write(line + b"\n")
            self._size += len(line) + 1
            self._unsynced = True

    def sync(self) -> None:
        """Make every line written so far durable (flush + fsync)."""
        with self._lock:
            self._sync()

    def _sync(self) -> None:
        if self._file is not None and self._unsynced:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._unsynced = False

    def due(self) -> bool:
        return self._file is not None and (
            self._size >= self.roll_bytes or time.monotonic() - self._opened_at >= self.roll_seconds
        )

    def finish(self) -> Path | None:
        """Make the current file durable and give it its final name; return that name (None
        if there is no current file, e.g. another thread finished it just now)."""
        with self._lock:
            if self._file is None:
                return None
            self._sync()
            final = _final_path(self._path)
            os.rename(self._path, final)  # still locked: recover() cannot race us
            _fsync_dir(self.directory)
            self._file.close()
            self._file = None
            self._path = None
            return final


def close_open_files() -> list[Path]:
    """Finish the files of every writer alive in this process (on a stop signal)."""
    return [path for writer in list(_LIVE_WRITERS) if (path := writer.finish()) is not None]


class _WriteLinesFn(beam.DoFn):
    def __init__(self, directory: str, prefix: str, roll_bytes: int, roll_seconds: float) -> None:
        self._directory = directory
        self._prefix = prefix
        self._roll_bytes = roll_bytes
        self._roll_seconds = roll_seconds
        self._file: RollingFile | None = None
        self._lines = Metrics.counter(NAMESPACE, "lines")
        self._files = Metrics.counter(NAMESPACE, "files")
        self._recovered = Metrics.counter(NAMESPACE, "recovered")

    def setup(self) -> None:
        directory = Path(self._directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._recovered.inc(len(recover(directory)))
        self._file = RollingFile(directory, self._prefix, self._roll_bytes, self._roll_seconds)

    def process(self, line: bytes) -> None:
        self._file.write(line)
        self._lines.inc()
        if self._file.due():  # finishing early only makes lines durable sooner
            self._roll()

    def finish_bundle(self) -> None:
        self._file.sync()
        if self._file.due():
            self._roll()

    def _roll(self) -> None:
        if self._file.finish() is not None:
            self._files.inc()

    def teardown(self) -> None:
        if self._file is not None:
            self._roll()


class WriteJsonLines(beam.PTransform):
    """Write each element (one JSON document as bytes, no newline) as a line of
    ``<directory>/<prefix>-<UTC time>-<id>.jsonl``; see the module docstring for guarantees."""

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        prefix: str = "enriched",
        roll_bytes: int = 64 * 1024 * 1024,
        roll_seconds: float = 60.0,
    ) -> None:
        super().__init__()
        if not str(directory).strip():
            raise ValueError("directory: empty; give the directory to write JSON Lines files to")
        if not prefix or "/" in prefix or prefix.startswith("."):
            raise ValueError(f"prefix: {prefix!r}; a file name prefix without '/' or leading '.'")
        if roll_bytes <= 0 or roll_seconds <= 0:
            raise ValueError(f"roll_bytes ({roll_bytes}) and roll_seconds ({roll_seconds}) must be > 0")
        self._args = (os.fspath(directory), prefix, roll_bytes, roll_seconds)

    def expand(self, pcoll):
        return pcoll | "AppendLines" >> beam.ParDo(_WriteLinesFn(*self._args))
