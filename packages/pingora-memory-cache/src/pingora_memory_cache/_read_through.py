"""RTCache: an async read-through cache over MemoryCache with per-key lookup coalescing.

Concurrent misses of one key run a single lookup; the others wait on its lock. Background
refreshes (stale-while-update) are asyncio tasks owned by the cache: at most one per key, each
living until its lookup ends, cancelled and awaited by `aclose()`. Uses anyio for waiting and
timeouts, so it runs under anyio's asyncio backend and under plain asyncio alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Hashable, Iterable, Sequence
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast

import anyio

from ._memory import Clock, MemoryCache, check_ttl
from ._status import CacheStatus

__all__ = ["CacheLookupError", "Lookup", "MultiLookup", "RTCache"]

logger = logging.getLogger("pingora_memory_cache")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
X = TypeVar("X")
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)
V_co = TypeVar("V_co", covariant=True)
X_contra = TypeVar("X_contra", contravariant=True)

_HIT = CacheStatus.HIT


class Lookup(Protocol[K_contra, V_co, X_contra]):
    """`async (key, extra) -> (value, ttl_seconds_or_None)`: fetch one missing value."""

    def __call__(self, key: K_contra, extra: X_contra | None, /) -> Awaitable[
        tuple[V_co, float | None]
    ]: ...


class MultiLookup(Protocol[K_contra, V_co, X_contra]):
    """`async (keys, extra) -> [(value, ttl_or_None), ...]`: fetch many, one result per key."""

    def __call__(self, keys: Sequence[K_contra], extra: X_contra | None, /) -> Awaitable[
        Sequence[tuple[V_co, float | None]]
    ]: ...


class CacheLookupError(Exception):
    """A lookup failed (its exception is `__cause__`); nothing was cached.

    `status` is what the cache had for the key: MISS or EXPIRED.
    """

    def __init__(self, key: object, status: CacheStatus) -> None:
        super().__init__(f"RTCache: lookup error for key {key!r}")
        self.key = key
        self.status = status


class _KeyLock:
    """One in-flight lookup: waiters wait on `done`; `error` is what the lookup raised."""

    __slots__ = ("done", "error", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.done = anyio.Event()
        self.error: BaseException | None = None


def _check_pair(result: object) -> tuple[Any, float | None]:
    try:
        value, ttl = cast(tuple[Any, Any], result)
    except (TypeError, ValueError):
        raise TypeError(f"a lookup must return a (value, ttl) pair, got {result!r}") from None
    return value, check_ttl(ttl, "the ttl a lookup returned")


class RTCache(Generic[K, V, X]):
    """Read-through cache of `size` entries filled by `lookup(key, extra)` on a miss.

    `lock_age`: a lookup lock older than this many seconds is ignored (the caller looks up on its
    own and does not cache the result). `lock_timeout`: a waiter gives up after this many seconds
    and looks up on its own. `multi_lookup` serves `multi_get`; without it the missing keys are
    looked up concurrently with `lookup`. `clock` (monotonic seconds) drives TTLs and lock age.
    """

    def __init__(
        self,
        size: int,
        lookup: Lookup[K, V, X],
        lock_age: float | None = None,
        lock_timeout: float | None = None,
        *,
        multi_lookup: MultiLookup[K, V, X] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        if not callable(lookup):
            raise TypeError(f"lookup must be an async callable, got {lookup!r}")
        if multi_lookup is not None and not callable(multi_lookup):
            raise TypeError(f"multi_lookup must be an async callable, got {multi_lookup!r}")
        self._inner: MemoryCache[K, V] = MemoryCache(size, clock=clock)
        self._lookup = lookup
        self._multi_lookup = multi_lookup
        self._lock_age = check_ttl(lock_age, "lock_age")
        self._lock_timeout = check_ttl(lock_timeout, "lock_timeout")
        self._clock = clock
        self._locks: dict[K, _KeyLock] = {}
        self._refreshes: dict[K, asyncio.Task[None]] = {}
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"RTCache(size={self._inner.size}, len={len(self._inner)}, "
            f"lock_age={self._lock_age}, lock_timeout={self._lock_timeout}, "
            f"locks={len(self._locks)}, refreshes={len(self._refreshes)}, closed={self._closed})"
        )

    @property
    def memory_cache(self) -> MemoryCache[K, V]:
        """The MemoryCache underneath (for inspection, direct puts or removals)."""
        return self._inner

    def remove(self, key: K) -> None:
        """Drop `key` from the cache; the next `get` looks it up again."""
        self._inner.remove(key)

    async def get(
        self, key: K, ttl: float | None = None, extra: X | None = None
    ) -> tuple[V, CacheStatus]:
        """The cached value with HIT, or look it up: `(value, MISS | EXPIRED | LOCK_HIT)`.

        `ttl` applies when the lookup returns no TTL of its own. Raises CacheLookupError when
        the lookup fails (also for callers that were waiting on that lookup).
        """
        check_ttl(ttl)
        value, status = self._inner.get(key)
        if status is _HIT:
            return cast(V, value), status
        lock = self._locks.get(key)
        if lock is not None:
            if self._lock_age is None or self._clock() - lock.started <= self._lock_age:
                return await self._wait(lock, key, ttl, extra, status)
            # a stale lock: look up alone and do not cache, so writers do not pile up
            found, _ = await self._call_lookup(key, extra, status)
            return found, status
        lock = self._locks[key] = _KeyLock(self._clock())
        try:
            found, new_ttl = await self._call_lookup(key, extra, status)
        except CacheLookupError as exc:
            lock.error = exc.__cause__
            raise
        finally:  # also on cancellation: waiters wake and look up themselves
            lock.done.set()
            if self._locks.get(key) is lock:
                del self._locks[key]
        self._inner.force_put(key, found, ttl if new_ttl is None else new_ttl)
        return found, status

    async def get_stale(
        self,
        key: K,
        ttl: float | None = None,
        extra: X | None = None,
        *,
        stale_ttl: float,
    ) -> tuple[V, CacheStatus]:
        """Like `get`, but a value expired at most `stale_ttl` seconds ago is served as stale."""
        stale_limit = check_ttl(stale_ttl, "stale_ttl")
        value, status = self._inner.get_stale(key)
        if status is _HIT or (
            status.stale_for is not None
            and stale_limit is not None
            and status.stale_for <= stale_limit
        ):
            return cast(V, value), status
        return await self.get(key, ttl, extra)

    async def get_stale_while_update(
        self,
        key: K,
        ttl: float | None = None,
        extra: X | None = None,
        *,
        stale_ttl: float,
    ) -> tuple[V, CacheStatus]:
        """Like `get_stale`; serving a stale value also starts a background refresh of `key`.

        Needs a running asyncio event loop. The refresh is owned by this cache (see `aclose`).
        """
        if self._closed:
            raise RuntimeError("RTCache is closed: it no longer starts background refreshes")
        value, status = await self.get_stale(key, ttl, extra, stale_ttl=stale_ttl)
        if status.is_stale and key not in self._refreshes:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError("get_stale_while_update needs an asyncio event loop") from None
            task = loop.create_task(self._refresh(key, ttl, extra))
            self._refreshes[key] = task
            task.add_done_callback(lambda done: self._forget_refresh(key, done))
        return value, status

    async def multi_get(
        self, keys: Iterable[K], ttl: float | None = None, extra: X | None = None
    ) -> list[tuple[V, CacheStatus]]:
        """`get` for many keys with one batched lookup of the missing ones (no coalescing).

        Fresh values come back with HIT, looked-up ones with MISS. On a lookup failure
        CacheLookupError is raised and nothing is cached.
        """
        check_ttl(ttl)
        results, missed = self._inner.multi_get_with_miss(keys)
        fetched: list[tuple[V, float | None]] = []
        if missed:
            fetched = await self._call_multi_lookup(missed, extra)
            for key, (found, new_ttl) in zip(missed, fetched, strict=True):
                self._inner.force_put(key, found, ttl if new_ttl is None else new_ttl)
        answers: list[tuple[V, CacheStatus]] = []
        next_fetched = iter(fetched)
        for value, status in results:
            if status is _HIT:
                answers.append((cast(V, value), status))
            else:
                answers.append((next(next_fetched)[0], CacheStatus.MISS))
        return answers

    async def wait_refreshes(self) -> None:
        """Wait until the background refreshes in flight (and any they start) have finished."""
        while self._refreshes:
            await asyncio.wait(list(self._refreshes.values()))

    async def aclose(self) -> None:
        """Cancel and await the background refreshes; no new ones start afterwards."""
        self._closed = True
        tasks = list(self._refreshes.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def __aenter__(self) -> RTCache[K, V, X]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- internals ------------------------------------------------------------------------------

    async def _wait(
        self, lock: _KeyLock, key: K, ttl: float | None, extra: X | None, status: CacheStatus
    ) -> tuple[V, CacheStatus]:
        if not lock.done.is_set():
            if self._lock_timeout is None:
                await lock.done.wait()
            else:
                with anyio.move_on_after(self._lock_timeout):
                    await lock.done.wait()
                if not lock.done.is_set():  # timed out: look up alone, leave caching to the writer
                    found, _ = await self._call_lookup(key, extra, status)
                    return found, status
        if lock.error is not None:
            raise CacheLookupError(key, status) from lock.error
        value, status = self._inner.get(key)
        if status is _HIT:
            return cast(V, value), CacheStatus.LOCK_HIT
        # the writer was cancelled or its value was not kept (ttl 0, evicted): look up again
        logger.debug("RTCache: no value for %r after waiting on its lock (%s)", key, status.name)
        found, new_ttl = await self._call_lookup(key, extra, status)
        self._inner.force_put(key, found, ttl if new_ttl is None else new_ttl)
        return found, status

    async def _call_lookup(
        self, key: K, extra: X | None, status: CacheStatus
    ) -> tuple[V, float | None]:
        try:
            return _check_pair(await self._lookup(key, extra))
        except Exception as exc:
            raise CacheLookupError(key, status) from exc

    async def _call_multi_lookup(
        self, keys: list[K], extra: X | None
    ) -> list[tuple[V, float | None]]:
        try:
            if self._multi_lookup is not None:
                found = list(await self._multi_lookup(keys, extra))
                if len(found) != len(keys):
                    raise ValueError(
                        f"multi_lookup returned {len(found)} results for {len(keys)} keys"
                    )
                return [_check_pair(pair) for pair in found]
            return await self._lookup_each(keys, extra)
        except Exception as exc:
            raise CacheLookupError(keys, CacheStatus.MISS) from exc

    async def _lookup_each(self, keys: list[K], extra: X | None) -> list[tuple[V, float | None]]:
        found: list[tuple[V, float | None]] = [cast(Any, None)] * len(keys)

        async def one(index: int, key: K) -> None:
            found[index] = _check_pair(await self._lookup(key, extra))

        try:
            async with anyio.create_task_group() as group:
                for index, key in enumerate(keys):
                    group.start_soon(one, index, key)
        except ExceptionGroup as group_error:
            if len(group_error.exceptions) == 1:
                raise group_error.exceptions[0] from None
            raise
        return found

    async def _refresh(self, key: K, ttl: float | None, extra: X | None) -> None:
        try:
            await self.get(key, ttl, extra)
        except CacheLookupError as exc:
            logger.warning("RTCache: background refresh of %r failed: %r", key, exc.__cause__)
        except Exception:
            logger.exception("RTCache: background refresh of %r crashed", key)

    def _forget_refresh(self, key: K, task: asyncio.Task[None]) -> None:
        if self._refreshes.get(key) is task:
            del self._refreshes[key]
