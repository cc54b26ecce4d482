"""Peak memory of a command run in a subprocess, as the process itself sees it.

``measured(module, *args)`` is the command line that runs ``python -m module args`` and
prints ``PEAK_RSS_KB=<n>`` as it exits: VmHWM, the high-water mark of the process's own
memory map, which starts afresh at exec. Not wait4's ru_maxrss: Linux carries the parent's
peak into a child started with vfork (seen: 300-430 MB of pytest's own, for a pipeline
whose peak was 287 MB). ``peak_mb(output)`` reads the figure back.
"""

from __future__ import annotations

import re
import sys

_SCRIPT = """
import atexit, re, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        kb = re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)
    print(f"PEAK_RSS_KB={kb}", flush=True)
atexit.register(peak)
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
"""
_PEAK = re.compile(r"^PEAK_RSS_KB=(\d+)$", re.MULTILINE)


def measured(module: str, *args: str) -> list[str]:
    return [sys.executable, "-c", _SCRIPT, module, *args]


def peak_mb(output: str) -> float:
    found = _PEAK.search(output)
    assert found, f"no peak RSS reported:\n{output[-3000:]}"
    return int(found.group(1)) / 1024
