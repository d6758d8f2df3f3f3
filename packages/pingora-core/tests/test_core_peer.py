"""HttpPeer addresses, PeerOptions validation and the pool key (reuse_hash)."""

from __future__ import annotations

import dataclasses

import pytest

from pingora_core import upstreams
from pingora_core.errors import Error, ErrorType
from pingora_core.listeners import TcpKeepalive
from pingora_core.protocols.l4 import L4Connector, Stream
from pingora_core.testing import memory_stream_pair
from pingora_core.upstreams import HttpPeer, PeerOptions


class _Virtual(L4Connector):
    async def connect(self, peer_address: str) -> Stream:
        return memory_stream_pair()[0]


def test_exports() -> None:
    assert set(upstreams.__all__) == {"HttpPeer", "PeerOptions"}


@pytest.mark.parametrize(
    ("address", "host", "port", "uds"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080, None),
        ("[::1]:443", "::1", 443, None),
        ("localhost:80", "localhost", 80, None),
        ("unix:/run/app.sock", None, None, "/run/app.sock"),
    ],
)
def test_addresses(address: str, host: str | None, port: int | None, uds: str | None) -> None:
    peer = HttpPeer(address)
    assert peer.address == address
    assert peer.host == host
    assert peer.port == port
    assert peer.uds_path == uds
    assert peer.is_uds is (uds is not None)
    assert peer.scheme == "http"
    assert address in repr(peer)
    assert str(peer).startswith(f"addr: {address}, scheme: HTTP")


@pytest.mark.parametrize(
    "address",
    ["", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "::1:80", "[::1]80", "[nothost]:80",
     "unix:", "1.2.3.4:0", "a b:80", ":80"],
)
def test_bad_address_is_a_clear_error(address: str) -> None:
    with pytest.raises(Error) as info:
        HttpPeer(address)
    assert info.value.etype == ErrorType.SocketError
    assert "invalid peer address" in str(info.value)


def test_bad_types() -> None:
    with pytest.raises(TypeError):
        HttpPeer(8080)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        HttpPeer("1.2.3.4:80", tls="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        HttpPeer("1.2.3.4:80").options = {"read_timeout": 1}  # type: ignore[assignment]


def test_tls_is_not_available_yet() -> None:
    with pytest.raises(Error, match="TLS upstreams are not available yet"):
        HttpPeer("1.2.3.4:443", tls=True, sni="example.com")


def test_options_defaults_and_validation() -> None:
    options = PeerOptions()
    assert options.connection_timeout is None
    assert options.idle_timeout is None
    assert options.socket_options() is None
    assert PeerOptions(idle_timeout=0).idle_timeout == 0
    with pytest.raises(ValueError, match="read_timeout"):
        PeerOptions(read_timeout=0)
    with pytest.raises(ValueError, match="connection_timeout"):
        PeerOptions(connection_timeout=-1)
    with pytest.raises(TypeError, match="write_timeout"):
        PeerOptions(write_timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dscp"):
        PeerOptions(dscp=64)
    with pytest.raises(ValueError, match="tcp_recv_buf"):
        PeerOptions(tcp_recv_buf=0)
    with pytest.raises(TypeError, match="custom_l4"):
        PeerOptions(custom_l4=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port must be a number"):
        PeerOptions(bind_to="1.2.3.4:notaport")
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.read_timeout = 1.0  # type: ignore[misc]
    keepalive = TcpKeepalive(idle=5, interval=1, count=3)
    sock = PeerOptions(tcp_keepalive=keepalive, tcp_recv_buf=4096, dscp=10,
                       tcp_fast_open=True).socket_options()
    assert sock is not None
    assert sock.tcp_keepalive == keepalive
    assert sock.recv_buffer == 4096
    assert sock.dscp == 10
    assert sock.tcp_fastopen == 1


def test_reuse_hash_equal_for_equal_peers() -> None:
    a = HttpPeer("127.0.0.1:80", options=PeerOptions(read_timeout=1.0))
    b = HttpPeer("127.0.0.1:80", options=PeerOptions(read_timeout=9.0))
    assert a.reuse_hash() == b.reuse_hash()  # timeouts do not make connections different


@pytest.mark.parametrize(
    "other",
    [
        lambda: HttpPeer("127.0.0.1:81"),
        lambda: HttpPeer("127.0.0.2:80"),
        lambda: HttpPeer("127.0.0.1:80", sni="example.com"),
        lambda: HttpPeer("127.0.0.1:80", group_key=7),
        lambda: HttpPeer("127.0.0.1:80", options=PeerOptions(bind_to="127.0.0.1")),
        lambda: HttpPeer("127.0.0.1:80", options=PeerOptions(custom_l4=_Virtual())),
    ],
)
def test_reuse_hash_differs(other: object) -> None:
    base = HttpPeer("127.0.0.1:80")
    peer = other()  # type: ignore[operator]
    assert peer.reuse_hash() != base.reuse_hash()
    assert peer.reuse_key() != base.reuse_key()


def test_same_custom_connector_shares() -> None:
    connector = _Virtual()
    a = HttpPeer("10.0.0.1:80", options=PeerOptions(custom_l4=connector))
    b = HttpPeer("10.0.0.1:80", options=PeerOptions(custom_l4=connector))
    assert a.reuse_hash() == b.reuse_hash()
    assert b.reuse_hash() != HttpPeer("10.0.0.1:80", options=PeerOptions(
        custom_l4=_Virtual())).reuse_hash()
