"""L4: the `Stream` every protocol layer reads and writes, its implementations (asyncio
transports, anyio byte streams) and how connections are opened (`connect_tcp`, `connect_uds`,
`L4Connector` for virtual streams)."""

from pingora_core.protocols.l4._anyio import AnyioStream
from pingora_core.protocols.l4._transport import TransportStream
from pingora_core.protocols.l4.connect import L4Connector, connect_tcp, connect_uds
from pingora_core.protocols.l4.stream import Stream, StreamDigest

__all__ = [
    "AnyioStream",
    "L4Connector",
    "Stream",
    "StreamDigest",
    "TransportStream",
    "connect_tcp",
    "connect_uds",
]
