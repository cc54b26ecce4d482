"""The runners the pipeline tests run on: one suite, parameterised by runner (STYLE.md §14).

``pipeline_runner`` gives each test the Beam arguments of a runner:

- ``fnapi``: Beam's FnApiRunner (what the DirectRunner falls back to without Prism);
- ``prism``: ``--runner PrismRunner`` with the Prism binary of the installed apache-beam,
  built from the Go module proxy (pipeline/runners.py; the first session on a machine builds
  it, ~3 minutes: CI runs scripts/install_runners.py first);
- ``direct``: ``--runner DirectRunner`` with that binary in Beam's Prism cache under the
  release zip's name: the path a user with internet gets (the DirectRunner runs Prism
  first). The cache is a directory of the test session (Beam's cache directory is patched
  to it), so the machine's own ~/.apache_beam is left alone. A test on it checks Beam's log
  to prove the pipeline ran on Prism and did not fall back.
- ``flink``: ``--runner FlinkRunner`` with Beam's Flink job server assembled from Maven
  Central (pipeline/runners.py), an embedded Flink (``--flink_master [local]``), Python
  workers in LOOPBACK, parallelism 2; streaming with checkpoints (pipeline.runners
  .prepare_options), which is when Flink commits the Kafka offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from apache_beam.runners.portability.prism_runner import PrismJobServer

from pipeline import runners
from tests.prism import prism_location


@dataclass(frozen=True)
class Runner:
    name: str
    args: tuple[str, ...]


# Runners that accept --dedup-ttl-hours: their event-time timers fire by the watermark (the
# FnApiRunner fires them after every bundle; the DirectRunner may turn out to be it).
WATERMARK_RUNNERS = ("prism", "flink")
# Beam's DirectRunner logs this when it runs a pipeline on Prism, and the others when it
# gives up on Prism (apache_beam/runners/direct/direct_runner.py).
DIRECT_ON_PRISM = "Running pipeline with PrismRunner."
DIRECT_FELL_BACK = ("Falling back to DirectRunner", "falling back to DirectRunner")


@pytest.fixture(scope="session")
def prism_binary() -> Path:
    """The Prism binary of the installed apache-beam (built if missing), or $NEWSWIRE_PRISM_BIN."""
    return Path(prism_location())


@pytest.fixture(scope="session")
def flink_job_server_jar() -> Path:
    """Beam's Flink job server (assembled from Maven Central if missing)."""
    return runners.install_flink_job_server()


@pytest.fixture(scope="session")
def direct_runner_prism_cache(prism_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Beam Prism cache directory holding the release zip, as after a first download."""
    cache = tmp_path_factory.mktemp("apache_beam-cache-prism-bin")
    runners.offer_to_direct_runner(prism_binary, cache=cache)
    return cache


def runner_args(name: str, request: pytest.FixtureRequest) -> Runner:
    """The Runner called ``name``, with what it needs installed (fixtures of ``request``)."""
    if name == "direct":
        cache = request.getfixturevalue("direct_runner_prism_cache")
        request.getfixturevalue("monkeypatch").setattr(PrismJobServer, "BIN_CACHE", str(cache))
        # Its own Prism, found in that cache (Beam keeps one per process otherwise).
        return Runner(name, ("--runner", "DirectRunner", "--experiments", "disable_prism_server_singleton"))
    prism = request.getfixturevalue("prism_binary") if name == "prism" else None
    if name == "flink":  # built once per session, if missing, by the fixture
        request.getfixturevalue("flink_job_server_jar")
    return Runner(name, tuple(runners.runner_arguments(name, parallelism=2, prism=prism)))


# A test on Prism or Flink may first build the runner (3.5 and 4 minutes on a machine that
# never did: scripts/install_runners.py); its timeout leaves room for that.
_BUILDS = pytest.mark.timeout(900)
_RUNNER_PARAMS = {
    "fnapi": pytest.param("fnapi", id="fnapi"),
    "prism": pytest.param("prism", id="prism", marks=_BUILDS),
    "direct": pytest.param("direct", id="direct", marks=_BUILDS),
    "flink": pytest.param("flink", id="flink", marks=_BUILDS),
}


@pytest.fixture(params=[_RUNNER_PARAMS[name] for name in ("fnapi", "prism", "direct", "flink")])
def pipeline_runner(request: pytest.FixtureRequest) -> Runner:
    """Every runner the pipeline is proven on."""
    return runner_args(request.param, request)


@pytest.fixture(params=[_RUNNER_PARAMS[name] for name in WATERMARK_RUNNERS])
def watermark_runner(request: pytest.FixtureRequest) -> Runner:
    """The runners whose event-time timers fire by the watermark (dedup TTL)."""
    return runner_args(request.param, request)
