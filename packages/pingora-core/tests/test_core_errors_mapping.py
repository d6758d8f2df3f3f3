"""The I/O boundary mapping: a table per exception family and phase, then real failures."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import socket
import ssl
import struct
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import h11
import pytest

from pingora_core.errors import (
    Error,
    ErrorSource,
    ErrorType,
    Phase,
    map_exception,
    map_exceptions,
)

ET = ErrorType
P = Phase
PHASES = list(Phase)

# Exception -> the ErrorType for each phase, in the order of PHASES:
# CONNECT, TLS_HANDSHAKE, READ, WRITE, ACCEPT, BIND, OTHER.
PHASE_TABLE: list[tuple[str, Callable[[], BaseException], tuple[ErrorType, ...]]] = [
    ("timeout", TimeoutError,
     (ET.ConnectTimedout, ET.TLSHandshakeTimedout, ET.ReadTimedout, ET.WriteTimedout,
      ET.AcceptError, ET.BindError, ET.UnknownError)),
    ("ETIMEDOUT", lambda: OSError(errno.ETIMEDOUT, "Connection timed out"),
     (ET.ConnectTimedout, ET.TLSHandshakeTimedout, ET.ReadTimedout, ET.WriteTimedout,
      ET.AcceptError, ET.BindError, ET.UnknownError)),
    ("refused", lambda: ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     (ET.ConnectRefused,) * 7),
    ("ENETUNREACH", lambda: OSError(errno.ENETUNREACH, "Network is unreachable"),
     (ET.ConnectNoRoute,) * 7),
    ("EHOSTUNREACH", lambda: OSError(errno.EHOSTUNREACH, "No route to host"),
     (ET.ConnectNoRoute,) * 7),
    ("reset", lambda: ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
     (ET.ConnectionClosed, ET.ConnectionClosed, ET.ReadError, ET.WriteError,
      ET.ConnectionClosed, ET.ConnectionClosed, ET.ConnectionClosed)),
    ("broken pipe", lambda: BrokenPipeError(errno.EPIPE, "Broken pipe"),
     (ET.ConnectionClosed, ET.ConnectionClosed, ET.ReadError, ET.WriteError,
      ET.ConnectionClosed, ET.ConnectionClosed, ET.ConnectionClosed)),
    ("aborted", lambda: ConnectionAbortedError(errno.ECONNABORTED, "aborted"),
     (ET.ConnectionClosed, ET.ConnectionClosed, ET.ReadError, ET.WriteError,
      ET.ConnectionClosed, ET.ConnectionClosed, ET.ConnectionClosed)),
    ("anyio broken", anyio.BrokenResourceError,
     (ET.ConnectionClosed, ET.ConnectionClosed, ET.ReadError, ET.WriteError,
      ET.ConnectionClosed, ET.ConnectionClosed, ET.ConnectionClosed)),
    ("EOFError", EOFError, (ET.ConnectionClosed,) * 7),
    ("asyncio incomplete read", lambda: asyncio.IncompleteReadError(b"ab", 10),
     (ET.ConnectionClosed,) * 7),
    ("anyio end of stream", anyio.EndOfStream, (ET.ConnectionClosed,) * 7),
    ("anyio incomplete read", anyio.IncompleteRead, (ET.ConnectionClosed,) * 7),
    ("anyio closed resource", anyio.ClosedResourceError, (ET.ConnectionClosed,) * 7),
    ("other OSError", lambda: OSError(errno.EIO, "Input/output error"),
     (ET.ConnectError, ET.TLSHandshakeFailure, ET.ReadError, ET.WriteError,
      ET.AcceptError, ET.BindError, ET.UnknownError)),
    ("EADDRINUSE", lambda: OSError(errno.EADDRINUSE, "Address already in use"),
     (ET.ConnectError, ET.TLSHandshakeFailure, ET.ReadError, ET.WriteError,
      ET.AcceptError, ET.BindError, ET.UnknownError)),
    ("gaierror", lambda: socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
     (ET.ConnectError, ET.TLSHandshakeFailure, ET.ReadError, ET.WriteError,
      ET.AcceptError, ET.BindError, ET.UnknownError)),
    ("ssl error", lambda: ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
     (ET.TLSHandshakeFailure, ET.TLSHandshakeFailure, ET.ReadError, ET.WriteError,
      ET.TLSHandshakeFailure, ET.TLSHandshakeFailure, ET.TLSHandshakeFailure)),
    ("ssl eof", lambda: ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
     (ET.TLSHandshakeFailure, ET.TLSHandshakeFailure, ET.ConnectionClosed, ET.ConnectionClosed,
      ET.TLSHandshakeFailure, ET.TLSHandshakeFailure, ET.TLSHandshakeFailure)),
    ("ssl zero return", lambda: ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"),
     (ET.TLSHandshakeFailure, ET.TLSHandshakeFailure, ET.ConnectionClosed, ET.ConnectionClosed,
      ET.TLSHandshakeFailure, ET.TLSHandshakeFailure, ET.TLSHandshakeFailure)),
    ("ssl cert", lambda: ssl.SSLCertVerificationError(1, "certificate verify failed"),
     (ET.InvalidCert,) * 7),
    ("h11 framing", lambda: h11.RemoteProtocolError("illegal request line"), (ET.H1Error,) * 7),
    ("h11 header", lambda: h11.LocalProtocolError("Illegal header name b'a b'"),
     (ET.InvalidHTTPHeader,) * 7),
    ("h11 too large", lambda: h11.RemoteProtocolError("Receive buffer too long", 431),
     (ET.InvalidHTTPHeader,) * 7),
    ("ValueError", lambda: ValueError("x"), (ET.UnknownError,) * 7),
    ("KeyError", lambda: KeyError("x"), (ET.UnknownError,) * 7),
    ("RuntimeError", lambda: RuntimeError("x"), (ET.UnknownError,) * 7),
]  # fmt: skip

PHASE_CASES = [
    pytest.param(make, phase, expected[i], id=f"{name}-{phase.value}")
    for name, make, expected in PHASE_TABLE
    for i, phase in enumerate(PHASES)
]


def test_the_table_covers_every_phase() -> None:
    assert all(len(expected) == len(PHASES) for _, _, expected in PHASE_TABLE)


@pytest.mark.parametrize(("make", "phase", "expected"), PHASE_CASES)
def test_phase_table(
    make: Callable[[], BaseException], phase: Phase, expected: ErrorType
) -> None:
    exc = make()
    error = map_exception(exc, phase, ErrorSource.UPSTREAM, "ctx")
    assert error.etype == expected
    assert error.esource is ErrorSource.UPSTREAM
    assert error.context == "ctx"
    assert error.cause is exc
    assert error.root_cause() is exc
    assert not error.retry


def test_an_error_passes_through_unchanged() -> None:
    error = Error.new_down(ET.InvalidHTTPHeader)
    assert map_exception(error, P.READ, ErrorSource.UPSTREAM, "ignored") is error
    assert error.esource is ErrorSource.DOWNSTREAM


def test_from_exception_uses_the_mapping() -> None:
    error = Error.from_exception(TimeoutError(), phase=P.WRITE, esource=ErrorSource.DOWNSTREAM,
                                 context="sending body")
    assert str(error) == "Downstream WriteTimedout context: sending body cause: TimeoutError"
    plain = Error.from_exception(ConnectionResetError(104, "reset"))
    assert plain.etype is ET.ConnectionClosed
    assert plain.esource is ErrorSource.UNSET
    assert plain.context is None


def test_pingora_timeout_elapsed_is_a_timeout() -> None:
    timeout = pytest.importorskip("pingora_timeout")
    elapsed_cls = getattr(timeout, "Elapsed", None)
    if elapsed_cls is None:
        pytest.skip("pingora_timeout does not export Elapsed yet")
    assert map_exception(elapsed_cls(), P.READ).etype is ET.ReadTimedout


def test_bad_input_gets_a_clear_error() -> None:
    with pytest.raises(TypeError, match="exception"):
        map_exception("boom")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Phase"):
        map_exception(OSError(), "read")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Phase"):
        map_exceptions("read")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ErrorSource"):
        map_exceptions(P.READ, "Upstream")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="context"):
        map_exceptions(P.READ, ErrorSource.UPSTREAM, b"x")  # type: ignore[arg-type]


# -- map_exceptions -----------------------------------------------------------------------------


def test_map_exceptions_translates_and_chains() -> None:
    original = BrokenPipeError(errno.EPIPE, "Broken pipe")
    with pytest.raises(Error) as caught, map_exceptions(P.WRITE, ErrorSource.DOWNSTREAM, "resp"):
        raise original
    assert str(caught.value) == "Downstream WriteError context: resp cause: [Errno 32] Broken pipe"
    assert caught.value.__cause__ is original


def test_map_exceptions_lets_errors_and_cancellation_through() -> None:
    error = Error.new_up(ET.H1Error)
    with pytest.raises(Error) as caught, map_exceptions(P.READ, ErrorSource.DOWNSTREAM):
        raise error
    assert caught.value is error
    with pytest.raises(asyncio.CancelledError), map_exceptions(P.READ):
        raise asyncio.CancelledError
    with pytest.raises(KeyboardInterrupt), map_exceptions(P.READ):
        raise KeyboardInterrupt


def test_map_exceptions_on_a_clean_block_and_its_repr() -> None:
    manager = map_exceptions(P.CONNECT, ErrorSource.UPSTREAM, "dial")
    with manager:
        value = 1
    assert value == 1
    assert repr(manager) == (
        "map_exceptions(phase=Phase.CONNECT, esource=ErrorSource.UPSTREAM, context='dial')"
    )


# -- real failures from real sockets, TLS and parsers -------------------------------------------


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connecting to it is refused."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def test_real_refused_connect(closed_port: int) -> None:
    context = f"connecting to {closed_port}"
    with socket.socket() as client:
        client.settimeout(10)
        boundary = map_exceptions(P.CONNECT, ErrorSource.UPSTREAM, context)
        with pytest.raises(Error) as caught, boundary:
            client.connect(("127.0.0.1", closed_port))
    assert caught.value.etype is ET.ConnectRefused
    assert str(caught.value).startswith(f"Upstream ConnectRefused context: connecting to "
                                        f"{closed_port} cause: [Errno {errno.ECONNREFUSED}]")


@pytest.mark.anyio
async def test_real_refused_connect_through_anyio(closed_port: int) -> None:
    # anyio wraps the refusal in OSError("All connection attempts failed") from the real error.
    with pytest.raises(Error) as caught, map_exceptions(P.CONNECT, ErrorSource.UPSTREAM):
        await anyio.connect_tcp("127.0.0.1", closed_port)
    assert caught.value.etype is ET.ConnectRefused


@pytest.mark.anyio
async def test_real_end_of_stream_through_anyio() -> None:
    send, receive = anyio.create_memory_object_stream[bytes](1)
    send.close()
    with pytest.raises(Error) as caught, map_exceptions(P.READ, ErrorSource.DOWNSTREAM):
        await receive.receive()
    receive.close()
    assert caught.value.etype is ET.ConnectionClosed
    assert str(caught.value) == "Downstream ConnectionClosed cause: EndOfStream"


def test_real_broken_pipe() -> None:
    left, right = socket.socketpair()
    right.close()
    with left, pytest.raises(Error) as caught, map_exceptions(P.WRITE, ErrorSource.DOWNSTREAM):
        left.send(b"x")
    assert caught.value.etype is ET.WriteError
    assert isinstance(caught.value.cause, BrokenPipeError)


def test_real_reset_while_reading() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname(), timeout=10) as client:
            accepted, _ = listener.accept()
            accepted.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            accepted.close()  # linger 0: the peer gets a RST
            with pytest.raises(Error) as caught, map_exceptions(P.READ, ErrorSource.UPSTREAM):
                client.recv(1)
    assert caught.value.etype is ET.ReadError
    assert isinstance(caught.value.cause, ConnectionResetError)


def _tls_pair(
    client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext | None
) -> tuple[ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    return client, incoming, outgoing


def test_real_tls_handshake_with_a_plaintext_server() -> None:
    client, incoming, _ = _tls_pair(ssl.create_default_context(), None)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    incoming.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(Error) as caught, map_exceptions(P.TLS_HANDSHAKE, ErrorSource.UPSTREAM):
        client.do_handshake()
    assert caught.value.etype is ET.TLSHandshakeFailure
    assert isinstance(caught.value.cause, ssl.SSLError)


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_real_untrusted_certificate(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client, c_in, c_out = _tls_pair(ssl.create_default_context(), server_ctx)
    s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)

    def handshake() -> None:
        for _ in range(10):  # a handful of flights is enough for any TLS handshake
            for side in (client, server):
                with contextlib.suppress(ssl.SSLWantReadError):
                    side.do_handshake()
            s_in.write(c_out.read())
            c_in.write(s_out.read())

    with pytest.raises(Error) as caught, map_exceptions(P.TLS_HANDSHAKE, ErrorSource.UPSTREAM):
        handshake()
    assert caught.value.etype is ET.InvalidCert
    assert isinstance(caught.value.cause, ssl.SSLCertVerificationError)


H11_CASES = [
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", ET.InvalidHTTPHeader,
                 id="header line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n", ET.InvalidHTTPHeader,
                 id="bad content-length"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                 ET.InvalidHTTPHeader, id="conflicting content-length"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", ET.InvalidHTTPHeader, id="missing host"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
                 ET.InvalidHTTPHeader, id="unsupported transfer-encoding"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 2000 + b"\r\n",
                 ET.InvalidHTTPHeader, id="header block too large"),
    pytest.param(b"NOT HTTP AT ALL\r\n\r\n", ET.H1Error, id="request line"),
    pytest.param(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 ET.H1Error, id="chunk header"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "expected"), H11_CASES)
def test_real_h11_parse_errors(data: bytes, expected: ErrorType) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=1024)
    conn.receive_data(data)

    def parse() -> None:
        for _ in range(10):
            if conn.next_event() is h11.NEED_DATA:
                break

    with pytest.raises(Error) as caught, map_exceptions(P.READ, ErrorSource.DOWNSTREAM):
        parse()
    assert caught.value.etype is expected
    assert isinstance(caught.value.cause, h11.RemoteProtocolError)


def test_real_h11_local_errors() -> None:
    with pytest.raises(Error) as caught, map_exceptions(P.WRITE, ErrorSource.INTERNAL):
        h11.Request(method="GET", target="/", headers=[("Host", "a"), ("bad name", "v")])
    assert caught.value.etype is ET.InvalidHTTPHeader
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="POST", target="/",
                          headers=[("Host", "a"), ("Content-Length", "1")]))
    with pytest.raises(Error) as caught, map_exceptions(P.WRITE, ErrorSource.INTERNAL):
        conn.send(h11.Data(data=b"too long"))
    assert caught.value.etype is ET.H1Error


def _invalid_header_error_class() -> type[ValueError]:
    pingora_http = pytest.importorskip("pingora_http")
    cls = getattr(pingora_http, "InvalidHeaderError", None)
    if cls is None:
        errors = pytest.importorskip("pingora_http._errors")
        cls = getattr(errors, "InvalidHeaderError", None)
    if cls is None:
        pytest.skip("pingora_http has no InvalidHeaderError yet")
    assert isinstance(cls, type)
    assert issubclass(cls, ValueError)
    return cls


def test_pingora_http_invalid_header() -> None:
    invalid_header_error = _invalid_header_error_class()
    exc = invalid_header_error("header name contains a space")
    error = map_exception(exc, P.READ, ErrorSource.DOWNSTREAM, "parsing request")
    assert error.etype is ET.InvalidHTTPHeader
    assert str(error) == ("Downstream InvalidHTTPHeader context: parsing request "
                          "cause: header name contains a space")

    class Narrower(invalid_header_error):
        pass

    assert map_exception(Narrower("x"), P.READ).etype is ET.InvalidHTTPHeader


def test_an_unrelated_class_of_the_same_name_is_not_an_invalid_header() -> None:
    class InvalidHeaderError(ValueError):
        pass

    assert map_exception(InvalidHeaderError("x"), P.READ).etype is ET.UnknownError


# -- optional libraries: only when they are installed -------------------------------------------


def test_real_h2_errors() -> None:
    h2_config = pytest.importorskip("h2.config")
    h2_connection = pytest.importorskip("h2.connection")
    server = h2_connection.H2Connection(h2_config.H2Configuration(client_side=False))
    with pytest.raises(Error) as caught, map_exceptions(P.READ, ErrorSource.DOWNSTREAM):
        server.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    assert caught.value.etype is ET.H2Error

    server = h2_connection.H2Connection(h2_config.H2Configuration(client_side=False))
    server.initiate_connection()
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    overlong = (16385).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00\x01" + b"x" * 16385
    with pytest.raises(Error) as caught, map_exceptions(P.READ, ErrorSource.DOWNSTREAM):
        server.receive_data(preface + overlong)
    assert caught.value.etype is ET.InvalidH2


def test_real_pyopenssl_errors() -> None:
    openssl = pytest.importorskip("OpenSSL.SSL")
    conn = openssl.Connection(openssl.Context(openssl.TLS_CLIENT_METHOD), None)
    conn.set_connect_state()
    with pytest.raises(openssl.WantReadError):
        conn.do_handshake()
    conn.bio_write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    with pytest.raises(Error) as caught, map_exceptions(P.TLS_HANDSHAKE, ErrorSource.UPSTREAM):
        conn.do_handshake()
    assert caught.value.etype is ET.TLSHandshakeFailure
    assert map_exception(openssl.ZeroReturnError(), P.READ).etype is ET.ConnectionClosed
    eof = openssl.SysCallError(-1, "Unexpected EOF")
    assert map_exception(eof, P.READ).etype is ET.ConnectionClosed
    assert map_exception(eof, P.CONNECT).etype is ET.TLSHandshakeFailure
    verify = openssl.Error([("SSL routines", "", "certificate verify failed")])
    assert map_exception(verify, P.CONNECT).etype is ET.InvalidCert
