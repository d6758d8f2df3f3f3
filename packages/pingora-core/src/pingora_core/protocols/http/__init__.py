"""HTTP on top of the `Stream`: the HTTP/1 codec and sessions live in `v1`; the `Date` header
cache shared by every version lives here."""

from pingora_core.protocols.http.date import get_cached_date

__all__ = ["get_cached_date"]
