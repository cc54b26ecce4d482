"""Instructions per story of each extraction stage: a figure that does not move with load.

Wall-clock rates on a shared machine drift by 20% or more between runs; instruction counts
from valgrind do not (within ~0.5% with a fixed hash seed and the cyclic collector off while
counting). Use this to compare two versions of the extractors; use extract_bench.py for
stories/s.

Each stage runs over the first N stories of extract_bench.py (seed 1) in a child process
under ``valgrind --tool=callgrind``, once with N stories and once with none; the difference,
divided by N, is the stage's own cost (imports, data loading and the stage's inputs are the
same in both runs).

    .venv/bin/python benchmarks/extract_instructions.py [--stories 300] [--stage clean ...]

Needs valgrind on the PATH. About 90 s per stage for 300 stories.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("clean", "dateline", "attribution", "all")
_COLLECTED = re.compile(r"Collected : (\d+)")


def run_stage(stage: str, prepared: int, count: int) -> None:
    """In the child: prepare the stage's inputs for ``prepared`` stories (the same in both
    runs), then run the stage over the first ``count`` of them."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.extract_bench import load_cases, stories
    from transforms.extract import attribution_step, clean_step, dateline_step, load_data

    load_data()
    works = [{"html": page, "published_at": published_at}
             for page, published_at in stories(load_cases(), max(prepared, 20), 1)]
    for work in works[:20]:  # compiled patterns and lazily built tables, as in any run
        attribution_step(dateline_step(clean_step(work)))
    if stage in ("dateline", "attribution"):
        works = [clean_step(w) for w in works]
    if stage == "attribution":
        works = [dateline_step(w) for w in works]
    step = {"clean": clean_step, "dateline": dateline_step, "attribution": attribution_step,
            "all": lambda w: attribution_step(dateline_step(clean_step(w)))}[stage]
    gc.collect()
    gc.disable()  # a collection lands in whichever run allocates past a threshold
    for work in works[:count]:
        step(work)


def instructions(stage: str, prepared: int, count: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--child", stage, str(prepared), str(count)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"valgrind run of {stage} ({count} stories) failed "
                           f"({done.returncode}): {done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=300, help="stories per stage (default: %(default)s)")
    parser.add_argument("--stage", choices=STAGES, action="append",
                        help="stage to count (repeatable; default: clean, dateline, attribution)")
    parser.add_argument("--child", nargs=3, metavar=("STAGE", "PREPARED", "COUNT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_stage(args.child[0], int(args.child[1]), int(args.child[2]))
        return 0
    if args.stories < 1:
        parser.error(f"--stories {args.stories}: must be at least 1")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not on the PATH; install it (e.g. apt-get install valgrind)")
    stages = args.stage or ["clean", "dateline", "attribution"]
    print(f"instructions per story, {args.stories} stories of extract_bench.py (seed 1), "
          f"Python {sys.version.split()[0]}")
    for stage in stages:
        n = args.stories
        per_story = (instructions(stage, n, n) - instructions(stage, n, 0)) / n
        print(f"  {stage:<12}{per_story:>14,.0f}")
    print(f"  reproduce: .venv/bin/python benchmarks/extract_instructions.py --stories {args.stories}"
          + "".join(f" --stage {s}" for s in stages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
