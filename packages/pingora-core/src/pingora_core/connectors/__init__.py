"""Connectors: open connections to upstream peers and pool them for reuse. `Connector` hands out
HTTP/1 client sessions (`get_http_session`) and takes them back (`release_http_session`)."""

from pingora_core.connectors._connector import Connector, ConnectorStats

__all__ = ["Connector", "ConnectorStats"]
