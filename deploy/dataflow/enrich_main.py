"""Dataflow Flex Template entry point: `newswire enrich` with the template's parameters.

The template launcher runs this file with each parameter as ``--name=value``, named as in
metadata.json. Parameter names there use underscores (``bootstrap_servers``), while
`newswire enrich` spells its own options with hyphens (``--bootstrap-servers``); those are
translated here. Beam's options (``--runner``, ``--project``, ``--sdk_container_image``...)
keep their underscores and pass through unchanged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pipeline.cli import build_parser, main


def enrich_options() -> set[str]:
    """The option strings of `newswire enrich` (ours, not Beam's)."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and "enrich" in action.choices:
            enrich = action.choices["enrich"]
            return {flag for sub in enrich._actions for flag in sub.option_strings}
    raise RuntimeError("`newswire enrich` is not a subcommand of pipeline/cli.py (COMMANDS)")


def enrich_argv(argv: Sequence[str]) -> list[str]:
    """``["--bootstrap_servers=k:9092", "--runner=DataflowRunner"]`` →
    ``["enrich", "--bootstrap-servers=k:9092", "--runner=DataflowRunner"]``."""
    ours = enrich_options()
    translated = []
    for arg in argv:
        flag, equals, value = arg.partition("=")
        hyphenated = flag.replace("_", "-")
        if flag.startswith("--") and flag not in ours and hyphenated in ours:
            arg = f"{hyphenated}{equals}{value}"
        translated.append(arg)
    return ["enrich", *translated]


if __name__ == "__main__":
    sys.exit(main(enrich_argv(sys.argv[1:])))
