"""Fuzz targets: one module per target, each with ``fuzz_one(data: bytes) -> None``, which
raises (AssertionError or any unexpected exception) on a finding, and ``SEEDS``, example
inputs to start from.

Two drivers run them: ``scripts/fuzz.py --target NAME --seconds N`` (atheris, coverage-
guided, for a bounded time; what it finds is written to fuzz-findings/NAME/), and
``tests/fuzz/test_targets.py`` (hypothesis and the seeds, in every test run). What the
fuzzers found, and what became of it, is in tests/fuzz/README.md.
"""
