"""`newswire enrich`: run the Beam enrichment pipeline (see pipeline/enrich/)."""

from __future__ import annotations

import argparse

from apache_beam.options.pipeline_options import PipelineOptions

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


def main(args: argparse.Namespace) -> int:
    from pipeline.enrich.launch import run_with  # Beam pipeline and extractors: load only to run

    ours = {dest: getattr(args, dest) for dest in option_dests()}
    options = PipelineOptions(list(getattr(args, "extra", None) or []), **ours)
    return run_with(options)
