"""Beam's runners without downloads at run time: Prism built from the Go module proxy, and
a Flink job server assembled from Maven Central.

Beam's DirectRunner runs a pipeline on **Prism** first, a runner binary it downloads from
the Beam GitHub release (``apache_beam-v<version>-prism-<os>-<arch>.zip``) into
``~/.apache_beam/cache/prism/bin/``, and reuses when the zip is already there. Machines that
reach only package registries cannot download it, so the DirectRunner falls back to the
FnApiRunner.

- :func:`install_prism` builds the Prism of the installed apache-beam from the Go module
  proxy into newswire's cache (``~/.cache/newswire/prism``); give it to Beam with
  ``--runner PrismRunner --prism_location PATH``. Idempotent: once built, it returns at once.
- :func:`offer_to_direct_runner` puts that binary where the download would have gone (the
  release zip, and the binary unpacked next to it), so the DirectRunner and
  ``--runner PrismRunner`` without ``--prism_location`` find it as they would on a machine
  with internet. That changes what every DirectRunner pipeline of this user runs on, so it
  is a separate, explicit step.

- :func:`install_flink_job_server` assembles Beam's Flink job server (with an embedded
  Flink) from its Maven Central jars; give it with ``--runner FlinkRunner --flink_master
  [local] --flink_job_server_jar PATH``. :func:`prepare_options` sets what our pipeline
  needs on Flink (streaming with checkpoints: offsets are committed after a checkpoint).

    .venv/bin/python -m scripts.install_runners prism [--for-direct-runner]
    .venv/bin/python -m scripts.install_runners flink
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.portability.prism_runner import PrismJobServer
from apache_beam.version import __version__ as BEAM_VERSION

PRISM_PACKAGE = "github.com/apache/beam/sdks/v2/go/cmd/prism"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "newswire"
PRISM_CACHE = CACHE / "prism"


def _release(version: str) -> str:
    if any(tag in version for tag in ("rc", "dev")) or version.count(".") != 2:
        raise ValueError(
            f"apache-beam {version}: Prism is built for released Beam versions only "
            "(x.y.z); install a release of apache-beam or pass --prism_location yourself"
        )
    return version


def prism_release_name(version: str = BEAM_VERSION) -> str:
    """Name of the release zip the DirectRunner looks for, without ``.zip``
    (``apache_beam-v2.78.0-prism-linux-amd64``), as Beam builds it for this machine."""
    tag = "v" + _release(version)
    url = PrismJobServer._construct_download_url(tag, tag, platform.system(), platform.machine())
    return url.rsplit("/", 1)[1].removesuffix(".zip")


def install_prism(version: str = BEAM_VERSION, cache: Path = PRISM_CACHE) -> Path:
    """Build Prism ``version`` with ``go install`` (module proxy) unless ``cache`` has it;
    return the binary. Takes ~3 minutes the first time (Go's own caches make a rebuild
    quick); raises RuntimeError saying what to install if Go is missing or the build fails."""
    binary = cache / prism_release_name(version)
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(
            "Prism: `go` is not on PATH. Install Go (>= 1.26, https://go.dev/doc/install) to "
            f"build Prism {version} from the Go module proxy, or download "
            f"{prism_release_name(version)}.zip from the Beam release into {cache}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as gobin:
        build = subprocess.run(
            [go, "install", f"{PRISM_PACKAGE}@v{version}"],
            env={**os.environ, "GOBIN": gobin}, capture_output=True, text=True, check=False,
        )
        if build.returncode != 0:
            raise RuntimeError(
                f"Prism: `go install {PRISM_PACKAGE}@v{version}` failed "
                f"(exit {build.returncode}):\n{build.stdout}{build.stderr}"
            )
        built = Path(gobin) / "prism"
        built.chmod(0o755)
        os.replace(built, binary)  # atomic: a concurrent caller sees all of it or nothing
    return binary


def offer_to_direct_runner(
    binary: Path, version: str = BEAM_VERSION, cache: Path = Path(PrismJobServer.BIN_CACHE)
) -> Path:
    """Place ``binary`` in Beam's Prism cache as the release of ``version`` would be after
    its first download: ``<name>.zip`` (holding the binary under ``<name>``, as the release
    zip does) and ``<name>`` unpacked next to it. Return the path Beam will run."""
    name = prism_release_name(version)
    target, archive = cache / name, cache / f"{name}.zip"
    if target.is_file() and archive.is_file() and target.stat().st_size == binary.stat().st_size:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".place-") as staging:
        # Stored, not deflated: ~70 MB written in well under a second.
        zipped = Path(staging) / archive.name
        with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_STORED) as release:
            release.write(binary, arcname=name)
        copied = Path(staging) / name
        shutil.copy2(binary, copied)
        os.replace(copied, target)
        os.replace(zipped, archive)
    return target


# The Flink job server. Beam publishes it as one shaded jar
# (beam-runners-flink-<flink>-job-server), which Maven Central does not serve for any recent
# release; its parts are served for fewer versions than the SDK (beam-runners-java-job-service
# stops at 2.65.0, beam-runners-flink-1.19 lists 2.62.0 and 2.70.0). 2.62.0 is the newest
# Beam whose parts all resolve, and it runs pipelines of the Python SDK 2.77 and 2.78
# (tests/pipeline/enrich/ prove it). Flink 1.19 runs on Java 17.
FLINK_VERSION = "1.19"
FLINK_JOB_SERVER_BEAM_VERSION = "2.62.0"
FLINK_JOB_SERVER_MAIN = "org.apache.beam.runners.flink.FlinkJobServerDriver"
FLINK_CACHE = CACHE / "flink"
_SLF4J_SIMPLE = ("org.slf4j", "slf4j-simple", "1.7.30")  # the slf4j-api 1.7.30 Beam brings
_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>newswire</groupId><artifactId>flink-job-server</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.beam</groupId><artifactId>beam-runners-flink-{flink}</artifactId><version>{beam}</version></dependency>
    <dependency><groupId>{0}</groupId><artifactId>{1}</artifactId><version>{2}</version></dependency>
  </dependencies>
</project>
"""
# Flink's own logs at WARN: the job server's output becomes Python log lines.
_LOGGER_PROPERTIES = b"org.slf4j.simpleLogger.defaultLogLevel=warn\n"


def _manifest(main_class: str, class_path: list[str]) -> bytes:
    """A jar manifest; long lines are folded at 72 bytes as the jar format requires."""
    lines = ["Manifest-Version: 1.0", f"Main-Class: {main_class}", "Class-Path: " + " ".join(class_path)]
    folded = []
    for line in lines:
        folded.append(line[:72])
        folded.extend(" " + line[i:i + 71] for i in range(72, len(line), 71))
    return ("\r\n".join(folded) + "\r\n").encode("ascii")


def install_flink_job_server(cache: Path = FLINK_CACHE) -> Path:
    """Assemble Beam's Flink job server from Maven Central (``mvn dependency:copy-dependencies``
    of beam-runners-flink-<flink>) unless ``cache`` has it; return a jar to give as
    ``--flink_job_server_jar``: it holds only a manifest naming the job server's main class
    and the jars next to it. ~4 minutes and ~200 MB the first time (Maven's own cache,
    ~/.m2, makes a rebuild quick); raises RuntimeError if Maven is missing or fails."""
    home = cache / f"beam-runners-flink-{FLINK_VERSION}-job-server-{FLINK_JOB_SERVER_BEAM_VERSION}"
    jar = home / "job-server.jar"
    if jar.is_file():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            "Flink job server: `mvn` is not on PATH; install Maven (and Java 17) to assemble it "
            "from Maven Central"
        )
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=cache, prefix=".build-"))
    try:
        (staging / "pom.xml").write_text(
            _POM.format(*_SLF4J_SIMPLE, flink=FLINK_VERSION, beam=FLINK_JOB_SERVER_BEAM_VERSION)
        )
        build = subprocess.run(
            [mvn, "-q", "-B", "dependency:copy-dependencies", "-DoutputDirectory=lib"],
            cwd=staging, capture_output=True, text=True, check=False,
        )
        if build.returncode != 0:
            raise RuntimeError(
                f"Flink job server: `mvn dependency:copy-dependencies` of "
                f"beam-runners-flink-{FLINK_VERSION}:{FLINK_JOB_SERVER_BEAM_VERSION} failed "
                f"(exit {build.returncode}):\n{build.stdout[-4000:]}{build.stderr[-4000:]}"
            )
        jars = sorted(f"lib/{path.name}" for path in (staging / "lib").glob("*.jar"))
        with zipfile.ZipFile(staging / "job-server.jar", "w") as composite:
            composite.writestr("META-INF/MANIFEST.MF", _manifest(FLINK_JOB_SERVER_MAIN, jars))
            composite.writestr("simplelogger.properties", _LOGGER_PROPERTIES)
        (staging / "pom.xml").unlink()
        os.replace(staging, home)  # the whole directory at once: a half-built one is never used
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return jar


FLINK_CHECKPOINTING_INTERVAL_MS = 1000


class FlinkCheckpointOptions(PipelineOptions):
    """Options of Beam's Flink runner (Java FlinkPipelineOptions) that the Python SDK does not
    declare; declared here so they reach the job server instead of being discarded."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--checkpointing_interval", type=int, default=None,
            help="Flink: milliseconds between checkpoints; Kafka offsets are committed after "
            f"each (newswire's default on Flink: {FLINK_CHECKPOINTING_INTERVAL_MS})",
        )
        parser.add_argument(
            "--shutdown_sources_after_idle_ms", type=int, default=None,
            help="Flink: end a source task this long after it has nothing more to read "
            "(newswire's default on Flink: 0)",
        )



def prepare_options(options: PipelineOptions) -> None:
    """Set what the pipeline needs on the chosen runner; raise ValueError if an option given
    defeats it. On Flink: streaming mode (it finalizes bundles, i.e. commits offsets, only
    there, after each checkpoint), checkpoints every second unless told otherwise, and
    sources that end once idle: the source plans its partitions from an Impulse followed by
    a Reshuffle, and Flink holds a Python Reshuffle's output until the watermark passes,
    which an Impulse task that never ends never lets happen."""
    runner = str(options.view_as(StandardOptions).runner or "").rsplit(".", 1)[-1]
    if runner != "FlinkRunner":
        return
    options.view_as(StandardOptions).streaming = True
    flink = options.view_as(FlinkCheckpointOptions)
    if flink.checkpointing_interval is None:
        flink.checkpointing_interval = FLINK_CHECKPOINTING_INTERVAL_MS
    elif flink.checkpointing_interval <= 0:
        raise ValueError(
            f"--checkpointing_interval: {flink.checkpointing_interval}; on Flink the Kafka "
            "offsets are committed after each checkpoint, so it must be > 0 (milliseconds)"
        )
    if flink.shutdown_sources_after_idle_ms is None:
        flink.shutdown_sources_after_idle_ms = 0


RUNNER_NAMES = ("fnapi", "prism", "flink")


def runner_arguments(name: str, parallelism: int = 2, prism: Path | None = None) -> list[str]:
    """Beam arguments that run a newswire pipeline on this machine on runner ``name``:
    ``fnapi`` (Beam's FnApiRunner), ``prism`` (PrismRunner, the binary of
    :func:`install_prism`) or ``flink`` (FlinkRunner with an embedded Flink of ``parallelism``,
    the job server of :func:`install_flink_job_server`, Python workers in LOOPBACK: in this
    process). Installs what is missing first; ``prism`` is another Prism binary to use."""
    if name == "fnapi":
        return ["--runner", "FnApiRunner"]
    if name == "prism":
        # Beam keeps one Prism per process, started with the options of the first pipeline
        # that needed it: without this, a DirectRunner that tried Prism before would
        # leave one behind that ignores --prism_location.
        return [
            "--runner", "PrismRunner", "--prism_location", str(prism or install_prism()),
            "--experiments", "disable_prism_server_singleton",
        ]
    if name == "flink":
        return [
            "--runner", "FlinkRunner", "--flink_master", "[local]",
            "--flink_job_server_jar", str(install_flink_job_server()),
            "--environment_type", "LOOPBACK", "--parallelism", str(parallelism),
        ]
    raise ValueError(f"runner {name!r}: choose one of {', '.join(RUNNER_NAMES)}")
