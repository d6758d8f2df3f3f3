"""The one exception this package raises for bad input: `InvalidHeaderError`.

It subclasses `ValueError` so plain Python code can catch it without importing this package;
pingora-core translates it into its own `Error(InvalidHTTPHeader)` at its boundary. This module
must not import anything from the rest of the project.
"""

from __future__ import annotations

__all__ = ["InvalidHeaderError"]


class InvalidHeaderError(ValueError):
    """A method, target, status, version, reason phrase, header name or value is not valid HTTP.

    `reason` says what was wrong in plain words (it is also the exception message).
    """

    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"InvalidHeaderError({self.reason!r})"
