"""Opt: the server's command-line options (`-c/--conf PATH`, `-t/--test`), parsed with argparse.

Only parsing lives here; the server acts on the options.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Opt"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Opt:
    """Command-line options, as Pingora's `Opt`.

    `conf` is the path of the YAML configuration file; `test` asks the server to load and
    validate the configuration, print the result and exit (0 when valid, 1 when not).
    """

    conf: str | None = None
    test: bool = False

    def __post_init__(self) -> None:
        if self.conf is not None and not isinstance(self.conf, str):
            raise TypeError(f"Opt.conf must be a str path or None, got {type(self.conf).__name__}")
        if not isinstance(self.test, bool):
            raise TypeError(f"Opt.test must be a bool, got {type(self.test).__name__}")

    @classmethod
    def parser(cls, prog: str | None = None) -> argparse.ArgumentParser:
        """The argparse parser; add your own arguments to it and pass the result to `from_args`."""
        parser = argparse.ArgumentParser(
            prog=prog or os.path.basename(sys.argv[0] or "pingora"),
            description="A pingora server.",
        )
        parser.add_argument(
            "-c", "--conf", metavar="PATH", default=None, help="the YAML configuration file"
        )
        parser.add_argument(
            "-t",
            "--test",
            action="store_true",
            help="load and validate the configuration, print it and exit (0 valid, 1 not)",
        )
        return parser

    @classmethod
    def parse_args(cls, argv: Sequence[str] | None = None) -> Opt:
        """Parse `argv` (default: `sys.argv[1:]`); bad arguments print usage and exit 2."""
        return cls.from_args(cls.parser().parse_args(argv))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Opt:
        """Build from a namespace parsed by `Opt.parser()` (possibly extended by the caller)."""
        return cls(conf=args.conf, test=bool(args.test))
