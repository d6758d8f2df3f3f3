"""The public surface of pingora_limits is exactly what the package promises."""

from __future__ import annotations

import importlib.resources

import pingora_limits


def test_public_names_are_locked() -> None:
    assert set(pingora_limits.__all__) == {
        "Estimator",
        "Inflight",
        "InflightGuard",
        "Rate",
        "RateComponents",
        "proportional_rate_estimate",
    }
    assert len(pingora_limits.__all__) == len(set(pingora_limits.__all__))


def test_every_public_name_is_defined_and_documented() -> None:
    for name in pingora_limits.__all__:
        obj = getattr(pingora_limits, name)
        assert obj.__doc__, name
        assert obj.__module__.startswith("pingora_limits."), name


def test_package_is_typed() -> None:
    assert importlib.resources.files("pingora_limits").joinpath("py.typed").is_file()
