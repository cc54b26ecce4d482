"""The budget of body bytes in flight (pipeline/reader/budget.py): fetches wait when it is
spent, one fetch at a time may go over it, and fetches half-way through their bodies never
wait for each other forever."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.reader.budget import BodyBudget


def test_a_fetch_waits_when_the_budget_and_the_overdraft_are_taken_and_goes_on_when_bytes_come_back(caplog):
    async def scenario():
        budget = BodyBudget(100)
        async with budget.hold("a") as a, budget.hold("b") as b, budget.hold("c") as c:
            await a.reserve(80)
            await b.reserve(50)  # over the budget: b takes the overdraft
            assert (budget.used, budget.waits) == (130, 0)
            waiting = asyncio.create_task(c.reserve(10))
            await asyncio.sleep(0.01)
            assert not waiting.done() and budget.waits == 1
            b.release()  # the overdraft is free again, and 50 bytes with it
            await asyncio.wait_for(waiting, 1)
            assert (budget.used, c.bytes) == (90, 10)
        assert budget.used == 0  # every hold gave its bytes back on the way out

    asyncio.run(scenario())
    assert "c waits for memory" in caplog.text


def test_fetches_that_all_want_more_than_is_left_all_finish():
    """Eight fetches of 60 bytes, 10 at a time, in a budget of 100: without the overdraft
    they would each hold some and wait for the rest forever."""
    async def fetch(budget: BodyBudget, name: str) -> None:
        async with budget.hold(name) as hold:
            for _ in range(6):
                await hold.reserve(10)
                await asyncio.sleep(0)
            assert hold.bytes == 60

    async def scenario():
        budget = BodyBudget(100)
        await asyncio.wait_for(asyncio.gather(*(fetch(budget, str(i)) for i in range(8))), 5)
        assert budget.used == 0 and budget.waits > 0
        assert budget.peak <= 100 + 60  # the budget, and one fetch over it

    asyncio.run(scenario())


def test_a_cancelled_fetch_gives_its_bytes_back():
    async def scenario():
        budget = BodyBudget(10)

        async def greedy():
            async with budget.hold("greedy") as hold:
                await hold.reserve(10)
                await hold.reserve(5)  # the overdraft
                await asyncio.sleep(60)

        task = asyncio.create_task(greedy())
        await asyncio.sleep(0.01)
        assert budget.used == 15
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert budget.used == 0 and budget._overdraft is None

    asyncio.run(scenario())


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError, match="body budget"):
        BodyBudget(0)
