"""Coverage-guided fuzzing of one target of tests/fuzz/ with atheris, for a bounded time.

    .venv/bin/python scripts/fuzz.py --target decode --seconds 60
    .venv/bin/python scripts/fuzz.py --all --seconds 60     # each target in turn (CI)
    .venv/bin/python scripts/fuzz.py --list

A target is a module ``tests/fuzz/<name>.py`` with ``fuzz_one(data: bytes)`` (it raises on
a finding) and ``SEEDS``. atheris (libFuzzer) instruments our packages, starts from the
seeds and mutates towards new coverage. An input that raises, or runs longer than
``--unit-timeout`` seconds, is a finding: libFuzzer writes it to fuzz-findings/<target>/
and the script exits 1 (0 when the time ran out with nothing found). Reproduce a finding
with ``scripts/fuzz.py --target NAME --replay FILE``.

Runs in CI for a bounded time (see README, "Limits and fuzzing"); tests/fuzz/test_targets.py
runs every target on its seeds and on hypothesis-generated input in every test run.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FINDINGS = REPO / "fuzz-findings"


def targets() -> list[str]:
    import tests.fuzz

    return sorted(m.name for m in pkgutil.iter_modules(tests.fuzz.__path__)
                  if not m.name.startswith("test_"))


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="a module of tests/fuzz/ (see --list)")
    parser.add_argument("--all", action="store_true",
                        help="fuzz every target in turn, --seconds each; exit 1 if any found something")
    parser.add_argument("--seconds", type=int, default=60, help="fuzz this long (default 60)")
    parser.add_argument("--unit-timeout", type=int, default=10,
                        help="an input that takes longer is a finding (default 10 s)")
    parser.add_argument("--max-len", type=int, default=8192,
                        help="longest input tried, in bytes (default 8192)")
    parser.add_argument("--replay", type=Path, help="run the target once on this file and exit")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(targets()))
        return 0
    if args.all:
        return _run_all(args)
    if args.target not in targets():
        parser.error(f"--target: {args.target!r} is not one of {', '.join(targets())}")
    if args.seconds < 1 or args.unit_timeout < 1 or args.max_len < 1:
        parser.error("--seconds, --unit-timeout and --max-len must be positive")

    try:
        import atheris
    except ImportError:
        print("scripts/fuzz.py needs atheris: .venv/bin/pip install 'newswire[fuzz]' "
              "(or 'atheris>=3.0,<4')", file=sys.stderr)
        return 2

    with atheris.instrument_imports(include=["schemas", "transforms", "pipeline"]):
        target = importlib.import_module(f"tests.fuzz.{args.target}")
    if args.replay is not None:
        target.fuzz_one(args.replay.read_bytes())
        print(f"{args.replay}: no finding")
        return 0

    findings = FINDINGS / args.target
    findings.mkdir(parents=True, exist_ok=True)
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-"))
    for i, seed in enumerate(target.SEEDS):
        corpus.joinpath(f"seed-{i}").write_bytes(seed)
    libfuzzer = [
        sys.argv[0], str(corpus), f"-max_total_time={args.seconds}",
        f"-timeout={args.unit_timeout}", f"-max_len={args.max_len}",
        f"-artifact_prefix={findings}/", "-print_final_stats=1", "-rss_limit_mb=2048",
    ]
    print(f"fuzzing {args.target} for {args.seconds} s; findings go to {findings}/", flush=True)
    atheris.Setup(libfuzzer, target.fuzz_one)
    atheris.Fuzz()  # exits the process: 0 when the time ran out, non-zero on a finding
    return 0


def _run_all(args: argparse.Namespace) -> int:
    """Each target in its own process (libFuzzer ends the process it runs in)."""
    failed = []
    for name in targets():
        status = subprocess.call([
            sys.executable, __file__, "--target", name, "--seconds", str(args.seconds),
            "--unit-timeout", str(args.unit_timeout), "--max-len", str(args.max_len),
        ])
        if status != 0:
            failed.append(f"{name} (exit status {status})")
    print(f"fuzzed {', '.join(targets())} for {args.seconds} s each: "
          + (f"findings in {', '.join(failed)}; see {FINDINGS}/" if failed else "nothing found"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
