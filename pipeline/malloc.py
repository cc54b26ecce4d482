"""glibc's allocator told to give large blocks back, for processes that carry big records.

glibc raises its mmap threshold each time a large block is freed (up to 32 MB): after one
10 MB record, every later block under 10 MB comes from the heaps, which fragment and seldom
shrink, and each thread that allocates may get a heap (an arena) of its own. A fixed
threshold of 1 MiB (fixing it turns the raising off: such blocks are mapped and unmapped on
their own) and two arenas. Peak RSS, before → after: `python -m pipeline.enrich --bounded`
with the poison records of tests/pipeline/enrich/test_poison_records.py (a 10 MB value, a
3 MB story, ...) 301 → 278-291 MB; `newswire ingest --once` with five decompression
bombs (tests/pipeline/reader/test_hostile.py) 207 → 163 MB. Set before the threads start
(they take their arenas then). Nothing happens where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc's malloc.h
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 1 << 20
ARENAS = 2


def return_large_blocks() -> bool:
    """Set the threshold and the arenas (see above); False where this is not glibc."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False
    done = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and libc.mallopt(_M_ARENA_MAX, ARENAS) == 1
    if not done:
        log.warning("glibc refused mallopt(M_MMAP_THRESHOLD, %d) or mallopt(M_ARENA_MAX, %d); "
                    "large blocks may stay in the heap", MMAP_THRESHOLD, ARENAS)
    return done
