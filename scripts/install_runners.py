"""Install the runners the pipeline tests and benchmarks use, without downloads at run time;
print where each is. Idempotent and cached: a second run takes a second.

    .venv/bin/python -m scripts.install_runners prism     # Prism for the installed apache-beam
    .venv/bin/python -m scripts.install_runners flink     # Beam's Flink job server

prism: built from the Go module proxy (needs Go >= 1.26; ~3 minutes the first time) into
~/.cache/newswire/prism/; use it with --runner PrismRunner --prism_location PATH. With
--for-direct-runner it is also placed in Beam's own cache (~/.apache_beam/cache/prism/bin/)
under the release zip's name, so the DirectRunner (`make run`) runs on Prism as it does
for a user with internet.

flink: Beam's Flink job server with an embedded Flink, assembled with Maven from its Maven
Central jars (needs Maven and Java 17; ~4 minutes the first time) into
~/.cache/newswire/flink/; use it with --runner FlinkRunner --flink_master [local]
--flink_job_server_jar PATH.
"""

from __future__ import annotations

import argparse
import sys

from pipeline import runners


def _prism(args: argparse.Namespace) -> str:
    binary = runners.install_prism()
    if args.for_direct_runner:
        return f"{binary}\nprism for the DirectRunner: {runners.offer_to_direct_runner(binary)}"
    return str(binary)


INSTALLERS = {"prism": _prism, "flink": lambda args: str(runners.install_flink_job_server())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runner", nargs="+", choices=sorted(INSTALLERS))
    parser.add_argument(
        "--for-direct-runner", action="store_true",
        help="also place Prism in Beam's cache, where the DirectRunner looks for it",
    )
    args = parser.parse_args(argv)
    for name in args.runner:
        try:
            print(f"{name}: {INSTALLERS[name](args)}")
        except (RuntimeError, ValueError) as exc:
            print(f"install_runners: {name}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
