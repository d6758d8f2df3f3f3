"""ConfigError: the one error a bad command line or configuration file becomes."""

from __future__ import annotations

from typing import Final

from pingora_core.errors import Error, ErrorSource, ErrorType

__all__ = ["CONFIG_ERROR", "ConfigError"]

#: The error type of a configuration that was read but is wrong.
CONFIG_ERROR: Final = ErrorType.Custom("ConfigError")


class ConfigError(Error):
    """A configuration problem, with a message that names the file, the line and the key.

    The type is `ErrorType.FileReadError` when the file could not be read, else
    `ErrorType.Custom("ConfigError")`. `str()` is the message alone, ready to print.
    """

    def __init__(self, message: str, *, read: bool = False) -> None:
        etype = ErrorType.FileReadError if read else CONFIG_ERROR
        super().__init__(etype, ErrorSource.INTERNAL, context=message)

    @property
    def message(self) -> str:
        """The one-line explanation.

        For example "conf.yaml:3: threads: expected an integer, got 'four'".
        """
        return self.context or ""

    def __str__(self) -> str:
        return self.message
