"""The timer wheel: slot rounding (ported from Pingora's timer tests), sharing, firing."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pingora_timeout import RESOLUTION, TimerWheel, sleep, wheel_for
from pingora_timeout._wheel import slot_of


def test_round() -> None:
    # Pingora: round_to(30, 10) == 30, round_to(31, 10) == 40, round_to(29, 10) == 30 (in ms).
    assert slot_of(0.030) == 3
    assert slot_of(0.031) == 4
    assert slot_of(0.029) == 3


def test_time() -> None:
    # Pingora: 128 ms rounds to 130 ms; it is "after" 128 and 129 and "not after" 130 and 131.
    slot = slot_of(0.128)
    assert slot == slot_of(0.130) == 13
    boundary = slot * RESOLUTION
    assert boundary > 0.128
    assert boundary > 0.129
    assert boundary <= 0.130
    assert boundary <= 0.131


@pytest.mark.parametrize(
    ("deadline", "slot"),
    [
        (0.0, 0),
        (0.001, 1),
        (0.01, 1),
        (0.07, 7),  # 0.07 * 100 == 7.000000000000001
        (0.3, 30),
        (1.1, 110),  # 1.1 * 100 == 110.00000000000001
        (12345.6789, 1234568),
        (762280.0800000001, 76228009),  # one ulp past a boundary that * 100 rounds onto
        (945270.7000000001, 94527071),
    ],
)
def test_exact_boundaries_stay_and_others_round_up(deadline: float, slot: int) -> None:
    assert slot_of(deadline) == slot


@given(st.floats(min_value=0, max_value=1e8, allow_nan=False, allow_infinity=False))
@example(762280.0800000001)
@example(0.07)
def test_slot_boundary_is_the_first_one_not_before_the_deadline(deadline: float) -> None:
    slot = slot_of(deadline)
    assert slot / 100 >= deadline  # never early
    assert (slot - 1) / 100 < deadline  # and never a whole slot late


@given(st.lists(st.floats(min_value=0, max_value=1e8), min_size=1, max_size=50))
@example([762280.0800000001, 0.07, 1.1, 945270.7000000001])
def test_arm_files_each_deadline_under_its_slot(deadlines: list[float]) -> None:
    loop = asyncio.new_event_loop()
    try:
        wheel = TimerWheel()
        keys = [object() for _ in deadlines]
        for key, deadline in zip(keys, deadlines, strict=True):
            future: asyncio.Future[None] = loop.create_future()
            wheel.arm(loop, deadline, key, future)
        filed = {id(key): slot for slot, entries in wheel._slots.items() for key in entries}
        for key, deadline in zip(keys, deadlines, strict=True):
            assert filed[id(key)] == slot_of(deadline)
        assert wheel.slots == len({slot_of(deadline) for deadline in deadlines})
        assert wheel.loop_timers == wheel.slots  # one loop timer per slot
    finally:
        loop.close()


@pytest.mark.anyio
async def test_timer_manager() -> None:
    # Pingora: two 1 s timers registered together; the second fires along with the first.
    loop = asyncio.get_running_loop()
    wheel = wheel_for(loop)
    timers_before = wheel.loop_timers
    start = loop.time()
    deadline = start + 0.2
    first: asyncio.Future[None] = loop.create_future()
    second: asyncio.Future[None] = loop.create_future()
    wheel.arm(loop, deadline, first, first)
    wheel.arm(loop, deadline, second, second)
    assert wheel.loop_timers == timers_before + 1  # one loop timer for both
    await first
    assert loop.time() >= deadline
    assert second.done()  # fired along with the first: no extra wait
    assert wheel.pending == 0


@pytest.mark.anyio
async def test_many_deadlines_share_few_loop_timers() -> None:
    loop = asyncio.get_running_loop()
    wheel = wheel_for(loop)
    timers_before = wheel.loop_timers
    start = loop.time()
    sleepers = [asyncio.ensure_future(sleep(0.05)) for _ in range(1000)]
    await asyncio.sleep(0)
    armed = loop.time()
    assert wheel.pending == 1000
    await asyncio.gather(*sleepers)
    possible_slots = slot_of(armed + 0.05) - slot_of(start + 0.05) + 1
    made = wheel.loop_timers - timers_before
    assert made <= possible_slots
    assert made < 1000
    assert wheel.pending == 0


@pytest.mark.anyio
async def test_disarming_keeps_the_slot_timer_for_reuse() -> None:
    loop = asyncio.get_running_loop()
    wheel = wheel_for(loop)
    future: asyncio.Future[None] = loop.create_future()
    entries = wheel.arm(loop, loop.time() + 30, future, future)
    assert entries is not None
    assert wheel.pending == 1
    timers = wheel.loop_timers
    assert entries.pop(future, None) is future  # disarm: a dict pop
    assert wheel.pending == 0
    # The same slot again, unless a 10 ms boundary passed in between.
    again = wheel.arm(loop, loop.time() + 30, future, future)
    assert again is not None
    again.pop(future, None)
    assert wheel.loop_timers - timers <= 1


@pytest.mark.anyio
async def test_infinite_delay_arms_nothing() -> None:
    loop = asyncio.get_running_loop()
    wheel = wheel_for(loop)
    future: asyncio.Future[None] = loop.create_future()
    assert wheel.arm(loop, float("inf"), future, future) is None
    assert wheel.pending == 0


@pytest.mark.anyio
async def test_firing_skips_a_future_already_cancelled() -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        wheel = wheel_for(loop)
        future: asyncio.Future[None] = loop.create_future()
        wheel.arm(loop, loop.time() + 0.01, future, future)
        future.cancel()  # cancelled, but still filed in its slot
        await sleep(0.05)  # a later slot: the earlier one has fired by now
        assert wheel.pending == 0
        assert errors == []
    finally:
        loop.set_exception_handler(None)


@pytest.mark.anyio
async def test_a_timer_run_early_waits_on() -> None:
    loop = asyncio.get_running_loop()
    wheel = wheel_for(loop)
    future: asyncio.Future[None] = loop.create_future()
    entries = wheel.arm(loop, loop.time() + 5, future, future)
    assert entries is not None
    [slot] = [slot for slot, filed in wheel._slots.items() if filed is entries]
    timers = wheel.loop_timers
    wheel._fire(loop, slot)  # as if the loop ran the slot's timer 5 s early
    assert not future.done()
    assert wheel.pending == 1
    assert wheel.loop_timers == timers + 1  # re-armed for the real boundary
    entries.pop(future, None)


class _NoAttributesLoop(asyncio.SelectorEventLoop):
    """A real selector loop that refuses new attributes, like some third-party loops."""

    def __setattr__(self, name: str, value: object) -> None:
        if name.startswith("_pingora"):
            raise AttributeError(name)
        super().__setattr__(name, value)


def test_loops_that_refuse_attributes_get_a_weakly_kept_wheel() -> None:
    loop = _NoAttributesLoop()
    try:
        wheel = wheel_for(loop)
        assert wheel is wheel_for(loop)

        async def expire() -> int:
            await sleep(0.02)
            return wheel.fired_slots

        assert loop.run_until_complete(expire()) >= 1
    finally:
        loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None  # the wheel does not keep its loop alive
