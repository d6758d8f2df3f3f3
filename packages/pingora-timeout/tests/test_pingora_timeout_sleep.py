"""`sleep()`: never early, shared slots, cancellation, and Pingora's fast_sleep case."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingora_timeout import Elapsed, sleep, timeout, timeout_scope, wheel_for

LATE = 0.2


@pytest.mark.anyio
@pytest.mark.parametrize("seconds", [0.001, 0.01, 0.015, 0.05])
async def test_never_early_and_not_much_late(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await sleep(seconds)
    took = loop.time() - start
    assert seconds <= took <= seconds + LATE


@pytest.mark.anyio
async def test_sleep_zero_lets_others_run_once() -> None:
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    assert ran == []
    await sleep(0)
    assert ran == ["other"]
    await task
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_cancelled_sleep_leaves_nothing_armed() -> None:
    wheel = wheel_for(asyncio.get_running_loop())
    task = asyncio.create_task(sleep(30))
    await asyncio.sleep(0)
    assert wheel.pending == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wheel.pending == 0


@pytest.mark.anyio
async def test_infinite_sleep_lasts_until_cancelled() -> None:
    with pytest.raises(Elapsed):
        await timeout(0.02, sleep(math.inf))
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_sleep_in_a_scope() -> None:
    with pytest.raises(Elapsed):
        async with timeout_scope(0.02):
            await sleep(10)
    async with timeout_scope(10):
        await sleep(0.01)


def _run_concurrently(durations: list[float]) -> list[tuple[float, float, float]]:
    async def one(seconds: float, how: str) -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        if how == "sleep":
            await sleep(seconds)
        else:
            with pytest.raises(Elapsed):
                await timeout(seconds, asyncio.sleep(1000))
        return seconds, start, loop.time()

    async def main() -> list[tuple[float, float, float]]:
        return await asyncio.gather(
            *(one(seconds, ("sleep", "timeout")[i % 2]) for i, seconds in enumerate(durations))
        )

    return asyncio.run(main())


@settings(max_examples=40)
@given(st.lists(st.floats(min_value=0, max_value=0.05), min_size=1, max_size=20))
def test_sleeps_and_timeouts_are_never_early(durations: list[float]) -> None:
    for seconds, start, end in _run_concurrently(durations):
        assert end - start >= seconds
        assert end - start <= seconds + 1.0  # very generous: many run at once on a busy box
