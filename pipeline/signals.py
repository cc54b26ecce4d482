"""Stop a long-running command cleanly on Ctrl-C (SIGINT) or SIGTERM.

``with stop_on_signals() as stop:`` installs handlers that set the ``threading.Event``
``stop`` instead of raising in the middle of whatever the loop was doing; the loop checks
it, finishes its step and cleans up. The previous handlers come back on exit. A second
signal while stopping raises KeyboardInterrupt, so a hung cleanup can still be broken.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be installed from the main thread
        return

    def handle(signum, _frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
