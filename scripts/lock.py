"""Write the lock (constraints.txt) from a virtual environment, or compare one with it.

    python scripts/lock.py write VENV constraints.txt   # `make lock`
    python scripts/lock.py diff VENV constraints.txt    # `make test-latest`: what is newer

The lock pins every distribution installed in VENV (pip, setuptools and wheel included, since
pip builds newswire itself with them) except newswire. `make install` applies it to every pip
call through PIP_CONSTRAINT, so a fresh machine gets exactly these versions whatever was
released since; setup.py keeps the compatible ranges for those who use newswire as a library.
"""

import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

HEADER = """\
# The lock: exact versions of every package `make install` (and so `make run`, `make test`,
# .ci/run) installs. Made by `make lock` from the newest versions setup.py allows, on
# CPython {python} ({machine}), {date}. Edit setup.py, not this file, then run `make lock`.
"""


def frozen(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze", "--all", "--exclude-editable"],
        check=True, capture_output=True, text=True,
    ).stdout
    pins = {}
    for line in out.splitlines():
        name, sep, version = line.partition("==")
        if sep and name.lower() != "newswire":
            pins[name] = version
    return pins


def read_lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text("utf-8").splitlines():
        name, sep, version = line.partition("==")
        if sep and not line.startswith("#"):
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def write(venv: Path, lock: Path) -> None:
    pins = frozen(venv)
    header = HEADER.format(
        python=platform.python_version(), machine=platform.machine(),
        date=datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    )
    body = "".join(f"{name}=={pins[name]}\n" for name in sorted(pins, key=str.lower))
    lock.write_text(header + body, "utf-8")
    print(f"{lock}: {len(pins)} packages")


def diff(venv: Path, lock: Path) -> None:
    locked = read_lock(lock)
    newest = {name.lower().replace("_", "-"): v for name, v in frozen(venv).items()}
    changed = [
        f"  {name}: {locked.get(name, '(not in the lock)')} -> {version}"
        for name, version in sorted(newest.items())
        if locked.get(name) != version
    ]
    if changed:
        print(f"Newest versions that differ from {lock} ({len(changed)}):", *changed, sep="\n")
    else:
        print(f"The newest versions setup.py allows are those of {lock}.")


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("write", "diff"):
        sys.exit(__doc__)
    {"write": write, "diff": diff}[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]))
