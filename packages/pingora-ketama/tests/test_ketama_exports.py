"""The public names of pingora_ketama are locked: a change here is a deliberate API change."""

from __future__ import annotations

import pingora_ketama


def test_public_names_are_locked() -> None:
    assert set(pingora_ketama.__all__) == {
        "POINTS_PER_WEIGHT",
        "Bucket",
        "Continuum",
        "LibketamaContinuum",
    }
    assert len(pingora_ketama.__all__) == len(set(pingora_ketama.__all__))


def test_every_public_name_exists_and_is_documented() -> None:
    for name in pingora_ketama.__all__:
        obj = getattr(pingora_ketama, name)
        if isinstance(obj, type):
            assert obj.__doc__, name
    assert pingora_ketama.POINTS_PER_WEIGHT == 160


def test_reprs_show_state() -> None:
    b = pingora_ketama.Bucket("127.0.0.1:80", 2)
    assert repr(pingora_ketama.Continuum([b])) == "Continuum(buckets=1, points=320)"
    assert repr(pingora_ketama.LibketamaContinuum([b])) == (
        "LibketamaContinuum(buckets=1, points=160)"
    )
