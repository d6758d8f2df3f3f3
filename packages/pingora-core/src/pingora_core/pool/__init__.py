"""The upstream connection pool: idle connections kept per pool key, bounded with LRU eviction,
watched while idle and dropped when the peer closes them, sends data or they time out."""

from pingora_core.pool._pool import ConnectionPool, PoolStats

__all__ = ["ConnectionPool", "PoolStats"]
