"""Inflight: Pingora's guard sequence, exactly-once release in every way a guard can end."""

from __future__ import annotations

import gc
import threading

import pytest

from pingora_limits import Inflight, InflightGuard


def test_inflight_count() -> None:
    inflight = Inflight()
    g1, v = inflight.incr("a", 1)
    assert v == 1
    g2, v = inflight.incr("a", 2)
    assert v == 3
    g1.release()
    assert g2.get() == 2
    g2.release()
    g3, v = inflight.incr("a", 1)
    assert v == 1
    g3.release()
    assert inflight.get("a") == 0


def test_release_twice_is_a_no_op() -> None:
    inflight = Inflight()
    guard, _ = inflight.incr("a", 2)
    _other, _ = inflight.incr("a", 1)
    guard.release()
    guard.release()
    assert inflight.get("a") == 1
    assert guard.released


def test_context_manager_releases_on_exit_and_on_error() -> None:
    inflight = Inflight()
    guard, count = inflight.incr(b"upstream", 1)
    with guard as held:
        assert held is guard
        assert count == inflight.get(b"upstream") == 1
    assert inflight.get(b"upstream") == 0

    guard, _ = inflight.incr(b"upstream", 1)
    with pytest.raises(RuntimeError), guard:
        raise RuntimeError("boom")
    assert inflight.get(b"upstream") == 0
    guard.release()
    assert inflight.get(b"upstream") == 0


def test_release_inside_with_block_still_counts_once() -> None:
    inflight = Inflight()
    guard, _ = inflight.incr("a", 4)
    with guard:
        guard.release()
        assert inflight.get("a") == 0
    assert inflight.get("a") == 0


def test_forgotten_guard_gives_back_when_collected() -> None:
    inflight = Inflight()
    keep, _ = inflight.incr("a", 1)
    inflight.incr("a", 5)  # guard dropped at once, as Pingora's does when not bound
    gc.collect()
    assert inflight.get("a") == 1
    del keep
    gc.collect()
    assert inflight.get("a") == 0


def test_released_guard_collected_later_does_not_give_back_again() -> None:
    inflight = Inflight()
    guard, _ = inflight.incr("a", 1)
    _still, _ = inflight.incr("a", 1)
    guard.release()
    del guard
    gc.collect()
    assert inflight.get("a") == 1


def test_racing_releases_give_back_once() -> None:
    inflight = Inflight()
    guards = [inflight.incr("k", 1)[0] for _ in range(200)]
    _held, _ = inflight.incr("k", 1)
    barrier = threading.Barrier(4)

    def release_all() -> None:
        barrier.wait()
        for guard in guards:
            guard.release()

    threads = [threading.Thread(target=release_all) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # only the increments raced out of the counters; the one still held is still there
    assert inflight.get("k") == 1


def test_guard_state_and_repr() -> None:
    inflight = Inflight(hashes=2, slots=64)
    guard, _ = inflight.incr("a", 3)
    assert isinstance(guard, InflightGuard)
    assert (guard.key, guard.value, guard.released) == ("a", 3, False)
    assert repr(guard) == "InflightGuard(key='a', value=3, released=False)"
    guard.release()
    assert repr(guard) == "InflightGuard(key='a', value=3, released=True)"
    assert repr(inflight) == "Inflight(hashes=2, slots=64)"


def test_bad_input_is_rejected_without_counting() -> None:
    inflight = Inflight()
    with pytest.raises(TypeError, match="key must be str or bytes"):
        inflight.incr(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="count must be an int"):
        inflight.incr("a", 1.5)  # type: ignore[arg-type]
    assert inflight.get("a") == 0
    with pytest.raises(ValueError, match="slots"):
        Inflight(slots=0)
