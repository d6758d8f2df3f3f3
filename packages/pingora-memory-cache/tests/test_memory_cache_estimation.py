"""The TinyLFU count-min sketch: sizing, saturation and aging."""

from __future__ import annotations

import pytest

from pingora_memory_cache._estimation import TinyLfu, optimal_parameters


def test_optimal_parameters_match_pingora() -> None:
    assert optimal_parameters(1_000_000) == (2_718_282, 20)
    assert optimal_parameters(10_000) == (27_183, 14)
    assert optimal_parameters(5) == (16, 3)
    assert optimal_parameters(1) == (16, 2)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_optimal_parameters_reject_bad_sizes(bad: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        optimal_parameters(bad)  # type: ignore[arg-type]


def test_tiny_lfu_counts_and_ages() -> None:
    tiny = TinyLfu(1)  # window of 8 increments
    assert tiny.get(1) == 0
    assert tiny.incr(1) == 1
    assert tiny.incr(1) == 2
    assert tiny.get(1) == 2

    two = tiny.get(2)
    assert tiny.incr(2) == two + 1
    assert tiny.incr(2) == two + 2
    assert tiny.get(2) == two + 2

    three = tiny.get(3)
    for n in range(1, 5):
        assert tiny.incr(3) == three + n

    # 8 increments: the next one halves every counter first
    assert tiny.incr(3) >= 3  # had 4, halved to 2, plus one
    assert tiny.incr(1) >= 2  # had 2, halved to 1, plus one
    assert tiny.incr(2) >= 2
    assert tiny.get(3) <= 3 + three


def test_counters_saturate_at_255() -> None:
    tiny = TinyLfu(1000)  # a window of 8000 increments: no aging here
    for _ in range(300):
        last = tiny.incr("hot")
    assert last == 255
    assert tiny.get("hot") == 255


def test_age_halves_everything() -> None:
    tiny = TinyLfu(100)
    for _ in range(10):
        tiny.incr("k")
    tiny.age()
    assert tiny.get("k") == 5
    assert "width=" in repr(tiny)
    assert (tiny.width, tiny.depth) == optimal_parameters(100)
