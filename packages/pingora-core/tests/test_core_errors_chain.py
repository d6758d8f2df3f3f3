"""Error: Pingora's display tests ported case for case, retry inheritance, root cause, helpers."""

from __future__ import annotations

import asyncio
import pickle
import traceback
from collections.abc import Callable

import pytest

from pingora_core.errors import (
    Error,
    ErrorSource,
    ErrorType,
    RetryType,
    err_context,
    explain_err,
    ok_or_err,
    or_err,
    or_err_with,
    or_fail,
)

ET = ErrorType

# -- pingora-error's unit tests, with their exact expected strings --------------------------------


def test_chain_of_error() -> None:
    e1 = Error.new(ET.InternalError)
    e2 = Error.new(ET.HTTPStatus(400))
    e2.set_cause(e1)
    assert str(e2) == " HTTPStatus cause:  InternalError"
    assert e2.root_etype().as_str() == "InternalError"

    e3 = Error.new(ET.InternalError)
    e4 = Error.because(ET.HTTPStatus(400), "test", e3)
    assert str(e4) == " HTTPStatus context: test cause:  InternalError"
    assert e4.root_etype().as_str() == "InternalError"


def test_error_context() -> None:
    e1 = Error.new(ET.InternalError)
    e1.set_context(f"{'my'} {'context'}")
    assert str(e1) == " InternalError context: my context"


def test_context_trait() -> None:
    with pytest.raises(Error) as caught, err_context("another"):
        raise Error.new(ET.InternalError)
    assert str(caught.value) == " InternalError context: another cause: "


def test_cause_trait() -> None:
    with pytest.raises(Error) as caught, or_err(ET.HTTPStatus(400), "another"):
        raise Error.new(ET.InternalError)
    assert str(caught.value) == " HTTPStatus context: another cause:  InternalError"


def test_option_some_ok() -> None:
    assert ok_or_err(2, ET.InternalError, "some is not an error!") == 2
    assert ok_or_err(0, ET.InternalError, "falsy is not None") == 0


def test_option_none_err() -> None:
    with pytest.raises(Error) as caught:
        ok_or_err(None, ET.InternalError, "none is an error!")
    assert str(caught.value) == " InternalError context: none is an error!"


def test_into() -> None:
    def surface_err() -> None:
        with or_fail():
            raise Exception("oops")

    with pytest.raises(Error) as caught:
        surface_err()
    assert str(caught.value) == " InternalError context:  cause: oops"


# -- display: sources and types are left out when they repeat along the chain -------------------


def _down_refused() -> Error:
    error = Error.new_down(ET.ConnectRefused)
    error.set_context("while connecting to 192.0.2.1:80")
    return error


DISPLAY_CASES: list[tuple[str, Callable[[], Error], str]] = [
    ("source and type", _down_refused,
     "Downstream ConnectRefused context: while connecting to 192.0.2.1:80"),
    ("new_up", lambda: Error.new_up(ET.ConnectTimedout), "Upstream ConnectTimedout"),
    ("new_in", lambda: Error.new_in(ET.InternalError), "Internal InternalError"),
    ("unset source is empty", lambda: Error.new(ET.ReadError), " ReadError"),
    ("explain", lambda: Error.explain(ET.H1Error, "bad chunk"), " H1Error context: bad chunk"),
    ("empty context still prints", lambda: Error.explain(ET.H1Error, ""), " H1Error context: "),
    ("more_context repeats neither source nor type",
     lambda: _down_refused().more_context("retrying"),
     "Downstream ConnectRefused context: retrying cause: "
     " context: while connecting to 192.0.2.1:80"),
    ("because with a different source and type",
     lambda: Error.because(ET.ReadError, "reading", _down_refused()).into_up(),
     "Upstream ReadError context: reading cause: Downstream ConnectRefused "
     "context: while connecting to 192.0.2.1:80"),
    ("same source, new type", lambda: Error.new_up(ET.ReadError).more_context("a"),
     "Upstream ReadError context: a cause: "),
    ("two status codes both print",
     lambda: Error.because(ET.HTTPStatus(502), "up", Error.new(ET.HTTPStatus(500))),
     " HTTPStatus context: up cause:  HTTPStatus"),
    ("same status prints once",
     lambda: Error.because(ET.HTTPStatus(500), "up", Error.new(ET.HTTPStatus(500))),
     " HTTPStatus context: up cause: "),
    ("custom", lambda: Error.new_str("RateLimited"), " RateLimited"),
    ("custom code", lambda: Error.new_up(ET.CustomCode("Quota", 429)), "Upstream Quota"),
    ("foreign cause prints its message",
     lambda: Error.because(ET.ConnectRefused, "dial", ConnectionRefusedError(111, "refused")),
     " ConnectRefused context: dial cause: [Errno 111] refused"),
    ("foreign cause without a message prints its class",
     lambda: Error.because(ET.ReadTimedout, "read", TimeoutError()),
     " ReadTimedout context: read cause: TimeoutError"),
    ("foreign cause ends the chain even if it has its own cause",
     lambda: Error.because(ET.UnknownError, "x", _chained_value_error()),
     " UnknownError context: x cause: outer"),
]  # fmt: skip


def _chained_value_error() -> ValueError:
    outer = ValueError("outer")
    outer.__cause__ = Error.new(ET.InternalError)
    return outer


@pytest.mark.parametrize(("make", "text"), [(m, t) for _, m, t in DISPLAY_CASES],
                         ids=[name for name, _, _ in DISPLAY_CASES])
def test_display(make: Callable[[], Error], text: str) -> None:
    assert str(make()) == text


def test_display_survives_a_cause_whose_str_raises() -> None:
    class Broken(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __repr__(self) -> str:
            raise RuntimeError("no")

    error = Error.because(ET.InternalError, "x", Broken())
    assert str(error) == " InternalError context: x cause: Broken"
    assert "cause=<Broken>" in repr(error)


def test_repr_shows_state() -> None:
    error = Error.because(ET.ReadError, "reading", Error.new_up(ET.ConnectionClosed)).into_up()
    error.set_retry(True)
    assert repr(error) == (
        "Error(etype=ErrorType.ReadError, esource=ErrorSource.UPSTREAM, retry=RetryType.TRUE, "
        "context='reading', cause=<Error ErrorType.ConnectionClosed>)"
    )


# -- retry ------------------------------------------------------------------------------------


@pytest.mark.parametrize("retry", list(RetryType))
def test_because_inherits_the_retry_flag_of_an_error_cause(retry: RetryType) -> None:
    cause = Error.new(ET.ConnectRefused)
    cause.retry = retry
    assert Error.because(ET.InternalError, "x", cause).retry is retry
    assert cause.more_context("y").retry is retry
    with pytest.raises(Error) as caught, or_err(ET.ConnectError, "z"):
        raise cause
    assert caught.value.retry is retry


def test_new_errors_and_foreign_causes_are_not_retryable() -> None:
    assert Error.new(ET.ConnectRefused).retry is RetryType.FALSE
    assert Error.explain(ET.ConnectRefused, "x").retry is RetryType.FALSE
    assert Error.because(ET.ConnectRefused, "x", OSError("boom")).retry is RetryType.FALSE
    assert not Error.new(ET.ConnectRefused).retry


def test_explicit_retry_wins_over_the_cause() -> None:
    cause = Error.new(ET.ConnectRefused)
    cause.set_retry(True)
    assert Error(ET.InternalError, cause=cause, retry=False).retry is RetryType.FALSE
    assert Error(ET.InternalError, retry=RetryType.REUSED_ONLY).retry is RetryType.REUSED_ONLY


@pytest.mark.parametrize(("reused", "expected"), [(True, True), (False, False)])
def test_error_decide_reuse(reused: bool, expected: bool) -> None:
    error = Error.new_up(ET.ConnectionClosed)
    error.retry = RetryType.REUSED_ONLY
    with pytest.raises(RuntimeError, match="decide_reuse"):
        bool(error.retry)
    error.decide_reuse(reused)
    assert bool(error.retry) is expected
    error.decide_reuse(not reused)  # a decided flag does not move
    assert bool(error.retry) is expected


def test_set_retry() -> None:
    error = Error.new(ET.ReadError)
    error.set_retry(True)
    assert error.retry is RetryType.TRUE
    error.retry = False
    assert error.retry is RetryType.FALSE


# -- root cause -------------------------------------------------------------------------------


def test_root_cause_is_the_innermost_foreign_exception() -> None:
    leaf = ConnectionResetError(104, "reset")
    middle = Error.because(ET.ReadError, "reading body", leaf)
    top = middle.more_context("proxying").into_down()
    assert top.root_cause() is leaf
    assert top.root_etype() is ET.ReadError


def test_root_cause_without_a_foreign_exception_is_the_last_error() -> None:
    inner = Error.new(ET.InternalError)
    top = Error.because(ET.HTTPStatus(500), "x", inner)
    assert top.root_cause() is inner
    assert inner.root_cause() is inner
    assert inner.root_etype() is ET.InternalError


# -- fields and setters -----------------------------------------------------------------------


def test_source_setters() -> None:
    error = Error.new(ET.ReadError)
    assert error.source_str() == ""
    assert error.into_up() is error
    assert error.esource is ErrorSource.UPSTREAM
    assert error.into_down().source_str() == "Downstream"
    assert error.into_in().esource is ErrorSource.INTERNAL
    error.as_up()
    assert error.esource is ErrorSource.UPSTREAM
    error.as_down()
    assert error.esource is ErrorSource.DOWNSTREAM
    error.as_in()
    assert error.esource is ErrorSource.INTERNAL
    error.set_esource(ErrorSource.UNSET)
    assert error.esource is ErrorSource.UNSET


def test_type_setters() -> None:
    error = Error.new(ET.ReadError)
    assert error.reason_str() == "ReadError"
    error.set_etype(ET.HTTPStatus(504))
    assert error.etype == ET.HTTPStatus(504)
    assert error.reason_str() == "HTTPStatus"
    assert error.args == (ET.HTTPStatus(504),)


def test_cause_and_context_setters() -> None:
    error = Error.new(ET.ReadError)
    leaf = OSError("io")
    error.set_cause(leaf)
    assert error.cause is leaf
    assert error.__cause__ is leaf
    error.cause = None
    assert error.cause is None
    assert error.__cause__ is None
    error.context = "c"
    assert error.context == "c"
    error.context = None
    assert str(error) == " ReadError"


def test_a_cause_may_not_close_a_loop() -> None:
    a = Error.new(ET.InternalError)
    with pytest.raises(ValueError, match="loop"):
        a.set_cause(a)
    b = Error.because(ET.ReadError, "x", a)
    c = b.more_context("y")
    with pytest.raises(ValueError, match="loop"):
        a.set_cause(c)
    assert a.cause is None


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: Error("ReadError"), TypeError),
        (lambda: Error(ET.ReadError, "Upstream"), TypeError),
        (lambda: Error(ET.ReadError, context=3), TypeError),
        (lambda: Error(ET.ReadError, retry="yes"), TypeError),
        (lambda: Error(ET.ReadError, cause="oops"), TypeError),
        (lambda: Error.because(ET.ReadError, "x", "oops"), TypeError),
        (lambda: Error.because(ET.ReadError, None, OSError()), TypeError),
        (lambda: Error.explain(ET.ReadError, None), TypeError),
        (lambda: Error.new(ET.ReadError).more_context(3), TypeError),
        (lambda: Error.new(ET.ReadError).set_context(None), TypeError),
        (lambda: Error.new(ET.ReadError).set_retry(1), TypeError),
        (lambda: Error.new(ET.ReadError).set_esource(None), TypeError),
        (lambda: or_err("ReadError", "x"), TypeError),
        (lambda: or_err(ET.ReadError, 3), TypeError),
        (lambda: or_err_with(ET.ReadError, "not callable"), TypeError),
        (lambda: explain_err(ET.ReadError, "not callable"), TypeError),
        (lambda: err_context(None), TypeError),
        (lambda: ok_or_err(None, ET.ReadError, 5), TypeError),
    ],
)
def test_bad_input_gets_a_clear_error(make: Callable[[], object], error: type[Exception]) -> None:
    with pytest.raises(error, match=r"must be|expected"):
        make()


# -- Python integration -----------------------------------------------------------------------


def test_traceback_shows_the_cause() -> None:
    leaf = ConnectionRefusedError(111, "Connection refused")
    error = Error.because(ET.ConnectRefused, "dialling", leaf).into_up()
    text = "".join(traceback.format_exception(error))
    assert "ConnectionRefusedError: [Errno 111] Connection refused" in text
    assert "Error: Upstream ConnectRefused context: dialling cause: [Errno 111]" in text


def test_pickle_round_trip_keeps_the_chain() -> None:
    error = Error.because(ET.ReadError, "r", Error.new_up(ET.ConnectionClosed)).into_down()
    error.set_retry(True)
    back = pickle.loads(pickle.dumps(error))
    assert str(back) == str(error)
    assert back.retry is RetryType.TRUE
    assert back.root_etype() is ET.ConnectionClosed


# -- the OrErr-style helpers ------------------------------------------------------------------


def test_helpers_leave_a_clean_block_alone() -> None:
    calls: list[str] = []

    def context() -> str:
        calls.append("built")
        return "never"

    with or_err(ET.ReadError, "x"), or_err_with(ET.ReadError, context), or_fail():
        value = 1
    with explain_err(ET.ReadError, lambda exc: str(exc)), err_context("y"):
        value += 1
    assert value == 2
    assert calls == []


def test_or_err_with_builds_the_context_on_failure() -> None:
    with pytest.raises(Error) as caught, or_err_with(ET.FileOpenError, lambda: "open conf.yaml"):
        raise FileNotFoundError(2, "No such file or directory")
    assert str(caught.value) == (
        " FileOpenError context: open conf.yaml cause: [Errno 2] No such file or directory"
    )
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_explain_err_replaces_the_exception() -> None:
    with (
        pytest.raises(Error) as caught,
        explain_err(ET.InvalidHTTPHeader, lambda exc: f"bad header: {exc}"),
    ):
        raise ValueError("no colon")
    assert str(caught.value) == " InvalidHTTPHeader context: bad header: no colon"
    assert caught.value.cause is None
    assert isinstance(caught.value.__cause__, ValueError)  # still in the traceback


def test_err_context_lets_foreign_exceptions_pass() -> None:
    with pytest.raises(KeyError), err_context("x"):
        raise KeyError("k")


@pytest.mark.parametrize(
    "helper",
    [
        lambda: or_err(ET.ReadError, "x"),
        lambda: or_err_with(ET.ReadError, lambda: "x"),
        lambda: explain_err(ET.ReadError, str),
        or_fail,
        lambda: err_context("x"),
    ],
)
def test_helpers_never_wrap_cancellation(helper: Callable[[], object]) -> None:
    manager = helper()
    with pytest.raises(asyncio.CancelledError), manager:  # type: ignore[attr-defined]
        raise asyncio.CancelledError
    with pytest.raises(KeyboardInterrupt), helper():  # type: ignore[attr-defined]
        raise KeyboardInterrupt


@pytest.mark.anyio
async def test_helpers_work_in_async_code() -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise ConnectionResetError(104, "Connection reset by peer")

    with pytest.raises(Error) as caught, or_err(ET.ReadError, "while reading"):
        await failing()
    assert str(caught.value) == (
        " ReadError context: while reading cause: [Errno 104] Connection reset by peer"
    )
