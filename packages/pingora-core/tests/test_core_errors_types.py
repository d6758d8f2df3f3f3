"""ErrorType, ErrorSource and RetryType: names as Pingora's, value semantics, bad input."""

from __future__ import annotations

import copy
import pickle

import pytest

from pingora_core.errors import ErrorSource, ErrorType, RetryType

# pingora-error's ErrorType variants without data, in its order.
PINGORA_FIXED = (
    "ConnectTimedout", "ConnectRefused", "ConnectNoRoute", "TLSHandshakeFailure",
    "TLSHandshakeTimedout", "InvalidCert", "HandshakeError", "ConnectError", "BindError",
    "AcceptError", "SocketError", "ConnectProxyFailure", "InvalidHTTPHeader", "H1Error", "H2Error",
    "H2Downgrade", "InvalidH2", "ReadError", "WriteError", "ReadTimedout", "WriteTimedout",
    "ConnectionClosed", "FileOpenError", "FileCreateError", "FileReadError", "FileWriteError",
    "InternalError", "UnknownError",
)  # fmt: skip


@pytest.mark.parametrize("name", PINGORA_FIXED)
def test_fixed_kind_prints_its_pingora_name(name: str) -> None:
    etype = getattr(ErrorType, name)
    assert isinstance(etype, ErrorType)
    assert str(etype) == etype.as_str() == etype.name == name
    assert repr(etype) == f"ErrorType.{name}"
    assert etype.code is None
    assert not etype.is_custom


def test_fixed_kinds_are_all_distinct() -> None:
    kinds = {getattr(ErrorType, name) for name in PINGORA_FIXED}
    assert len(kinds) == len(PINGORA_FIXED)


def test_http_status_prints_as_pingora_as_str() -> None:
    status = ErrorType.HTTPStatus(502)
    assert str(status) == "HTTPStatus"
    assert status.as_str() == "HTTPStatus"
    assert status.code == 502
    assert repr(status) == "ErrorType.HTTPStatus(502)"


def test_values_compare_and_hash_by_value() -> None:
    assert ErrorType.HTTPStatus(502) == ErrorType.HTTPStatus(502)
    assert hash(ErrorType.HTTPStatus(502)) == hash(ErrorType.HTTPStatus(502))
    assert ErrorType.HTTPStatus(502) != ErrorType.HTTPStatus(503)
    assert ErrorType.Custom("Mine") == ErrorType.Custom("Mine")
    assert ErrorType.CustomCode("Mine", 7) == ErrorType.CustomCode("Mine", 7)
    assert ErrorType.CustomCode("Mine", 7) != ErrorType.CustomCode("Mine", 8)
    table = {ErrorType.HTTPStatus(404): "a", ErrorType.Custom("x"): "b"}
    assert table[ErrorType.HTTPStatus(404)] == "a"
    assert table[ErrorType.Custom("x")] == "b"
    assert ErrorType.ConnectRefused != "ConnectRefused"


def test_variants_with_the_same_name_differ() -> None:
    # As Pingora's derived equality: the variant is part of the value.
    assert ErrorType.Custom("ConnectRefused") != ErrorType.ConnectRefused
    assert ErrorType.Custom("HTTPStatus") != ErrorType.HTTPStatus(500)
    assert ErrorType.Custom("Mine") != ErrorType.CustomCode("Mine", 0)


def test_custom_kinds() -> None:
    custom = ErrorType.Custom("RateLimited")
    assert str(custom) == "RateLimited"
    assert custom.is_custom
    assert custom.code is None
    assert repr(custom) == "ErrorType.Custom('RateLimited')"
    coded = ErrorType.CustomCode("RateLimited", 429)
    assert str(coded) == "RateLimited"
    assert coded.code == 429
    assert coded.is_custom
    assert repr(coded) == "ErrorType.CustomCode('RateLimited', 429)"


def test_values_are_immutable() -> None:
    status = ErrorType.HTTPStatus(500)
    with pytest.raises(AttributeError, match="immutable"):
        status._code = 501  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        status.anything = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="immutable"):
        del status._code
    assert not hasattr(status, "__dict__")
    assert status.code == 500


@pytest.mark.parametrize(
    "etype",
    [
        ErrorType.ConnectRefused,
        ErrorType.HTTPStatus(418),
        ErrorType.Custom("Mine"),
        ErrorType.CustomCode("Mine", 65535),
    ],
)
def test_values_survive_pickle_and_copy(etype: ErrorType) -> None:
    assert pickle.loads(pickle.dumps(etype)) == etype
    assert copy.copy(etype) is etype
    assert copy.deepcopy(etype) is etype


def test_fixed_kinds_stay_singletons_through_pickle() -> None:
    assert pickle.loads(pickle.dumps(ErrorType.ReadError)) is ErrorType.ReadError


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: ErrorType.HTTPStatus(99), ValueError, "100..=999"),
        (lambda: ErrorType.HTTPStatus(1000), ValueError, "100..=999"),
        (lambda: ErrorType.HTTPStatus("502"), TypeError, "int"),
        (lambda: ErrorType.HTTPStatus(True), TypeError, "int"),
        (lambda: ErrorType.HTTPStatus(502.0), TypeError, "int"),
        (lambda: ErrorType.Custom(""), ValueError, "empty"),
        (lambda: ErrorType.Custom(b"x"), TypeError, "str"),
        (lambda: ErrorType.CustomCode("x", -1), ValueError, "0..=65535"),
        (lambda: ErrorType.CustomCode("x", 65536), ValueError, "0..=65535"),
        (lambda: ErrorType.CustomCode(None, 1), TypeError, "str"),
    ],
)
def test_bad_input_gets_a_clear_error(
    make: object, error: type[Exception], message: str
) -> None:
    assert callable(make)
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (ErrorSource.UPSTREAM, "Upstream"),
        (ErrorSource.DOWNSTREAM, "Downstream"),
        (ErrorSource.INTERNAL, "Internal"),
        (ErrorSource.UNSET, ""),
    ],
)
def test_error_source_prints_as_pingora(source: ErrorSource, text: str) -> None:
    assert source.as_str() == text
    assert str(source) == text


@pytest.mark.parametrize(
    ("retry", "reused", "decided"),
    [
        (RetryType.REUSED_ONLY, True, RetryType.TRUE),
        (RetryType.REUSED_ONLY, False, RetryType.FALSE),
        (RetryType.TRUE, False, RetryType.TRUE),
        (RetryType.TRUE, True, RetryType.TRUE),
        (RetryType.FALSE, True, RetryType.FALSE),
        (RetryType.FALSE, False, RetryType.FALSE),
    ],
)
def test_decide_reuse(retry: RetryType, reused: bool, decided: RetryType) -> None:
    assert retry.decide_reuse(reused) is decided
    assert decided.is_decided


def test_retry_truth_is_the_decision() -> None:
    assert bool(RetryType.TRUE) is True
    assert bool(RetryType.FALSE) is False
    assert RetryType.from_bool(True) is RetryType.TRUE
    assert RetryType.from_bool(False) is RetryType.FALSE
    assert not RetryType.REUSED_ONLY.is_decided


def test_undecided_retry_refuses_to_answer() -> None:
    with pytest.raises(RuntimeError, match="decide_reuse"):
        bool(RetryType.REUSED_ONLY)


def test_retry_bad_input() -> None:
    with pytest.raises(TypeError, match="bool"):
        RetryType.from_bool(1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bool"):
        RetryType.REUSED_ONLY.decide_reuse("yes")  # type: ignore[arg-type]
