"""Rate: Pingora's window sequences replayed on a stepped clock, plus window edge cases."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pingora_limits import Rate, RateComponents, proportional_rate_estimate


class StepClock:
    """A clock that only moves when told to (seconds, exact binary fractions in these tests)."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ninety_ten(c: RateComponents) -> float:
    return (c.prev_samples * 0.1 + c.curr_samples * 0.9) / c.interval


def components(c: RateComponents) -> RateComponents:
    return c


def test_observe_rate() -> None:
    clock = StepClock()
    r = Rate(1, clock=clock)
    # second 0
    assert r.observe("1", 3) == 3
    assert r.observe("1", 2) == 5
    assert r.rate("1") == 0.0  # no completed window yet
    # second 1
    clock.advance(1)
    assert r.observe("1", 4) == 4
    assert r.rate("1") == 5.0
    # second 2
    clock.advance(1)
    assert r.rate("1") == 4.0
    # second 3
    clock.advance(1)
    assert r.rate("1") == 0.0  # nothing observed in the past two seconds


def test_observe_rate_custom_90_10() -> None:
    clock = StepClock()
    r = Rate(1, clock=clock)
    assert r.observe("1", 3) == 3
    assert r.observe("1", 2) == 5
    assert r.rate_with("1", ninety_ten) == 5 * 0.9
    clock.advance(1)
    assert r.observe("1", 4) == 4
    assert r.rate_with("1", ninety_ten) == 5 * 0.1 + 4 * 0.9
    clock.advance(1)
    assert r.rate_with("1", ninety_ten) == 4 * 0.1
    clock.advance(1)
    assert r.rate_with("1", ninety_ten) == 0.0


def test_observe_rate_custom_proportional() -> None:
    clock = StepClock()
    r = Rate(1, clock=clock)
    assert r.observe("1", 3) == 3
    assert r.observe("1", 2) == 5
    assert r.rate_with("1", proportional_rate_estimate) == 5.0
    # second 0.5
    clock.advance(0.5)
    assert r.rate_with("1", proportional_rate_estimate) == 5.0
    assert r.rate("1") == 0.0  # rate() only looks at the completed window
    # second 1
    clock.advance(0.5)
    assert r.observe("1", 4) == 4
    assert r.rate_with("1", proportional_rate_estimate) == 9.0
    # second 1.75
    clock.advance(0.75)
    assert r.rate_with("1", proportional_rate_estimate) == 5 * 0.25 + 4
    # second 2
    clock.advance(0.25)
    assert r.rate_with("1", proportional_rate_estimate) == 4.0
    assert r.rate("1") == 4.0
    # second 2.5
    clock.advance(0.5)
    assert r.rate_with("1", proportional_rate_estimate) == 4 / 2
    assert r.rate("1") == 4.0
    # second 3.5: the window opened at second 2 has closed empty
    clock.advance(1)
    assert r.rate_with("1", proportional_rate_estimate) == 0.0


def test_components_mid_window() -> None:
    clock = StepClock()
    r = Rate(10, clock=clock)
    r.observe("k", 7)
    clock.advance(10)
    r.observe("k", 2)
    clock.advance(2)
    got = r.rate_with("k", components)
    assert got == RateComponents(
        prev_samples=7, curr_samples=2, interval=10.0, current_interval_fraction=0.2
    )


def test_window_opens_at_first_call_after_expiry() -> None:
    clock = StepClock(0.0)
    r = Rate(1, clock=clock)
    r.observe("k", 1)
    clock.advance(1.5)  # expired: the next window opens now, at 1.5, not at 1.0
    assert r.observe("k", 2) == 2
    clock.advance(0.75)  # 2.25 would be in a new window on a fixed grid; here it is not
    assert r.observe("k", 3) == 5
    assert r.rate("k") == 1.0
    clock.advance(0.25)  # 2.5: one full interval since 1.5
    assert r.observe("k", 1) == 1
    assert r.rate("k") == 5.0


def test_rolling_call_reports_fresh_window_with_zero_fraction() -> None:
    clock = StepClock()
    r = Rate(1, clock=clock)
    r.observe("k", 6)
    clock.advance(1.25)  # between one and two intervals: the previous window still counts
    got = r.rate_with("k", components)
    assert (got.prev_samples, got.curr_samples, got.current_interval_fraction) == (6, 0, 0.0)
    clock.advance(0.5)
    assert r.rate_with("k", components).current_interval_fraction == 0.5


def test_two_idle_intervals_make_both_windows_stale() -> None:
    clock = StepClock()
    r = Rate(2, clock=clock)
    r.observe("k", 10)
    clock.advance(4)
    assert r.rate_with("k", components) == RateComponents(
        prev_samples=0, curr_samples=0, interval=2.0, current_interval_fraction=0.0
    )
    # the stale counts are gone for good, not just hidden for one call
    assert r.rate("k") == 0.0
    assert r.observe("k", 1) == 1
    clock.advance(2)
    assert r.rate("k") == 0.5


def test_stale_count_does_not_leak_into_next_window() -> None:
    clock = StepClock()
    r = Rate(1, clock=clock)
    r.observe("k", 10)
    clock.advance(2.5)
    assert r.observe("k", 1) == 1
    clock.advance(1)
    assert r.rate("k") == 1.0


def test_keys_are_counted_apart() -> None:
    clock = StepClock()
    r = Rate(1, clock=clock)
    r.observe("a", 3)
    r.observe(b"a", 4)
    r.observe("b", 5)
    clock.advance(1)
    assert (r.rate("a"), r.rate(b"a"), r.rate("b"), r.rate("c")) == (3.0, 4.0, 5.0, 0.0)


def test_fractional_interval_reports_per_second() -> None:
    clock = StepClock()
    r = Rate(0.25, clock=clock)
    r.observe("k", 5)
    clock.advance(0.25)
    assert r.rate("k") == 20.0


def test_default_clock_is_monotonic_time() -> None:
    r = Rate(3600)
    assert r.observe("k", 2) == 2
    assert r.rate("k") == 0.0
    assert r.rate_with("k", components).curr_samples == 2


def test_estimator_size_is_configurable() -> None:
    r = Rate(1, hashes=2, slots=16, clock=StepClock())
    assert "hashes=2, slots=16" in repr(r)


def test_repr_shows_window_state() -> None:
    clock = StepClock()
    r = Rate(1.5, clock=clock)
    clock.advance(0.5)
    assert repr(r) == "Rate(interval=1.5, hashes=4, slots=1024, window_elapsed=0.500)"
    assert r.interval == 1.5


def test_components_are_frozen_and_keyword_only() -> None:
    c = RateComponents(prev_samples=1, curr_samples=2, interval=1.0, current_interval_fraction=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.prev_samples = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        RateComponents(1, 2, 1.0, 0.0)  # type: ignore[call-arg]


def test_proportional_estimate_formula() -> None:
    c = RateComponents(
        prev_samples=10, curr_samples=4, interval=2.0, current_interval_fraction=0.25
    )
    assert proportional_rate_estimate(c) == (10 * 0.75 + 4) / 2


@pytest.mark.parametrize(
    ("interval", "error"),
    [
        (0, ValueError),
        (-1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (True, TypeError),
        ("1", TypeError),
        (None, TypeError),
    ],
)
def test_bad_interval_is_rejected(interval: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="interval"):
        Rate(interval)  # type: ignore[arg-type]


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(TypeError, match="clock must be callable"):
        Rate(1, clock=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="slots"):
        Rate(1, slots=0)
    with pytest.raises(TypeError, match="key must be str or bytes"):
        Rate(1).observe(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="count must be an int"):
        Rate(1).observe("k", 0.5)  # type: ignore[arg-type]
