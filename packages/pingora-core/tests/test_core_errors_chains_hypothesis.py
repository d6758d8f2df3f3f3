"""Random error chains: display never raises and matches Pingora's rule, the root is innermost."""

from __future__ import annotations

import errno

from hypothesis import given
from hypothesis import strategies as st

from pingora_core.errors import Error, ErrorSource, ErrorType, RetryType

FIXED = [
    ErrorType.ConnectRefused, ErrorType.ReadError, ErrorType.InternalError,
    ErrorType.ConnectionClosed, ErrorType.H2Error, ErrorType.UnknownError,
]  # fmt: skip

etypes = st.one_of(
    st.sampled_from(FIXED),
    st.integers(100, 999).map(ErrorType.HTTPStatus),
    st.sampled_from([500, 502]).map(ErrorType.HTTPStatus),  # repeats, to exercise omission
    st.text(min_size=1, max_size=8).map(ErrorType.Custom),
    st.builds(ErrorType.CustomCode, st.text(min_size=1, max_size=8), st.integers(0, 0xFFFF)),
)
contexts = st.none() | st.text(max_size=20)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot print")


foreign = st.one_of(
    st.none(),
    st.text(max_size=20).map(ValueError),
    st.just(TimeoutError()),
    st.just(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")),
    st.just(Unprintable()),
)
layers = st.lists(
    st.tuples(etypes, st.sampled_from(list(ErrorSource)), contexts), min_size=1, max_size=12
)


def reference_display(error: Error, previous: Error | None = None) -> str:
    """Pingora's chain_display, written recursively and independently of the library."""
    text = ""
    if previous is None or previous.esource != error.esource:
        text += error.esource.as_str()
    if previous is None or previous.etype != error.etype:
        text += " " + error.etype.as_str()
    if error.context is not None:
        text += " context: " + error.context
    cause = error.cause
    if isinstance(cause, Error):
        text += " cause: " + reference_display(cause, error)
    elif cause is not None:
        try:
            message = str(cause)
        except RuntimeError:
            message = ""
        text += " cause: " + (message or type(cause).__name__)
    return text


def build(
    leaf: BaseException | None,
    spec: list[tuple[ErrorType, ErrorSource, str | None]],
    retry: RetryType,
) -> list[Error]:
    chain: list[Error] = []
    cause = leaf
    for index, (etype, esource, context) in enumerate(spec):
        error = Error(etype, esource, context=context, cause=cause,
                      retry=retry if index == 0 else None)
        chain.append(error)
        cause = error
    return chain


@given(leaf=foreign, spec=layers, retry=st.sampled_from(list(RetryType)))
def test_random_chains(
    leaf: BaseException | None,
    spec: list[tuple[ErrorType, ErrorSource, str | None]],
    retry: RetryType,
) -> None:
    chain = build(leaf, spec, retry)
    top = chain[-1]
    assert str(top) == reference_display(top)
    assert repr(top).startswith("Error(etype=")
    innermost = chain[0]
    assert top.root_cause() is (innermost if leaf is None else leaf)
    assert top.root_etype() == innermost.etype
    assert top.retry is retry  # inherited hop by hop from the innermost Error
    wrapped = top.more_context("outer")
    assert str(wrapped).startswith(top.esource.as_str() + " " + top.etype.as_str() + " context: ")
    assert wrapped.root_cause() is top.root_cause()


@given(spec=layers)
def test_every_error_in_a_chain_refuses_a_loop(
    spec: list[tuple[ErrorType, ErrorSource, str | None]],
) -> None:
    chain = build(None, spec, RetryType.FALSE)
    top = chain[-1]
    for error in chain:
        try:
            error.set_cause(top)
        except ValueError:
            continue
        raise AssertionError("a loop was accepted")
    assert str(top) == reference_display(top)


def test_a_very_deep_chain_prints_without_recursion() -> None:
    error = Error.because(ErrorType.ReadError, "leaf", ConnectionResetError(104, "reset"))
    for depth in range(20_000):
        error = Error(ErrorType.InternalError if depth % 2 else ErrorType.ReadError,
                      context=str(depth), cause=error)
    text = str(error)
    assert text.startswith(" InternalError context: 19999 cause:  ReadError context: 19998")
    assert text.endswith(" ReadError context: 0 cause:  context: leaf cause: [Errno 104] reset")
    assert isinstance(error.root_cause(), ConnectionResetError)
    assert error.root_etype() is ErrorType.ReadError
    assert "cause=<Error ErrorType.ReadError>" in repr(error)
