"""pingora-http: HTTP request and response headers that keep the case and order of their fields.

`RequestHeader` and `ResponseHeader` mirror Pingora's types of the same names; `HeaderMap` is
the ordered, case-insensitive multi-map they share. Invalid input raises `InvalidHeaderError`
(a `ValueError`). No runtime dependencies; h11 events and h2 header lists are converted
without importing either library.
"""

from pingora_http._errors import InvalidHeaderError
from pingora_http._header_map import HeaderMap
from pingora_http._request import RequestHeader
from pingora_http._response import ResponseHeader
from pingora_http._status import CANONICAL_REASONS, canonical_reason
from pingora_http._target import RawTargetAuthority, raw_target_authority
from pingora_http._validate import TITLE_CASE

__all__ = [
    "CANONICAL_REASONS",
    "TITLE_CASE",
    "HeaderMap",
    "InvalidHeaderError",
    "RawTargetAuthority",
    "RequestHeader",
    "ResponseHeader",
    "canonical_reason",
    "raw_target_authority",
]
