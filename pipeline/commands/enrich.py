"""`newswire enrich`: run the Beam enrichment pipeline (see pipeline/enrich/)."""

from __future__ import annotations

import argparse
import difflib
import sys

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from pipeline.enrich.options import NewswireOptions, option_dests

HELP = "run the Beam pipeline: raw stories → enriched topic, JSON Lines files, dead letters"
EPILOG = (
    "Apache Beam's own options pass through unchanged, e.g. --runner FlinkRunner "
    "--flink_master HOST:PORT, --runner DataflowRunner --project P --region R "
    "--temp_location gs://..., --streaming, --setup_file ./setup.py. The default runner is "
    "Beam's DirectRunner; --streaming is set for continuous mode. Continuous mode runs until "
    "SIGTERM or Ctrl-C; offsets are committed "
    "only for records whose outputs are durable, so a restart resumes without loss."
)


def configure(parser: argparse.ArgumentParser) -> None:
    NewswireOptions._add_argparse_args(parser)
    parser.epilog = EPILOG
    parser.set_defaults(accepts_extra=True)  # Beam's options, handed to PipelineOptions


def unknown_options(extra: list[str]) -> list[str]:
    """What in ``extra`` no PipelineOptions class defines (Beam would only warn and run
    without it), each with the closest known option when there is one."""
    parser = _BeamArgumentParser(allow_abbrev=False)  # as PipelineOptions parses them
    for cls in {str(cls): cls for cls in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)
    _, unknown = parser.parse_known_args(extra)
    known = [flag for action in parser._actions for flag in action.option_strings]
    problems = []
    for i, arg in enumerate(unknown):
        name = arg.split("=", 1)[0]
        if not name.startswith("-"):
            if i == 0 or not unknown[i - 1].startswith("-"):  # not an unknown option's value
                problems.append(f"unexpected argument {arg!r}")
            continue
        close = difflib.get_close_matches(name, known, n=1)
        problems.append(f"unknown option {name}" + (f" (did you mean {close[0]}?)" if close else ""))
    return problems


def main(args: argparse.Namespace) -> int:
    extra = list(getattr(args, "extra", None) or [])
    problems = unknown_options(extra)
    if problems:
        for problem in problems:
            print(f"newswire enrich: error: {problem}", file=sys.stderr)
        print("newswire enrich: neither newswire (newswire enrich --help) nor Apache Beam "
              "defines these; nothing was run", file=sys.stderr)
        return 2
    from pipeline.enrich.launch import run_with  # Beam pipeline and extractors: load only to run

    ours = {dest: getattr(args, dest) for dest in option_dests()}
    options = PipelineOptions(extra, **ours)
    return run_with(options)
