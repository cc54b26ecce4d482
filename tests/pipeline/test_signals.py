"""Stopping on Ctrl-C / SIGTERM: the first signal asks the loop to stop, a second breaks it."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipeline.signals import stop_on_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_sets_the_event_a_second_interrupts(signum):
    before = signal.getsignal(signum)
    with stop_on_signals() as stop:
        assert not stop.is_set()
        os.kill(os.getpid(), signum)
        assert stop.wait(5)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signum)
            time.sleep(1)  # the handler runs (and raises) before this returns
    assert signal.getsignal(signum) is before


def test_a_cleared_event_takes_one_more_signal_before_interrupting():
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
        stop.clear()  # `newswire run` does this while it waits for the pipeline to drain
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(5)
