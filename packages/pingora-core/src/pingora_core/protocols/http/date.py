"""The `Date` header value, formatted once per second and shared by every response.

`get_cached_date()` costs one `time.time()` call and a compare when the second has not changed.
Nothing else lives here: no per-request state, no I/O.
"""

from __future__ import annotations

import time
from email.utils import formatdate

__all__ = ["get_cached_date"]

_cached_second = -1
_cached_value = b""


def get_cached_date() -> bytes:
    """The current time as an IMF-fixdate (b"Sun, 06 Nov 1994 08:49:37 GMT"), cached per second."""
    global _cached_second, _cached_value
    now = time.time()
    second = int(now)
    if second != _cached_second:
        _cached_value = formatdate(second, usegmt=True).encode("ascii")
        _cached_second = second
    return _cached_value
