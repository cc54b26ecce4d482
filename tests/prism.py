"""Where the tests find a Prism binary (Beam's portable local runner, what the DirectRunner
runs for a user with internet): $NEWSWIRE_PRISM_BIN, else the Prism of the installed
apache-beam, which pipeline.runners.install_prism builds from the Go module proxy if it is
not there yet (scripts/install_runners.py; ~3.5 minutes the first time on a machine)."""

from __future__ import annotations

import os

from pipeline import runners


def prism_location() -> str:
    """The Prism binary for ``--prism_location`` (built if missing)."""
    return os.environ.get("NEWSWIRE_PRISM_BIN") or str(runners.install_prism())
