"""Poll intervals, backoff, and the dispatcher's concurrency limits (no network needed)."""

from __future__ import annotations

import asyncio
import random

import pytest

from pipeline.reader.options import ReaderOptions
from pipeline.reader.schedule import (
    Dispatcher,
    backoff_delay,
    is_failing,
    poll_interval,
)

OPTIONS = ReaderOptions(interval=900, min_interval=300, max_interval=6 * 3600, max_backoff=6 * 3600,
                        failing_after=5, retry_after_cap=86400)


@pytest.mark.parametrize("hint, interval", [(None, 900), (60, 300), (1800, 1800), (86400, 21600)])
def test_feed_hints_are_clamped(hint, interval):
    assert poll_interval(hint, OPTIONS) == interval


def test_backoff_grows_with_jitter_up_to_the_cap():
    rng = random.Random(7)
    for errors, base in [(1, 900), (2, 1800), (3, 3600), (4, 7200), (5, 21600), (9, 21600)]:
        delays = [backoff_delay(errors, 900, OPTIONS, rng=rng) for _ in range(200)]
        assert base * 0.5 <= min(delays) and max(delays) <= base
        assert max(delays) - min(delays) > base * 0.3  # jittered, not synchronised
    assert not is_failing(4, OPTIONS) and is_failing(5, OPTIONS)


def test_retry_after_is_honoured_and_capped():
    assert backoff_delay(1, 900, OPTIONS, retry_after=7200) == 7200
    assert backoff_delay(1, 900, OPTIONS, retry_after=10 * 86400) == 86400
    assert backoff_delay(3, 900, OPTIONS, retry_after=1, rng=random.Random(1)) >= 1800


@pytest.mark.parametrize("bad, message", [
    ({"interval": 0}, "interval: 0 must be a number of seconds > 0"),
    ({"interval": 100}, "interval \\(100\\) must lie within min_interval"),
    ({"per_host": 0}, "per_host: 0 must be an integer >= 1"),
    ({"user_agent": " "}, "user_agent: empty"),
])
def test_options_are_checked(bad, message):
    with pytest.raises(ValueError, match=message):
        ReaderOptions(**bad)


def test_dispatcher_limits_per_host_and_a_slow_host_never_stalls_the_others():
    options = ReaderOptions(max_concurrency=4, per_host=2)
    finished: list[int] = []
    running: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def scenario():
        release = asyncio.Event()

        async def poll(feed_id: int) -> None:
            host = "slow" if feed_id < 100 else "fast"
            running[host] = running.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), running[host])
            if host == "slow":
                await release.wait()
            else:
                await asyncio.sleep(0.001)
            running[host] -= 1
            finished.append(feed_id)

        dispatcher = Dispatcher(poll, options)
        dispatcher.add([(i, f"https://slow.example.com/{i}") for i in range(10)])
        dispatcher.add([(100 + i, f"https://fast.example.org/{i}") for i in range(20)])
        assert dispatcher.add([(0, "https://slow.example.com/0")]) == 0  # already queued
        while len([f for f in finished if f >= 100]) < 20:
            await dispatcher.wait(1.0)
        assert not [f for f in finished if f < 100]  # the slow host is still stuck...
        release.set()  # ...and every fast feed went through meanwhile
        await dispatcher.drain()

    asyncio.run(asyncio.wait_for(scenario(), 10))
    assert peak == {"slow": 2, "fast": 2}
    assert sorted(finished) == list(range(10)) + list(range(100, 120))
