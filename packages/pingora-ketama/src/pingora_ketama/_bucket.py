"""`Bucket`: one server on a ring, an `"ip:port"` address and a weight, checked on creation.

It also works out the bytes a ring hashes for the server: the IP in canonical form (IPv6 per
RFC 5952: lowercase, compressed, no brackets), a NUL byte, then the decimal port. It knows
nothing about rings or lookups.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from ipaddress import AddressValueError, IPv4Address, IPv6Address

__all__ = ["Bucket"]

_PORT = re.compile(r"[0-9]{1,5}")
_EXAMPLE = "expected 'ip:port', e.g. '10.0.0.1:80' or '[::1]:80'"


def _fail(address: str, why: str) -> ValueError:
    return ValueError(f"bad bucket address {address!r}: {why} ({_EXAMPLE})")


def _canonical_ipv6(text: str, address: str) -> str:
    if "%" in text:
        raise _fail(address, "IPv6 zone ids are not supported")
    try:
        ip = IPv6Address(text)
    except AddressValueError as exc:
        raise _fail(address, f"{text!r} is not an IPv6 address") from exc
    mapped = ip.ipv4_mapped
    if mapped is not None:  # RFC 5952 section 5: the mixed notation for IPv4-mapped addresses
        return f"::ffff:{mapped}"
    return ip.compressed


def _split(address: str) -> tuple[str, str]:
    """The canonical host text and the port text of `address`."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise _fail(address, "missing ']' after the IPv6 address")
        if address[end + 1 : end + 2] != ":":
            raise _fail(address, "missing ':port' after ']'")
        return _canonical_ipv6(address[1:end], address), address[end + 2 :]
    host, sep, port = address.rpartition(":")
    if not sep:
        raise _fail(address, "missing ':port'")
    if ":" in host:
        raise _fail(address, "an IPv6 address must be in brackets")
    try:
        ip = IPv4Address(host)
    except AddressValueError as exc:
        why = f"{host!r} is not an IPv4 address (host names are not resolved)"
        raise _fail(address, why) from exc
    return str(ip), port


@dataclass(frozen=True, slots=True)
class Bucket:
    """A server on the ring: `address` is `"ip:port"` (IPv6 as `"[ip]:port"`), `weight` ≥ 1.

    A bucket of weight w gets 160 × w points on a `Continuum`, so its share of keys is
    proportional to its weight. Lookups return `address` exactly as given here.
    """

    address: str
    weight: int
    host: str = field(init=False, repr=False, compare=False)
    port: int = field(init=False, repr=False, compare=False)
    _base_crc: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.address, str):
            raise TypeError(f"bucket address must be a str, not {type(self.address).__name__}")
        if isinstance(self.weight, bool) or not isinstance(self.weight, int):
            raise TypeError(f"bucket weight must be an int, not {type(self.weight).__name__}")
        if self.weight < 1:
            raise ValueError(f"bucket weight must be at least 1, got {self.weight}")
        if self.weight > 0xFFFF_FFFF:
            raise ValueError(f"bucket weight must fit in 32 bits, got {self.weight}")
        host, port_text = _split(self.address)
        if not _PORT.fullmatch(port_text) or int(port_text) > 0xFFFF:
            raise _fail(self.address, f"port {port_text!r} is not a number from 0 to 65535")
        port = int(port_text)
        object.__setattr__(self, "host", host)
        object.__setattr__(self, "port", port)
        object.__setattr__(self, "_base_crc", zlib.crc32(f"{host}\0{port}".encode("ascii")))

    @property
    def hash_input(self) -> bytes:
        """The bytes a ring hashes for this server: `host`, a NUL byte, the decimal `port`."""
        return f"{self.host}\0{self.port}".encode("ascii")
