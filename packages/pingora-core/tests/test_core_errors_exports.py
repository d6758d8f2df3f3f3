"""The public names of pingora_core.errors are locked, and re-exported by pingora_core."""

from __future__ import annotations

import pingora_core
import pingora_core.errors

ERRORS_API = {
    "Error",
    "ErrorSource",
    "ErrorType",
    "Phase",
    "RetryType",
    "err_context",
    "explain_err",
    "map_exception",
    "map_exceptions",
    "ok_or_err",
    "or_err",
    "or_err_with",
    "or_fail",
}


def test_errors_all_is_locked() -> None:
    assert set(pingora_core.errors.__all__) == ERRORS_API
    assert len(pingora_core.errors.__all__) == len(ERRORS_API)


def test_core_reexports_the_errors_names() -> None:
    for name in ERRORS_API:
        assert name in pingora_core.__all__
        assert getattr(pingora_core, name) is getattr(pingora_core.errors, name)


def test_public_names_are_defined_in_private_modules() -> None:
    for name in ERRORS_API:
        module = getattr(pingora_core.errors, name).__module__
        assert module.startswith("pingora_core.errors._"), (name, module)


def test_packages_say_what_they_are_for() -> None:
    assert pingora_core.__doc__ is not None
    assert "engine" in pingora_core.__doc__
    assert pingora_core.errors.__doc__
