"""Locks the public names of pingora_http: adding or removing one must be a deliberate change."""

from __future__ import annotations

import pingora_http


def test_public_names_are_locked() -> None:
    assert set(pingora_http.__all__) == {
        "CANONICAL_REASONS",
        "TITLE_CASE",
        "HeaderMap",
        "InvalidHeaderError",
        "RawTargetAuthority",
        "RequestHeader",
        "ResponseHeader",
        "canonical_reason",
        "raw_target_authority",
    }
    for name in pingora_http.__all__:
        assert getattr(pingora_http, name) is not None


def test_error_is_a_value_error_with_a_reason() -> None:
    err = pingora_http.InvalidHeaderError("bad thing")
    assert isinstance(err, ValueError)
    assert err.reason == "bad thing"
    assert str(err) == "bad thing"
    assert "bad thing" in repr(err)
