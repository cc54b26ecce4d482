"""Fuzz the feed reader's parser path for a bounded time: bytes + response headers → decoded
body (Content-Encoding, size limit) → parse_feed → encoded raw story records.

    python scripts/fuzz.py --seconds 60            # atheris (coverage-guided, libFuzzer)
    python scripts/fuzz.py --seconds 60 --corpus DIR   # keep the grown corpus between runs

The seeds are the reader's fixture feeds and the bundled sample feeds. What must hold for
every input is tests/pipeline/reader/fuzzcheck.py (a failure is a crash: the input is written
to --artifacts and the exit status is 1). The hypothesis side of the fuzzing runs with the
tests (tests/pipeline/reader/test_fuzz_parse.py). Needs the `fuzz` extra (atheris).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

with atheris.instrument_imports():
    import feedparser  # noqa: F401 - instrumented for coverage
    import feedparser_sgmllib  # noqa: F401 - instrumented for coverage

    from pipeline.reader import body, parse, safety  # noqa: F401 - instrumented for coverage
from tests.pipeline.reader.fuzzcheck import CONTENT_TYPES, check_one

SEEDS = [REPO / "tests" / "pipeline" / "reader" / "fixtures", REPO / "pipeline" / "data" / "sample_feeds"]
CODINGS = ["", "identity", "gzip", "deflate", "gzip, gzip", "zstd", "br"]


def test_one_input(raw: bytes) -> None:
    provider = atheris.FuzzedDataProvider(raw)
    content_type = CONTENT_TYPES[provider.ConsumeIntInRange(0, len(CONTENT_TYPES) - 1)]
    coding = CODINGS[provider.ConsumeIntInRange(0, len(CODINGS) - 1)]
    max_entries = provider.ConsumeIntInRange(1, 50)
    check_one(provider.ConsumeBytes(provider.remaining_bytes()), content_type, coding, max_entries)


def seed_corpus(directory: Path) -> None:
    """Seeds in the form test_one_input reads: 3 bytes of choices, then the document."""
    for folder in SEEDS:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                (directory / path.name).write_bytes(b"\x00\x00\x14" + path.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="how long to fuzz (default: %(default)s)")
    parser.add_argument("--corpus", type=Path, help="corpus folder to grow and reuse (default: a temporary one)")
    parser.add_argument("--artifacts", type=Path, default=Path("fuzz-artifacts"),
                        help="where failing inputs are written (default: %(default)s)")
    parser.add_argument("--max-len", type=int, default=64 * 1024, help="longest input tried (default: %(default)s)")
    args = parser.parse_args()
    if args.seconds < 1:
        parser.error("--seconds must be >= 1")
    args.artifacts.mkdir(parents=True, exist_ok=True)
    scratch = None
    corpus = args.corpus
    if corpus is None:
        scratch = tempfile.mkdtemp(prefix="newswire-fuzz-")
        corpus = Path(scratch)
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        seed_corpus(corpus)
    libfuzzer = [sys.argv[0], f"-max_total_time={args.seconds}", f"-max_len={args.max_len}",
                 f"-artifact_prefix={args.artifacts}/", "-rss_limit_mb=1024", "-timeout=20", str(corpus)]
    try:
        atheris.Setup(libfuzzer, test_one_input)
        atheris.Fuzz()  # exits the process: 0 when the time is up, non-zero on a finding
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
