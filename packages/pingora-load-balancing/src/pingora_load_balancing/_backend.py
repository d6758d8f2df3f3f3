"""`Backend`: one server to send traffic to, an address and a weight, with Pingora's identity.

The address is `"ip:port"` (`"[v6]:port"` for IPv6) or `"unix:/path"`. Two backends are the
same when their parsed address and weight are the same; `ext` (user data) is ignored, as in
Pingora. They sort like Pingora's `Backend`: IP before unix, IPv4 before IPv6, then the IP
numerically, the port and the weight; unix paths by their components. `hash_key()` is the
64-bit key Pingora computes for the same backend (SipHash-1-3 over what Rust's `Hash` writes),
used to key the health and enablement tables. Parsing and identity only: no I/O here.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Final

from pingora_load_balancing._hashing import siphash13

__all__ = ["MAX_WEIGHT", "Backend", "path_components"]

#: The largest weight a backend may have (weights expand into lists and ring points).
MAX_WEIGHT: Final = 0xFFFF

_UNIX: Final = "unix:"
_EXAMPLE: Final = "expected 'ip:port', '[ipv6]:port' or 'unix:/path'"
# Rank of each kind of path component, in the order Rust's `Component` sorts them.
_ROOT, _CUR, _PARENT, _NORMAL = 1, 2, 3, 4

Component = tuple[int, bytes]


def _bad(addr: str, why: str) -> ValueError:
    return ValueError(f"invalid backend address {addr!r}: {why} ({_EXAMPLE})")


def path_components(path: bytes) -> tuple[Component, ...]:
    """The components of a unix path as Rust's `Path::components` sees them: redundant
    separators and inner `.` dropped. Equal paths (`/a//b`, `/a/./b`) give equal tuples."""
    out: list[Component] = []
    if path.startswith(b"/"):
        out.append((_ROOT, b""))
    elif path == b"." or path.startswith(b"./"):
        out.append((_CUR, b""))
    for part in path.split(b"/"):
        if part in (b"", b"."):
            continue
        out.append((_PARENT, b"") if part == b".." else (_NORMAL, part))
    return tuple(out)


def _path_hash_bytes(path: bytes) -> bytes:
    # What Rust's `impl Hash for Path` writes: each run between separators (a leading `.`
    # after a separator skipped), then a usize folding in the lengths written.
    out = bytearray()
    folded = 0
    start = 0

    def take(piece: bytes) -> None:
        nonlocal folded
        out.extend(piece)
        total = (folded + len(piece)) & 0xFFFF_FFFF_FFFF_FFFF
        folded = ((total >> 2) | (total << 62)) & 0xFFFF_FFFF_FFFF_FFFF

    for i, byte in enumerate(path):
        if byte == 0x2F:
            if i > start:
                take(path[start:i])
            start = i + 1
            tail = path[start : start + 2]
            if tail == b"." or tail == b"./":
                start += 1
    if start < len(path):
        take(path[start:])
    return bytes(out) + folded.to_bytes(8, "little")


def _parse_inet(addr: str) -> tuple[IPv4Address | IPv6Address, int]:
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            raise _bad(addr, "missing ']' after the IPv6 address")
        if addr[end + 1 : end + 2] != ":":
            raise _bad(addr, "missing ':port' after ']'")
        host, port_text = addr[1:end], addr[end + 2 :]
        if "%" in host:
            raise _bad(addr, "IPv6 zone ids are not supported")
        try:
            ip: IPv4Address | IPv6Address = IPv6Address(host)
        except ValueError:
            raise _bad(addr, f"{host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = addr.rpartition(":")
        if not sep:
            raise _bad(addr, "missing ':port'")
        if ":" in host:
            raise _bad(addr, "an IPv6 address must be in brackets")
        try:
            ip = IPv4Address(host)
        except ValueError:
            why = f"{host!r} is not an IP address (for host names use DnsDiscovery)"
            raise _bad(addr, why) from None
    if not (port_text.isascii() and port_text.isdigit()) or len(port_text) > 5:
        raise _bad(addr, f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 0 < port <= 0xFFFF:
        raise _bad(addr, f"port {port} is not in 1..=65535")
    return ip, port


class Backend:
    """A server: `Backend("10.0.0.1:80")`, `Backend("[::1]:8080", weight=3)`,
    `Backend("unix:/run/app.sock")`.

    `addr` is kept as given; `weight` (1..=65535) sets its share of traffic under the weighted
    algorithms. `ext` is a dict for your own data (a name, a zone, TLS settings); it plays no
    part in equality, hashing or ordering. A bad address raises ValueError, a wrong type
    TypeError.
    """

    __slots__ = ("_addr", "_hk", "_host", "_key", "_port", "_text", "_weight", "ext")

    def __init__(self, addr: str, weight: int = 1, *, ext: dict[str, Any] | None = None) -> None:
        if not isinstance(addr, str):
            raise TypeError(f"backend address must be a str, not {type(addr).__name__}")
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise TypeError(f"backend weight must be an int, not {type(weight).__name__}")
        if not 1 <= weight <= MAX_WEIGHT:
            raise ValueError(f"backend weight must be in 1..={MAX_WEIGHT}, got {weight}")
        if ext is not None and not isinstance(ext, dict):
            raise TypeError(f"backend ext must be a dict, not {type(ext).__name__}")
        self._addr = addr
        self._weight = weight
        self.ext: dict[str, Any] = {} if ext is None else ext
        w = weight.to_bytes(8, "little")
        if addr.startswith(_UNIX):
            path = addr[len(_UNIX) :]
            if not path:
                raise _bad(addr, "the unix socket path is empty")
            if "\0" in path:
                raise _bad(addr, "the unix socket path contains a NUL byte")
            raw = os.fsencode(path)
            self._host: str | None = None
            self._port: int | None = None
            self._text = addr
            self._key: tuple[Any, ...] = (1, path_components(raw), weight)
            self._hk = siphash13(_path_hash_bytes(raw) + w)
            return
        ip, port = _parse_inet(addr)
        self._host = str(ip)
        self._port = port
        p = port.to_bytes(2, "little")
        if ip.version == 4:
            self._text = f"{ip}:{port}"
            self._key = (0, 0, int(ip), port, weight)
            data = bytes(8) + ip.packed + p
        else:
            self._text = f"[{ip}]:{port}"
            self._key = (0, 1, int(ip), port, weight)
            data = (1).to_bytes(8, "little") + ip.packed + p + bytes(8)  # flowinfo, scope id
        self._hk = siphash13(data + w)

    @property
    def addr(self) -> str:
        """The address exactly as given."""
        return self._addr

    @property
    def weight(self) -> int:
        """The relative weight (1..=65535)."""
        return self._weight

    @property
    def is_unix(self) -> bool:
        """True for a unix domain socket backend."""
        return self._host is None

    @property
    def host(self) -> str | None:
        """The IP in canonical text (IPv6 compressed, no brackets); None for a unix socket."""
        return self._host

    @property
    def port(self) -> int | None:
        """The port; None for a unix socket."""
        return self._port

    @property
    def uds_path(self) -> str | None:
        """The socket path of a unix backend, else None."""
        return self._addr[len(_UNIX) :] if self._host is None else None

    @property
    def canonical_addr(self) -> str:
        """The address in canonical form: `"1.2.3.4:80"`, `"[::1]:80"`, `"unix:/path"`."""
        return self._text

    def hash_key(self) -> int:
        """Pingora's 64-bit key for this backend (address and weight; `ext` ignored)."""
        return self._hk

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Backend):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return self._hk

    def __lt__(self, other: Backend) -> bool:
        if not isinstance(other, Backend):
            return NotImplemented
        return self._key < other._key

    def __le__(self, other: Backend) -> bool:
        if not isinstance(other, Backend):
            return NotImplemented
        return self._key <= other._key

    def __gt__(self, other: Backend) -> bool:
        if not isinstance(other, Backend):
            return NotImplemented
        return self._key > other._key

    def __ge__(self, other: Backend) -> bool:
        if not isinstance(other, Backend):
            return NotImplemented
        return self._key >= other._key

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        ext = f", ext={self.ext!r}" if self.ext else ""
        return f"Backend({self._addr!r}, weight={self._weight}{ext})"
