"""`timeout()` finds its event loop through the future the awaitable waits on (no
`get_running_loop()`, which costs a getpid() system call), and falls back to asking for the
running loop when the awaitable suspends without a future (a bare `yield`)."""

from __future__ import annotations

import asyncio
from collections.abc import Generator

import pytest

from pingora_timeout import Elapsed, timeout, wheel_for
from pingora_timeout import _timeout as timeout_module

pytestmark = pytest.mark.anyio


def _no_lookup() -> asyncio.AbstractEventLoop:
    raise AssertionError("get_running_loop() was called")


async def test_waiting_on_a_future_needs_no_loop_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[int] = loop.create_future()
    loop.call_soon(future.set_result, 7)
    monkeypatch.setattr(timeout_module, "get_running_loop", _no_lookup)
    assert await timeout(5, future) == 7
    assert wheel_for(loop).pending == 0  # armed while waiting, disarmed after


async def test_expiry_on_a_future_needs_no_loop_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(timeout_module, "get_running_loop", _no_lookup)
    with pytest.raises(Elapsed):
        await timeout(0.02, loop.create_future())
    assert wheel_for(loop).pending == 0


async def test_bare_yield_still_finds_the_loop() -> None:
    async def yields_then_waits() -> str:
        await asyncio.sleep(0)  # suspends with a bare yield: no future to ask
        await asyncio.sleep(0)
        return "done"

    assert await timeout(5, yields_then_waits()) == "done"
    with pytest.raises(Elapsed):
        await timeout(0.02, _YieldsForever())


class _YieldsForever:
    """An awaitable that only ever yields None (asyncio reschedules the task each time)."""

    def __await__(self) -> Generator[None, None, None]:
        while True:
            yield
