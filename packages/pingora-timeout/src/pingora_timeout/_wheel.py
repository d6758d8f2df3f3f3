"""The per-event-loop timer wheel that every timeout, scope and sleep of this package shares.

A deadline is rounded UP to the next 10 ms boundary of `loop.time()`; that boundary is its slot.
All deadlines in one slot share one `loop.call_at` timer, created by the first deadline that lands
in the slot and fired once for all of them. Arming is a dict lookup and an insert, disarming is a
dict pop, and firing cancels the waiting tasks (timeouts) or wakes the waiting futures (sleeps).
A slot whose deadlines were all disarmed keeps its loop timer, which then fires on an empty slot:
that keeps disarming free and lets the next deadline in the slot reuse the timer.

This module knows nothing about coroutines or exceptions; it only moves deadlines in and out.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from math import ceil, inf
from typing import Final

__all__ = ["CANCEL_MESSAGE", "RESOLUTION", "Entries", "TimerWheel", "slot_of", "wheel_for"]

RESOLUTION: Final = 0.01
"""The width of one slot in seconds: deadlines are rounded up to a multiple of it."""

_SLOTS_PER_SECOND: Final = 100
_ATTRIBUTE: Final = "_pingora_timeout_wheel"
CANCEL_MESSAGE: Final = "pingora_timeout: deadline elapsed"

# Slot timers run in an empty context of their own: no copy of the arming task's context is
# made, and none of its context variables are kept alive until the slot fires.
_SLOT_CONTEXT: Final = contextvars.Context()

# One slot's waiters: key -> the task to cancel, or key -> key for a sleeping future to wake.
Entries = dict[object, "asyncio.Task[object] | asyncio.Future[None]"]


def slot_of(deadline: float) -> int:
    """The slot of a `loop.time()` deadline: the number of the first 10 ms boundary >= it.

    Boundary n is at `n / 100` seconds. Scaling by 100 rounds, so the product's ceiling is
    checked against the deadline both ways: the boundary is never before the deadline (a timer
    must not fire early) and never a whole slot after it.
    """
    slot = ceil(deadline * _SLOTS_PER_SECOND)
    if slot / _SLOTS_PER_SECOND < deadline:
        slot += 1
    elif (slot - 1) / _SLOTS_PER_SECOND >= deadline:
        slot -= 1
    return slot


class TimerWheel:
    """Deadlines of one event loop, grouped in 10 ms slots that share one loop timer each.

    The wheel holds no reference to its loop (the loop's timers hold the wheel), so a wheel kept
    in a weak mapping keyed by the loop does not keep the loop alive.
    """

    __slots__ = ("__weakref__", "_slots", "fired_slots", "loop_timers")

    def __init__(self) -> None:
        self._slots: dict[int, Entries] = {}
        self.loop_timers = 0
        """How many `loop.call_at` timers this wheel has created (one per slot, plus re-arms)."""
        self.fired_slots = 0
        """How many slots have fired so far."""

    def __repr__(self) -> str:
        return (
            f"<TimerWheel slots={len(self._slots)} pending={self.pending} "
            f"loop_timers={self.loop_timers} fired_slots={self.fired_slots}>"
        )

    @property
    def pending(self) -> int:
        """How many deadlines are armed and not yet fired or disarmed."""
        return sum(len(entries) for entries in self._slots.values())

    @property
    def slots(self) -> int:
        """How many slots still have a loop timer waiting to fire (empty ones included)."""
        return len(self._slots)

    def arm(
        self,
        loop: asyncio.AbstractEventLoop,
        deadline: float,
        key: object,
        waiter: asyncio.Task[object] | asyncio.Future[None],
    ) -> Entries | None:
        """File `key` under the slot of a `loop.time()` deadline; return the slot's entries.

        When the slot fires, `waiter` is cancelled (a task) or given a result (a future that is
        also the `key`). Disarm with `entries.pop(key, None)`: None back means the slot fired.
        An infinite deadline arms nothing and returns None.
        """
        if deadline == inf:
            return None
        slot = ceil(deadline * _SLOTS_PER_SECOND)  # slot_of(deadline), inlined
        if slot / _SLOTS_PER_SECOND < deadline:
            slot += 1
        elif (slot - 1) / _SLOTS_PER_SECOND >= deadline:
            slot -= 1
        entries = self._slots.get(slot)
        if entries is None:
            entries = self._slots[slot] = {}
            self.loop_timers += 1
            loop.call_at(slot / _SLOTS_PER_SECOND, self._fire, loop, slot, context=_SLOT_CONTEXT)
        entries[key] = waiter
        return entries

    def _fire(self, loop: asyncio.AbstractEventLoop, slot: int) -> None:
        when = slot / _SLOTS_PER_SECOND
        if loop.time() < when:
            # The loop ran the timer a hair early (loops allow their clock resolution): wait on.
            self.loop_timers += 1
            loop.call_at(when, self._fire, loop, slot, context=_SLOT_CONTEXT)
            return
        entries = self._slots.pop(slot, None)
        self.fired_slots += 1
        if not entries:
            return
        due = list(entries.items())
        entries.clear()  # disarming now finds nothing: that is how a waiter learns it fired
        for key, waiter in due:
            if waiter is key:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiter.cancel(CANCEL_MESSAGE)


_WEAK_WHEELS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TimerWheel]
_WEAK_WHEELS = weakref.WeakKeyDictionary()


def wheel_for(loop: asyncio.AbstractEventLoop) -> TimerWheel:
    """The timer wheel of `loop`, created on first use.

    It is kept as an attribute of the loop (asyncio and uvloop loops take one), or in a weak
    mapping keyed by the loop for loops that refuse attributes.
    """
    try:
        wheel: TimerWheel = getattr(loop, _ATTRIBUTE)
    except AttributeError:
        wheel = _WEAK_WHEELS.get(loop) or _install(loop)
    return wheel


def _install(loop: asyncio.AbstractEventLoop) -> TimerWheel:
    wheel = TimerWheel()
    try:
        setattr(loop, _ATTRIBUTE, wheel)
    except (AttributeError, TypeError):
        _WEAK_WHEELS[loop] = wheel
    return wheel
