"""Where the tests find a Prism binary (Beam's portable local runner, what the DirectRunner
runs for a user with internet): $NEWSWIRE_PRISM_BIN, else ~/go/bin/prism, where
`go install github.com/apache/beam/sdks/v2/go/cmd/prism@v<beam version>` puts it. Tests that
need it are skipped, saying so, when there is none."""

from __future__ import annotations

import os

import pytest


def prism_location() -> str:
    """The Prism binary for ``--prism_location``; skips the calling test without one."""
    path = os.environ.get("NEWSWIRE_PRISM_BIN") or os.path.expanduser("~/go/bin/prism")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no Prism binary at {path} (set NEWSWIRE_PRISM_BIN or `go install "
                    "github.com/apache/beam/sdks/v2/go/cmd/prism@v<beam version>`)")
    return path
