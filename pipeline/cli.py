"""The `newswire` command: one subcommand per module in pipeline/commands/.

A command module exposes ``HELP`` (one line for the listing), optionally ``DESCRIPTION``
(its --help text), ``configure(parser)`` and ``main(args) -> int`` (the exit status). A
command that hands unknown options on (``newswire enrich`` passes Beam's own options to
Beam) sets ``parser.set_defaults(accepts_extra=True)`` and finds them in ``args.extra``.

Only the module of the command run is imported (all of them for the listing, ``--help`` or
an unknown command): the pipeline's commands import Apache Beam, ~100 MB that the reader
(``newswire ingest``: 176 MB → 72 MB after its imports) has no use for.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable, Sequence

from pipeline import __version__
from pipeline.kafka_clients import EXIT_KAFKA_UNAVAILABLE, KafkaUnavailable, use_security
from pipeline.kafka_security import ENV_CONFIG_FILE, client_settings
from pipeline.logging_setup import LOG_FORMATS, configure_logging

# Subcommand name → module in pipeline/commands exposing HELP, configure(parser), main(args).
COMMANDS = {
    "broker": "pipeline.commands.broker",
    "extract": "pipeline.commands.extract",
    "ingest": "pipeline.commands.ingest",
    "feeds": "pipeline.commands.feeds",
    "enrich": "pipeline.commands.enrich",
    "replay": "pipeline.commands.replay",
    "run": "pipeline.commands.run",
    "tail": "pipeline.commands.tail",
    "topics": "pipeline.commands.topics",
}


def build_parser(commands: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """The parser of the ``commands`` named (all by default)."""
    parser = argparse.ArgumentParser(
        prog="newswire",
        description="Streaming news ingestion: wire feeds → Kafka → Apache Beam enrichment "
        "(clean text, dateline, attribution) → enriched Kafka topic and files.",
    )
    _global_options(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        module = importlib.import_module(COMMANDS[name])
        sub = subparsers.add_parser(
            name, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP)
        )
        module.configure(sub)
        sub.set_defaults(_main=module.main, _parser=sub)
    return parser


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"newswire {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log verbosity (default: %(default)s)",
    )
    parser.add_argument(
        "--log-format", default="text", choices=LOG_FORMATS,
        help="text for people, json (one object per line, with feed/story_id/topic/partition/"
        "offset fields) for log shippers (default: %(default)s)",
    )
    parser.add_argument(
        "--kafka-config", metavar="FILE",
        help="Kafka client properties for a secured cluster (security.protocol, sasl.*, ssl.*; "
        f"see README); default ${ENV_CONFIG_FILE}. NEWSWIRE_KAFKA_<NAME> variables override it",
    )


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs (the first word after the global options), if it is one."""
    options = argparse.ArgumentParser(add_help=False)
    _global_options(options)
    _, rest = options.parse_known_args(argv)
    return rest[0] if rest and rest[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging("WARNING")  # quiet while the command modules import Beam, which logs
    argv = sys.argv[1:] if argv is None else argv
    command = command_named(argv)
    args, extra = build_parser([command] if command else COMMANDS).parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        args._parser.error(f"unrecognized arguments: {' '.join(extra)}")  # its own usage
    args.extra = extra
    configure_logging(args.log_level, args.log_format)
    try:
        use_security(client_settings(args.kafka_config, os.environ), args.kafka_config)
    except ValueError as exc:
        print(f"newswire: {exc}", file=sys.stderr)
        return 2
    try:
        return args._main(args)
    except KafkaUnavailable as exc:
        print(f"newswire {args.command}: {exc}", file=sys.stderr)
        return EXIT_KAFKA_UNAVAILABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
