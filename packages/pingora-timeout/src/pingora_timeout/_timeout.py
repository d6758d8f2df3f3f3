"""`timeout(seconds, awaitable)`: await something with a deadline that costs nothing unless needed.

The awaitable is stepped once by hand first. If it finishes without suspending, its result comes
back and no timer was ever made. Only when it suspends is the deadline filed in the loop's timer
wheel, and the awaitable is then driven through to the end by `_drive`, which forwards what it
yields to the task and what the task sends or throws back. The loop is taken from the future
the awaitable waits on (asking for the running loop costs a getpid() call each time). When the
slot fires, the task is cancelled; `_drive` turns that cancellation (and only that one) into
`Elapsed`.

This module must not create loop timers itself: deadlines go through `_wheel` only.
"""

from __future__ import annotations

import types
from asyncio import CancelledError, current_task, get_running_loop
from collections.abc import Awaitable, Callable, Generator, Iterator
from inspect import CO_ITERABLE_COROUTINE
from typing import Any, TypeVar

from pingora_timeout._errors import Elapsed, as_seconds
from pingora_timeout._wheel import wheel_for

__all__ = ["timeout"]

T = TypeVar("T")

_Stepper = Generator[Any, Any, T]
_CoroutineType = types.CoroutineType
_GeneratorType = types.GeneratorType


async def timeout(seconds: float, awaitable: Awaitable[T]) -> T:
    """Await `awaitable` and return its result, or raise `Elapsed` once `seconds` have passed.

    The deadline is rounded up to the next 10 ms boundary, so `Elapsed` never comes early and
    comes at most about 10-20 ms late. On expiry the awaitable is cancelled and awaited (its
    cleanup runs) before `Elapsed` is raised. A cancellation of the caller stays a cancellation.
    `seconds` may be `math.inf` (no deadline); it must not be negative or NaN.
    """
    kind = seconds.__class__
    if (kind is not float and kind is not int) or not seconds >= 0:
        seconds = _checked_seconds(seconds, awaitable)
    # A coroutine steps itself (send/throw/close); anything else goes through its __await__.
    stepper: _Stepper[T] = (
        awaitable  # type: ignore[assignment]
        if awaitable.__class__ is _CoroutineType
        else _stepper_of(awaitable)
    )
    try:
        yielded = stepper.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    return await _drive(seconds, stepper, yielded)


@types.coroutine
def _drive(seconds: float, stepper: _Stepper[T], yielded: Any) -> Generator[Any, Any, T]:
    # The loop comes from the future the awaitable is waiting on when it has one: asking for
    # the running loop costs a getpid() system call on every call.
    get_loop = getattr(yielded, "get_loop", None)
    task = None if get_loop is None else current_task(loop := get_loop())
    if task is None:
        try:
            loop = get_running_loop()
            task = current_task(loop)
            if task is None:
                raise RuntimeError("timeout() must be awaited inside an asyncio task")
        except RuntimeError as exc:
            stepper.close()
            raise RuntimeError(f"{exc}: pingora_timeout runs on the asyncio event loop") from None
    entries = wheel_for(loop).arm(loop, loop.time() + seconds, stepper, task)
    cancelling = task.cancelling()
    try:
        while True:
            # The first resumption is forwarded by hand; asyncio tasks resume with send(None),
            # after which `yield from` forwards everything at C speed.
            try:
                sent = yield yielded
            except GeneratorExit:
                stepper.close()
                raise
            except BaseException as exc:
                try:
                    yielded = stepper.throw(exc)
                except StopIteration as stop:
                    result: T = stop.value
                    break
                continue
            if sent is None:
                result = yield from stepper
                break
            try:
                yielded = stepper.send(sent)
            except StopIteration as stop:
                result = stop.value
                break
    except BaseException as exc:
        # If our slot fired, it cancelled the task: take that cancel back, and if nobody else
        # asked for one meanwhile, the cancellation is ours to turn into Elapsed.
        if (
            entries is not None
            and entries.pop(stepper, None) is None
            and task.uncancel() <= cancelling
            and isinstance(exc, CancelledError)
        ):
            raise Elapsed(f"timed out after {seconds} s") from exc
        raise
    if entries is not None and entries.pop(stepper, None) is None:
        task.uncancel()  # fired, but the awaitable swallowed the cancellation and finished
    return result


def _checked_seconds(seconds: object, awaitable: object) -> float:
    try:
        return as_seconds(seconds, "timeout()")
    except (TypeError, ValueError):
        if isinstance(awaitable, _CoroutineType | _GeneratorType):
            awaitable.close()  # it will never run: spare the "never awaited" warning
        raise


def _stepper_of(awaitable: object) -> _Stepper[Any]:
    if isinstance(awaitable, _GeneratorType) and (
        awaitable.gi_code.co_flags & CO_ITERABLE_COROUTINE
    ):
        return awaitable  # a generator-based coroutine (types.coroutine)
    await_method: Callable[[], Iterator[Any]] | None = getattr(awaitable, "__await__", None)
    if await_method is None:
        raise TypeError(f"timeout() needs an awaitable, not {type(awaitable).__name__}")
    iterator = await_method()
    if isinstance(iterator, Generator):  # generators, future iterators: send/throw/close
        return iterator
    return _generator_over(iterator)


def _generator_over(iterator: Iterator[Any]) -> _Stepper[Any]:
    # An __await__ may return a bare iterator (no send/throw): give it a generator's interface.
    return (yield from iterator)
