"""`timeout()`: Pingora's fast_timeout cases, timing bounds, passthrough, cancellation, nesting."""

from __future__ import annotations

import asyncio
import math
import types
from collections.abc import Generator, Iterator
from typing import Any

import anyio
import pytest

from pingora_timeout import Elapsed, sleep, timeout, wheel_for

LATE = 0.2  # generous slack for a loaded machine; the design bound is ~20 ms


async def forever() -> None:
    await asyncio.sleep(1000)


# --- Pingora's fast_timeout / lib tests -----------------------------------------------------


@pytest.mark.anyio
async def test_timeout() -> None:
    with pytest.raises(Elapsed):
        await timeout(0.05, asyncio.sleep(1000))


@pytest.mark.anyio
async def test_instantly_return() -> None:
    async def one() -> int:
        return 1

    wheel = wheel_for(asyncio.get_running_loop())
    timers, slots = wheel.loop_timers, wheel.slots
    assert await timeout(1, one()) == 1
    assert (wheel.loop_timers, wheel.slots, wheel.pending) == (timers, slots, 0)  # no timer made


@pytest.mark.anyio
async def test_delayed_return() -> None:
    async def one_later() -> int:
        await asyncio.sleep(0.05)
        return 1

    assert await timeout(60, one_later()) == 1
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_sleep() -> None:
    async def one_after_fast_sleep() -> int:
        await sleep(0.05)
        return 1

    assert await timeout(60, one_after_fast_sleep()) == 1


# --- timing ---------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("seconds", [0, 0.001, 0.01, 0.025, 0.05, 0.1])
async def test_fires_never_early_and_not_much_late(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(Elapsed):
        await timeout(seconds, forever())
    took = loop.time() - start
    assert seconds <= took <= seconds + LATE


@pytest.mark.anyio
async def test_many_timeouts_in_one_slot_all_fire() -> None:
    loop = asyncio.get_running_loop()
    wheel = wheel_for(loop)
    timers = wheel.loop_timers
    start = loop.time()
    results = await asyncio.gather(
        *(timeout(0.05, forever()) for _ in range(500)), return_exceptions=True
    )
    took = loop.time() - start
    assert all(isinstance(result, Elapsed) for result in results)
    assert 0.05 <= took <= 0.05 + LATE
    assert wheel.loop_timers - timers < 10  # a handful of slots, not one timer per timeout
    assert wheel.pending == 0


# --- passthrough ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_results_pass_through_for_every_kind_of_awaitable() -> None:
    loop = asyncio.get_running_loop()

    async def suspends() -> str:
        await asyncio.sleep(0)
        return "coroutine"

    future: asyncio.Future[str] = loop.create_future()
    loop.call_soon(future.set_result, "future")
    done: asyncio.Future[str] = loop.create_future()
    done.set_result("done future")

    @types.coroutine
    def generator_based() -> Generator[None, None, str]:
        yield
        return "generator"

    class Custom:
        def __await__(self) -> Generator[None, None, str]:
            yield
            return "custom"

    class BareIterator:
        def __await__(self) -> Iterator[None]:
            return iter([None, None])

    assert await timeout(1, suspends()) == "coroutine"
    assert await timeout(1, future) == "future"
    assert await timeout(1, done) == "done future"
    assert await timeout(1, generator_based()) == "generator"
    assert await timeout(1, Custom()) == "custom"
    assert await timeout(1, BareIterator()) is None  # type: ignore[arg-type]
    assert await timeout(1, asyncio.ensure_future(suspends())) == "coroutine"
    assert await timeout(1, asyncio.sleep(0.01, "sleep")) == "sleep"
    assert wheel_for(loop).pending == 0


@pytest.mark.anyio
async def test_exceptions_pass_through() -> None:
    async def fails_at_once() -> None:
        raise KeyError("now")

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    with pytest.raises(KeyError, match="now"):
        await timeout(1, fails_at_once())
    with pytest.raises(KeyError, match="later"):
        await timeout(1, fails_later())
    with pytest.raises(TimeoutError) as caught:  # a TimeoutError of the awaitable's own
        await timeout(1, asyncio.wait_for(forever(), 0.01))
    assert not isinstance(caught.value, Elapsed)
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_infinite_timeout_arms_nothing() -> None:
    wheel = wheel_for(asyncio.get_running_loop())

    async def check() -> int:
        await asyncio.sleep(0)
        assert wheel.pending == 0
        return 3

    assert await timeout(math.inf, check()) == 3


# --- expiry cancels and awaits the awaitable ------------------------------------------------


@pytest.mark.anyio
async def test_expiry_cancels_and_awaits_the_awaitable() -> None:
    steps: list[str] = []

    async def with_cleanup() -> None:
        try:
            await asyncio.sleep(1000)
        except asyncio.CancelledError:
            steps.append("cancelled")
            await asyncio.sleep(0.01)  # cleanup may await
            steps.append("cleaned up")
            raise

    with pytest.raises(Elapsed) as caught:
        await timeout(0.02, with_cleanup())
    assert steps == ["cancelled", "cleaned up"]
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0  # Elapsed does not leave a cancellation behind
    await asyncio.sleep(0.01)  # and the task goes on waiting normally


@pytest.mark.anyio
async def test_expired_future_is_cancelled() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    with pytest.raises(Elapsed):
        await timeout(0.01, future)
    assert future.cancelled()


@pytest.mark.anyio
async def test_awaitable_that_swallows_the_cancellation_keeps_its_result() -> None:
    async def stubborn() -> str:
        try:
            await asyncio.sleep(1000)
        except asyncio.CancelledError:
            return "swallowed"
        return "slept"

    assert await timeout(0.01, stubborn()) == "swallowed"
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


@pytest.mark.anyio
async def test_awaitable_that_turns_the_cancellation_into_an_error_keeps_its_error() -> None:
    async def converts() -> None:
        try:
            await asyncio.sleep(1000)
        except asyncio.CancelledError:
            raise KeyError("converted") from None

    with pytest.raises(KeyError, match="converted"):
        await timeout(0.01, converts())
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


# --- cancellation of the caller -------------------------------------------------------------


@pytest.mark.anyio
async def test_cancelling_the_caller_is_not_turned_into_elapsed() -> None:
    started = asyncio.Event()
    cleaned = asyncio.Event()

    async def work() -> None:
        started.set()
        try:
            await asyncio.sleep(1000)
        finally:
            cleaned.set()

    async def caller() -> None:
        await timeout(10, work())

    task = asyncio.create_task(caller())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set()
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_cancel_before_the_first_resumption() -> None:
    async def caller() -> None:
        await timeout(10, asyncio.sleep(1000))

    task = asyncio.create_task(caller())
    await asyncio.sleep(0)  # caller is suspended inside timeout(), never resumed yet
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.anyio
async def test_outer_cancel_during_expiry_stays_a_cancellation() -> None:
    async def cancelled_twice() -> None:
        try:
            await asyncio.sleep(1000)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()  # someone else cancels the task while the deadline is handled
            raise

    async def caller() -> None:
        await timeout(0.01, cancelled_twice())

    task = asyncio.create_task(caller())
    with pytest.raises(asyncio.CancelledError):
        await task


# --- nesting --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_nested_inner_expires_first() -> None:
    async def inner_then_more() -> str:
        with pytest.raises(Elapsed, match=r"0\.02 s"):
            await timeout(0.02, forever())
        await asyncio.sleep(0.01)
        return "outer went on"

    assert await timeout(10, inner_then_more()) == "outer went on"


@pytest.mark.anyio
async def test_nested_outer_expires_first() -> None:
    steps: list[str] = []

    async def inner_body() -> None:
        try:
            await forever()
        finally:
            steps.append("inner cleaned up")

    async def outer_body() -> None:
        await timeout(10, inner_body())  # the inner timeout must let the cancellation through

    with pytest.raises(Elapsed, match=r"0\.02 s"):
        await timeout(0.02, outer_body())
    assert steps == ["inner cleaned up"]


@pytest.mark.anyio
async def test_nested_directly_and_in_the_same_slot() -> None:
    assert await timeout(1, timeout(1, asyncio.sleep(0, "x"))) == "x"
    with pytest.raises(Elapsed):
        await timeout(0.02, timeout(0.02, forever()))
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0


# --- stepping by hand: forwarding of send, throw and close ----------------------------------


@pytest.mark.anyio
async def test_values_sent_in_are_forwarded() -> None:
    @types.coroutine
    def echo() -> Generator[str, Any, tuple[Any, Any]]:
        first = yield "a"
        second = yield "b"
        return first, second

    coro = timeout(10, echo())
    assert coro.send(None) == "a"
    assert coro.send(1) == "b"
    with pytest.raises(StopIteration) as stop:
        coro.send(2)
    assert stop.value.value == (1, 2)


@pytest.mark.anyio
async def test_thrown_exceptions_are_forwarded() -> None:
    @types.coroutine
    def catcher() -> Generator[str, Any, str]:
        try:
            yield "waiting"
        except ValueError as exc:
            return f"caught {exc}"
        return "nothing"

    coro = timeout(10, catcher())
    assert coro.send(None) == "waiting"
    with pytest.raises(StopIteration) as stop:
        coro.throw(ValueError("boom"))
    assert stop.value.value == "caught boom"
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_closing_closes_the_awaitable_and_disarms() -> None:
    steps: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(1000)
        finally:
            steps.append("closed")

    coro = timeout(10, work())
    coro.send(None)
    assert wheel_for(asyncio.get_running_loop()).pending == 1
    coro.close()
    assert steps == ["closed"]
    assert wheel_for(asyncio.get_running_loop()).pending == 0


# --- runners and frameworks -----------------------------------------------------------------


async def _round_trip() -> tuple[int, bool]:
    async def one() -> int:
        await asyncio.sleep(0)
        return 1

    value = await timeout(1, one())
    try:
        await timeout(0.01, asyncio.sleep(1000))
    except Elapsed:
        return value, True
    return value, False


def test_works_under_asyncio_run() -> None:
    assert asyncio.run(_round_trip()) == (1, True)


def test_works_under_anyio_run() -> None:
    assert anyio.run(_round_trip, backend="asyncio") == (1, True)


def test_works_under_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(_round_trip()) == (1, True)


@pytest.mark.anyio
async def test_inside_anyio_task_group_children() -> None:
    results: dict[str, object] = {}

    async def child(name: str, seconds: float) -> None:
        try:
            results[name] = await timeout(seconds, asyncio.sleep(0.05, name))
        except Elapsed:
            results[name] = "elapsed"

    async with anyio.create_task_group() as group:
        group.start_soon(child, "short", 0.01)
        group.start_soon(child, "long", 5)
    assert results == {"short": "elapsed", "long": "long"}


@pytest.mark.anyio
async def test_started_by_an_anyio_task_group() -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(timeout, 5, asyncio.sleep(0.01))
        group.start_soon(timeout, math.inf, asyncio.sleep(0))
    assert wheel_for(asyncio.get_running_loop()).pending == 0


@pytest.mark.anyio
async def test_around_an_anyio_task_group() -> None:
    cancelled: list[str] = []

    async def sleeper(name: str) -> None:
        try:
            await anyio.sleep(1000)
        except anyio.get_cancelled_exc_class():
            cancelled.append(name)
            raise

    async def group() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper, "a")
            tg.start_soon(sleeper, "b")

    with pytest.raises(Elapsed):
        await timeout(0.02, group())
    assert sorted(cancelled) == ["a", "b"]


@pytest.mark.anyio
async def test_anyio_cancel_scope_outside_is_not_turned_into_elapsed() -> None:
    with anyio.move_on_after(0.02) as scope:
        await timeout(10, forever())
    assert scope.cancelled_caught


@pytest.mark.anyio
async def test_shorter_than_an_anyio_deadline() -> None:
    with anyio.fail_after(10), pytest.raises(Elapsed):
        await timeout(0.02, forever())


@pytest.mark.anyio
async def test_alongside_asyncio_timeout() -> None:
    with pytest.raises(TimeoutError) as caught:
        async with asyncio.timeout(0.02):
            await timeout(10, forever())
    assert not isinstance(caught.value, Elapsed)  # asyncio's deadline, reported by asyncio
    async with asyncio.timeout(10):
        with pytest.raises(Elapsed):
            await timeout(0.02, forever())
