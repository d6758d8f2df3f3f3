"""The public names of the L4 protocol layer and the test doubles, locked."""

from __future__ import annotations

import pingora_core.protocols as protocols
import pingora_core.protocols.l4 as l4
import pingora_core.testing as testing


def test_l4_public_names() -> None:
    assert set(l4.__all__) == {
        "AnyioStream",
        "L4Connector",
        "Stream",
        "StreamDigest",
        "TransportStream",
        "connect_tcp",
        "connect_uds",
    }
    for name in l4.__all__:
        assert getattr(l4, name) is not None


def test_protocols_public_names() -> None:
    assert set(protocols.__all__) == {"Stream", "StreamDigest"}
    assert protocols.Stream is l4.Stream


def test_testing_public_names() -> None:
    assert {"MemoryStream", "memory_stream_pair", "tcp_stream_pair"} <= set(testing.__all__)
    assert issubclass(testing.MemoryStream, l4.Stream)
    assert issubclass(l4.TransportStream, l4.Stream)
    assert issubclass(l4.AnyioStream, l4.Stream)


def test_transport_stream_is_slotted() -> None:
    stream = l4.TransportStream()
    assert not hasattr(stream, "__dict__")
