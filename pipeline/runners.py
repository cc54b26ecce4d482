"""Beam's runners without downloads at run time: Prism built from the Go module proxy.

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

    .venv/bin/python -m scripts.install_runners prism [--for-direct-runner]
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

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
