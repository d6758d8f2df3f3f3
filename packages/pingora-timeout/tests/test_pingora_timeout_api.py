"""The public surface of pingora_timeout: exported names, reprs and the errors for bad input."""

from __future__ import annotations

import asyncio
import math
from fractions import Fraction

import pytest

import pingora_timeout
from pingora_timeout import (
    RESOLUTION,
    Elapsed,
    TimeoutScope,
    TimerWheel,
    sleep,
    timeout,
    timeout_scope,
    wheel_for,
)


def test_public_names_are_locked() -> None:
    assert set(pingora_timeout.__all__) == {
        "RESOLUTION",
        "Elapsed",
        "TimeoutScope",
        "TimerWheel",
        "sleep",
        "timeout",
        "timeout_scope",
        "wheel_for",
    }
    for name in pingora_timeout.__all__:
        assert getattr(pingora_timeout, name) is not None


def test_resolution_is_ten_milliseconds() -> None:
    assert RESOLUTION == 0.01


def test_elapsed_is_a_timeout_error_and_not_a_cancellation() -> None:
    assert issubclass(Elapsed, TimeoutError)
    assert not issubclass(Elapsed, asyncio.CancelledError)
    assert str(Elapsed("Timeout Elapsed")) == "Timeout Elapsed"


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, -math.inf])
def test_bad_durations_are_value_errors(bad: float) -> None:
    async def work() -> int:
        return 1

    async def main() -> None:
        with pytest.raises(ValueError, match="seconds >= 0"):
            await timeout(bad, work())
        with pytest.raises(ValueError, match="seconds >= 0"):
            await sleep(bad)
        with pytest.raises(ValueError, match="seconds >= 0"):
            timeout_scope(bad)

    asyncio.run(main())


@pytest.mark.parametrize("bad", ["1", None, True, b"1", 1j])
def test_non_numbers_are_type_errors(bad: object) -> None:
    async def work() -> int:
        return 1

    async def main() -> None:
        with pytest.raises(TypeError, match="real number"):
            await timeout(bad, work())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="real number"):
            await sleep(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="real number"):
            timeout_scope(bad)  # type: ignore[arg-type]

    asyncio.run(main())  # the rejected coroutines were closed: no "never awaited" warning


def test_other_real_numbers_are_accepted() -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    async def main() -> None:
        assert await timeout(Fraction(1, 2), work()) == 7  # type: ignore[arg-type]
        await sleep(Fraction(1, 100))  # type: ignore[arg-type]
        assert timeout_scope(Fraction(1, 4)).seconds == 0.25  # type: ignore[arg-type]

    asyncio.run(main())


def test_timeout_needs_an_awaitable() -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="needs an awaitable, not int"):
            await timeout(1, 5)  # type: ignore[arg-type]

        async def work() -> None:
            return None

        with pytest.raises(TypeError, match="needs an awaitable, not function"):
            await timeout(1, work)  # type: ignore[arg-type]

    asyncio.run(main())


def test_scope_repr_shows_its_state() -> None:
    async def main() -> None:
        scope = timeout_scope(5)
        assert repr(scope) == "<TimeoutScope seconds=5.0 state=created deadline=None>"
        before = scope.deadline
        async with scope:
            assert "state=active" in repr(scope)
            assert f"deadline={scope.deadline!r}>" in repr(scope)
        assert before is None
        assert scope.deadline is not None
        assert "state=exited" in repr(scope)
        assert not scope.expired
        expiring = timeout_scope(0.01)
        with pytest.raises(Elapsed):
            await _sleep_in(expiring, 5)
        assert "state=expired" in repr(expiring)
        assert expiring.expired

    asyncio.run(main())


async def _sleep_in(scope: TimeoutScope, seconds: float) -> None:
    async with scope:
        await asyncio.sleep(seconds)


def test_scope_is_entered_once() -> None:
    async def main() -> None:
        scope = TimeoutScope(1)
        async with scope:
            pass
        with pytest.raises(RuntimeError, match="entered only once"):
            await _sleep_in(scope, 0)

    asyncio.run(main())


def test_wheel_repr_and_counters() -> None:
    async def main() -> None:
        wheel = wheel_for(asyncio.get_running_loop())
        assert isinstance(wheel, TimerWheel)
        assert wheel is wheel_for(asyncio.get_running_loop())
        assert repr(wheel) == "<TimerWheel slots=0 pending=0 loop_timers=0 fired_slots=0>"
        async with timeout_scope(10):
            assert wheel.pending == 1
            assert wheel.slots == 1
            assert repr(wheel) == "<TimerWheel slots=1 pending=1 loop_timers=1 fired_slots=0>"
        assert wheel.pending == 0
        assert wheel.slots == 1  # an emptied slot keeps its loop timer: disarming is free

    asyncio.run(main())


def test_each_loop_has_its_own_wheel() -> None:
    async def wheel() -> TimerWheel:
        return wheel_for(asyncio.get_running_loop())

    assert asyncio.run(wheel()) is not asyncio.run(wheel())


def test_outside_a_task_is_a_clear_error() -> None:
    async def suspends() -> None:
        await asyncio.sleep(0)

    errors: list[RuntimeError] = []

    def step_by_hand() -> None:  # a loop callback: the loop runs, but no task does
        coro = timeout(1, suspends())
        try:
            coro.send(None)
        except RuntimeError as exc:
            errors.append(exc)

    loop = asyncio.new_event_loop()
    try:
        loop.call_soon(step_by_hand)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    assert len(errors) == 1
    assert "inside an asyncio task" in str(errors[0])
