"""`timeout_scope(seconds)`: a deadline over a block of code, as an async context manager.

Unlike `timeout()`, a scope cannot tell in advance whether its block will suspend, so it files its
deadline in the loop's timer wheel on entry; that is still only a dict insert into a shared 10 ms
slot, and leaving the block early is a dict pop. When the slot fires, the task is cancelled and
the scope turns that cancellation (and only that one) into `Elapsed` on exit.
"""

from __future__ import annotations

from asyncio import AbstractEventLoop, CancelledError, Task, current_task, get_running_loop
from types import TracebackType
from typing import Final

from pingora_timeout._errors import Elapsed, as_seconds
from pingora_timeout._wheel import Entries, wheel_for

__all__ = ["TimeoutScope", "timeout_scope"]

_CREATED: Final = "created"
_ACTIVE: Final = "active"
_EXPIRED: Final = "expired"
_EXITED: Final = "exited"


class TimeoutScope:
    """A one-shot deadline over an `async with` block; see `timeout_scope`."""

    __slots__ = ("_cancelling", "_deadline", "_entries", "_seconds", "_state", "_task")

    def __init__(self, seconds: float) -> None:
        self._seconds = as_seconds(seconds, "timeout_scope()")
        self._state = _CREATED
        self._deadline: float | None = None
        self._entries: Entries | None = None
        self._task: Task[object] | None = None
        self._cancelling = 0

    def __repr__(self) -> str:
        return (
            f"<TimeoutScope seconds={self._seconds!r} state={self._state} "
            f"deadline={self._deadline!r}>"
        )

    @property
    def seconds(self) -> float:
        """The time the block is given, in seconds."""
        return self._seconds

    @property
    def deadline(self) -> float | None:
        """The `loop.time()` before which the scope never fires; None until it is entered."""
        return self._deadline

    @property
    def expired(self) -> bool:
        """True once the deadline has cancelled the block (whether or not Elapsed came of it)."""
        return self._state == _EXPIRED

    async def __aenter__(self) -> TimeoutScope:
        if self._state is not _CREATED:
            raise RuntimeError(f"{self!r} can be entered only once")
        try:
            loop: AbstractEventLoop = get_running_loop()
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: pingora_timeout runs on the asyncio event loop") from None
        task = current_task(loop)
        if task is None:
            raise RuntimeError("timeout_scope() must be entered inside an asyncio task")
        self._task = task
        self._state = _ACTIVE
        self._deadline = deadline = loop.time() + self._seconds
        self._entries = wheel_for(loop).arm(loop, deadline, self, task)
        self._cancelling = task.cancelling()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        entries = self._entries
        if entries is None or entries.pop(self, None) is not None:
            self._state = _EXITED
            return
        self._state = _EXPIRED
        task = self._task
        assert task is not None  # set together with _entries on entry
        if task.uncancel() <= self._cancelling and isinstance(exc, CancelledError):
            raise Elapsed(f"timed out after {self._seconds} s") from exc


def timeout_scope(seconds: float) -> TimeoutScope:
    """A deadline over a block: `async with timeout_scope(2.0): ...` raises `Elapsed` on expiry.

    The deadline is rounded up to the next 10 ms boundary: it never fires early and fires at most
    about 10-20 ms late. On expiry the block is cancelled where it waits, its cleanup runs, and
    `Elapsed` leaves the `async with`. A cancellation from outside stays a cancellation.
    `seconds` may be `math.inf` (no deadline); it must not be negative or NaN.
    """
    return TimeoutScope(seconds)
