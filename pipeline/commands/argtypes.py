"""argparse ``type=`` converters shared by the commands; each error names the bad value and
what is accepted."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number >= 1")
    return int(text)


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds > 0")
    return value


def tcp_port(text: str) -> int:
    """A TCP port, 0 meaning any free one."""
    if not text.strip().isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TCP port (1-65535, or 0 for any free port)")
    return int(text)
