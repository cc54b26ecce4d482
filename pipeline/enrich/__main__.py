"""`python -m pipeline.enrich [options]`: the pipeline from Beam-style arguments (what
`newswire enrich` runs, without the CLI's own checks)."""

import logging
import sys

from pipeline.enrich.launch import run

logging.basicConfig(
    level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
)
sys.exit(run(sys.argv[1:]))
