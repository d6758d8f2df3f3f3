"""`timeout_scope()`: a deadline over an `async with` block, in asyncio tasks and anyio groups."""

from __future__ import annotations

import asyncio
import contextlib
import math

import anyio
import pytest

from pingora_timeout import Elapsed, timeout, timeout_scope, wheel_for

LATE = 0.2


@pytest.mark.anyio
@pytest.mark.parametrize("seconds", [0, 0.005, 0.02, 0.05])
async def test_expiry_is_never_early_and_not_much_late(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(Elapsed):
        async with timeout_scope(seconds) as scope:
            await asyncio.sleep(1000)
    took = loop.time() - start
    assert seconds <= took <= seconds + LATE
    assert scope.expired
    assert scope.deadline is not None
    assert scope.deadline >= start + seconds


@pytest.mark.anyio
async def test_block_that_finishes_in_time() -> None:
    wheel = wheel_for(asyncio.get_running_loop())
    async with timeout_scope(5) as scope:
        await asyncio.sleep(0.01)
        assert wheel.pending == 1
    assert not scope.expired
    assert wheel.pending == 0


@pytest.mark.anyio
async def test_block_cleanup_runs_before_elapsed() -> None:
    steps: list[str] = []

    async def block() -> None:
        async with timeout_scope(0.02):
            try:
                await asyncio.sleep(1000)
            finally:
                await asyncio.sleep(0)
                steps.append("cleaned up")

    with pytest.raises(Elapsed) as caught:
        await block()
    assert steps == ["cleaned up"]
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


@pytest.mark.anyio
async def test_exceptions_pass_through() -> None:
    async def block() -> None:
        async with timeout_scope(5):
            await asyncio.sleep(0)
            raise KeyError("x")

    with pytest.raises(KeyError):
        await block()
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_block_that_swallows_the_cancellation() -> None:
    async with timeout_scope(0.01) as scope:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(1000)
    assert scope.expired  # expired, but the block chose to finish normally
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


@pytest.mark.anyio
async def test_block_that_turns_the_cancellation_into_an_error() -> None:
    scope = timeout_scope(0.01)

    async def block() -> None:
        async with scope:
            try:
                await asyncio.sleep(1000)
            except asyncio.CancelledError:
                raise KeyError("converted") from None

    with pytest.raises(KeyError, match="converted"):
        await block()
    assert scope.expired
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


@pytest.mark.anyio
async def test_infinite_scope_arms_nothing() -> None:
    wheel = wheel_for(asyncio.get_running_loop())
    async with timeout_scope(math.inf):
        assert wheel.pending == 0
        await asyncio.sleep(0)


@pytest.mark.anyio
async def test_cancelling_the_caller_is_not_turned_into_elapsed() -> None:
    entered = asyncio.Event()

    async def caller() -> None:
        async with timeout_scope(10):
            entered.set()
            await asyncio.sleep(1000)

    task = asyncio.create_task(caller())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_nested_inner_expires_first() -> None:
    async with timeout_scope(10) as outer:
        with pytest.raises(Elapsed):
            async with timeout_scope(0.02) as inner:
                await asyncio.sleep(1000)
        await asyncio.sleep(0.01)
    assert inner.expired
    assert not outer.expired


@pytest.mark.anyio
async def test_nested_outer_expires_first() -> None:
    outer, inner = timeout_scope(0.02), timeout_scope(10)

    async def block() -> None:
        async with outer, inner:
            await asyncio.sleep(1000)

    with pytest.raises(Elapsed, match=r"0\.02 s"):
        await block()
    assert outer.expired
    assert not inner.expired


@pytest.mark.anyio
async def test_mixed_with_timeout() -> None:
    with pytest.raises(Elapsed, match=r"0\.02 s"):
        async with timeout_scope(0.02):
            await timeout(10, asyncio.sleep(1000))
    async with timeout_scope(10) as scope:
        with pytest.raises(Elapsed):
            await timeout(0.01, asyncio.sleep(1000))
    assert not scope.expired


@pytest.mark.anyio
async def test_around_an_anyio_task_group() -> None:
    cancelled: list[int] = []

    async def sleeper(number: int) -> None:
        try:
            await anyio.sleep(1000)
        except anyio.get_cancelled_exc_class():
            cancelled.append(number)
            raise

    async def block() -> None:
        async with timeout_scope(0.02), anyio.create_task_group() as group:
            for number in range(3):
                group.start_soon(sleeper, number)

    with pytest.raises(Elapsed):
        await block()
    assert sorted(cancelled) == [0, 1, 2]


@pytest.mark.anyio
async def test_inside_anyio_task_group_children() -> None:
    outcomes: list[str] = []

    async def child(seconds: float) -> None:
        try:
            async with timeout_scope(seconds):
                await anyio.sleep(0.05)
            outcomes.append("done")
        except Elapsed:
            outcomes.append("elapsed")

    async with anyio.create_task_group() as group:
        group.start_soon(child, 0.01)
        group.start_soon(child, 5)
    assert sorted(outcomes) == ["done", "elapsed"]


@pytest.mark.anyio
async def test_anyio_cancel_scope_outside_is_not_turned_into_elapsed() -> None:
    with anyio.move_on_after(0.02) as anyio_scope:
        async with timeout_scope(10) as scope:
            await asyncio.sleep(1000)
    assert anyio_scope.cancelled_caught
    assert not scope.expired


def test_works_under_asyncio_run_and_anyio_run() -> None:
    async def main() -> bool:
        try:
            async with timeout_scope(0.01):
                await asyncio.sleep(1000)
        except Elapsed:
            return True
        return False

    assert asyncio.run(main())
    assert anyio.run(main, backend="asyncio")


def test_outside_an_event_loop_is_a_clear_error() -> None:
    scope = timeout_scope(1)
    with pytest.raises(RuntimeError, match="asyncio event loop"):
        scope.__aenter__().send(None)
