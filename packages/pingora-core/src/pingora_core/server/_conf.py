"""ServerConf: the server's YAML configuration with Pingora's keys and defaults.

Parsing keeps node line numbers (yaml.compose) so every mistake becomes one `ConfigError` naming
the file, the line and the key, never a traceback. Unknown keys are kept in `conf.extra` for the
user. This module parses and validates; it must not act on the settings.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import yaml

from pingora_core.server._config_error import ConfigError

__all__ = ["EVENT_LOOPS", "ServerConf"]

#: Values accepted by the `event_loop` key (and the PINGORA_EVENT_LOOP environment variable).
EVENT_LOOPS: Final = ("auto", "asyncio", "uvloop")

_NULL_TAG: Final = "tag:yaml.org,2002:null"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConf:
    """Server settings; `ServerConf()` gives Pingora's defaults.

    The keys and defaults follow Pingora's `ServerConf`. `grace_period_seconds` bounds how long a
    graceful stop waits for in-flight work; `graceful_shutdown_timeout_seconds` bounds the final
    step that closes what is left. `event_loop` (ours) picks the loop for `run_forever`: "auto"
    uses uvloop when installed. Keys we do not know are kept in `extra`.
    """

    version: int = 0
    daemon: bool = False
    error_log: str | None = None
    pid_file: str = "/tmp/pingora.pid"
    upgrade_sock: str = "/tmp/pingora_upgrade.sock"
    user: str | None = None
    group: str | None = None
    threads: int = 1
    work_stealing: bool = True
    ca_file: str | None = None
    grace_period_seconds: float = 300
    graceful_shutdown_timeout_seconds: float = 5
    client_bind_to_ipv4: tuple[str, ...] = ()
    client_bind_to_ipv6: tuple[str, ...] = ()
    upstream_keepalive_pool_size: int = 128
    upstream_connect_offload_threadpools: int | None = None
    upstream_connect_offload_thread_per_pool: int | None = None
    upstream_debug_ssl_keylog: bool = False
    max_retries: int = 16
    event_loop: str = "auto"
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name, check in _CHECKS.items():
            problem = check(values[name])
            if problem is not None:
                raise ConfigError(f"{name}: {problem}")
        for name in ("client_bind_to_ipv4", "client_bind_to_ipv6"):
            object.__setattr__(self, name, tuple(values[name]))
        clash = sorted(set(self.extra) & set(_KINDS))
        if clash:
            raise ConfigError(f"extra: {clash[0]} is a known setting, not an extra one")
        if not isinstance(self.extra, MappingProxyType):
            object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> ServerConf:
        """Parse YAML text; raise ConfigError("source:line: key: problem") on any mistake."""
        loader = yaml.SafeLoader(text)
        try:
            try:
                root = loader.get_single_node()
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                line = mark.line + 1 if mark is not None else 1
                what = exc.problem or exc.context or "unreadable"
                if exc.context and what.startswith("but "):
                    what = f"{exc.context}, {what}"
                raise ConfigError(f"{source}:{line}: malformed YAML: {what}") from None
            except yaml.YAMLError as exc:
                raise ConfigError(f"{source}: malformed YAML: {exc}") from None
            if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _NULL_TAG):
                return cls()
            return cls._from_node(loader, root, source)
        finally:
            loader.dispose()

    @classmethod
    def load(cls, path: str) -> ServerConf:
        """Read and parse a YAML file; unreadable files raise ConfigError too."""
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(f"{path}: unable to read conf file: {reason}", read=True) from None
        return cls.from_yaml(text, source=path)

    @classmethod
    def _from_node(cls, loader: yaml.SafeLoader, root: yaml.Node, source: str) -> ServerConf:
        if not isinstance(root, yaml.MappingNode):
            line = root.start_mark.line + 1
            got = _describe(_construct(loader, root, source))
            raise ConfigError(f"{source}:{line}: expected a mapping of settings, got {got}")
        try:
            loader.flatten_mapping(root)
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else 1
            raise ConfigError(f"{source}:{line}: malformed YAML: {exc.problem}") from None
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        seen: dict[object, int] = {}
        for key_node, value_node in root.value:
            line = key_node.start_mark.line + 1
            key = _construct(loader, key_node, source)
            if not isinstance(key, str):
                raise ConfigError(f"{source}:{line}: setting names must be strings, got {key!r}")
            if key in seen:
                raise ConfigError(
                    f"{source}:{line}: {key}: duplicate key (first set on line {seen[key]})"
                )
            seen[key] = line
            value = _construct(loader, value_node, source)
            if key not in _PARSERS:
                extra[key] = value
                continue
            known[key] = _PARSERS[key](value, value_node, source)
        return cls(**known, extra=MappingProxyType(extra))

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (lists, not tuples); `extra` keys are merged back in."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out.update(self.extra)
        return out

    def to_yaml(self) -> str:
        """The settings as YAML text that `from_yaml` reads back to an equal ServerConf."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False)


def _construct(loader: yaml.SafeLoader, node: yaml.Node, source: str) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        raise ConfigError(f"{source}:{mark.line + 1}: malformed YAML: {exc.problem}") from None


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


# -- value checks: return None when fine, else the problem -------------------------------------


def _check_int(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected an integer, got {_describe(value)}"
    if value < 0:
        return f"expected a non-negative integer, got {value}"
    return None


def _check_opt_int(value: object) -> str | None:
    return None if value is None else _check_int(value)


def _check_bool(value: object) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {_describe(value)}"


def _check_str(value: object) -> str | None:
    return None if isinstance(value, str) else f"expected a string, got {_describe(value)}"


def _check_opt_str(value: object) -> str | None:
    return None if value is None else _check_str(value)


def _check_seconds(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number of seconds, got {_describe(value)}"
    if not math.isfinite(value) or value < 0:
        return f"expected a non-negative number of seconds, got {value}"
    return None


def _check_str_list(value: object) -> str | None:
    if not isinstance(value, (list, tuple)):
        return f"expected a list of strings, got {_describe(value)}"
    for i, item in enumerate(value):
        if not isinstance(item, str):
            return f"[{i}]: expected a string, got {_describe(item)}"
    return None


def _check_event_loop(value: object) -> str | None:
    if value in EVENT_LOOPS:
        return None
    return f"expected one of {', '.join(EVENT_LOOPS)}, got {_describe(value)}"


def _check_extra(value: object) -> str | None:
    return None if isinstance(value, Mapping) else f"expected a mapping, got {_describe(value)}"


_Check = Callable[[object], "str | None"]
_Parser = Callable[[object, yaml.Node, str], Any]

_KINDS: Final[dict[str, tuple[_Check, bool]]] = {
    # name: (check, null means "use the default")
    "version": (_check_int, False),
    "daemon": (_check_bool, False),
    "error_log": (_check_opt_str, True),
    "pid_file": (_check_str, False),
    "upgrade_sock": (_check_str, False),
    "user": (_check_opt_str, True),
    "group": (_check_opt_str, True),
    "threads": (_check_int, False),
    "work_stealing": (_check_bool, False),
    "ca_file": (_check_opt_str, True),
    "grace_period_seconds": (_check_seconds, True),
    "graceful_shutdown_timeout_seconds": (_check_seconds, True),
    "client_bind_to_ipv4": (_check_str_list, False),
    "client_bind_to_ipv6": (_check_str_list, False),
    "upstream_keepalive_pool_size": (_check_int, False),
    "upstream_connect_offload_threadpools": (_check_opt_int, True),
    "upstream_connect_offload_thread_per_pool": (_check_opt_int, True),
    "upstream_debug_ssl_keylog": (_check_bool, False),
    "max_retries": (_check_int, False),
    "event_loop": (_check_event_loop, False),
}

_CHECKS: Final[dict[str, _Check]] = {name: kind[0] for name, kind in _KINDS.items()}
_CHECKS["extra"] = _check_extra

_DEFAULTS: Final = ServerConf.__dataclass_fields__


def _make_parser(name: str, check: _Check, null_is_default: bool) -> _Parser:
    def parse(value: object, node: yaml.Node, source: str) -> Any:
        if value is None and null_is_default:
            return _DEFAULTS[name].default
        problem = check(value)
        if problem is None:
            return value
        line = node.start_mark.line + 1
        if problem.startswith("[") and isinstance(node, yaml.SequenceNode):
            index = int(problem[1 : problem.index("]")])
            line = node.value[index].start_mark.line + 1
            raise ConfigError(f"{source}:{line}: {name}{problem}")
        raise ConfigError(f"{source}:{line}: {name}: {problem}")

    return parse


_PARSERS: Final[dict[str, _Parser]] = {
    name: _make_parser(name, *kind) for name, kind in _KINDS.items()
}
