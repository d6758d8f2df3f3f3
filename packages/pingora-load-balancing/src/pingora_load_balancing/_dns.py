"""`DnsDiscovery`: the backends are the A and AAAA records of a host name, re-resolved only
once the answer's TTL has run out.

Resolution uses dnspython's asyncio resolver, against the system's resolvers or the one at
`resolver_address`. A lookup that fails or finds no address raises an `Error`, so the load
balancer keeps the backends it had; the next `discover()` tries again. The answer is reused
until max(TTL, `interval`) seconds after it arrived, measured on `clock`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from ipaddress import ip_address

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from pingora_core.errors import Error, ErrorSource, ErrorType
from pingora_load_balancing._backend import Backend
from pingora_load_balancing._discovery import Discovered, ServiceDiscovery

__all__ = ["DNS_ERROR", "DnsDiscovery"]

#: The error type of a failed lookup.
DNS_ERROR = ErrorType.Custom("DNSDiscoveryError")


def _parse_resolver(address: str) -> tuple[str, int]:
    if not isinstance(address, str):
        raise TypeError(f"resolver_address must be a str, not {type(address).__name__}")
    host, port = address, 53
    if address.startswith("["):
        end = address.find("]")
        host, rest = address[1:end], address[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise ValueError(f"invalid resolver_address {address!r}: expected '[ipv6]:port'")
        if rest:
            port = int(rest[1:]) if rest[1:].isdigit() else -1
    elif address.count(":") == 1:
        host, port_text = address.split(":")
        port = int(port_text) if port_text.isdigit() else -1
    try:
        ip_address(host)
    except ValueError:
        raise ValueError(
            f"invalid resolver_address {address!r}: expected 'ip' or 'ip:port'"
        ) from None
    if not 0 < port <= 0xFFFF:
        raise ValueError(f"invalid resolver_address {address!r}: port must be in 1..=65535")
    return host, port


def _seconds(name: str, value: object, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be seconds (a number), not {type(value).__name__}")
    if math.isnan(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>=' if allow_zero else '>'} 0 seconds, got {value}")
    return float(value)


class DnsDiscovery(ServiceDiscovery):
    """Backends from the addresses of `hostname`, each on `port` with `weight`.

    `resolver_address` ("ip" or "ip:port", "[v6]:port") picks the DNS server (default: the
    system's). `interval` is the shortest time an answer is kept even when its TTL is shorter;
    `timeout` bounds one lookup; `ipv4` / `ipv6` choose the record types asked for.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        resolver_address: str | None = None,
        *,
        interval: float = 1.0,
        timeout: float = 5.0,
        weight: int = 1,
        ipv4: bool = True,
        ipv6: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(hostname, str) or not hostname.strip(". "):
            raise ValueError(f"hostname must be a non-empty host name, got {hostname!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 0xFFFF:
            raise ValueError(f"port must be in 1..=65535, got {port!r}")
        if not (ipv4 or ipv6):
            raise ValueError("at least one of ipv4 and ipv6 must be True")
        Backend("127.0.0.1:1", weight)  # checks the weight
        self.hostname = hostname
        self.port = port
        self.weight = weight
        self.resolver_address = resolver_address
        self._server = None if resolver_address is None else _parse_resolver(resolver_address)
        self.interval = _seconds("interval", interval, allow_zero=True)
        self.timeout = _seconds("timeout", timeout, allow_zero=False)
        self._types = tuple(t for t, on in (("A", ipv4), ("AAAA", ipv6)) if on)
        self._clock = clock
        self._resolver: dns.asyncresolver.Resolver | None = None
        self._cached: frozenset[Backend] | None = None
        self._expires = -math.inf
        self.lookups = 0

    @property
    def expires_at(self) -> float:
        """When (on `clock`) the cached answer runs out; -inf before the first lookup."""
        return self._expires

    def _get_resolver(self) -> dns.asyncresolver.Resolver:
        resolver = self._resolver
        if resolver is None:
            if self._server is None:
                resolver = dns.asyncresolver.Resolver()
            else:
                resolver = dns.asyncresolver.Resolver(configure=False)
                host, port = self._server
                resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port)]
            resolver.lifetime = self.timeout
            self._resolver = resolver
        return resolver

    async def discover(self) -> Discovered:
        now = self._clock()
        if self._cached is not None and now < self._expires:
            return self._cached, {}
        backends, ttl = await self.resolve()
        self._cached = backends
        self._expires = now + max(ttl, self.interval)
        return backends, {}

    async def resolve(self) -> tuple[frozenset[Backend], float]:
        """Look the name up now (no cache): the backends and the answer's TTL in seconds."""
        self.lookups += 1
        where = f"resolving {self.hostname!r}"
        try:
            resolver = self._get_resolver()
            found: list[Backend] = []
            ttl = math.inf
            for rdtype in self._types:
                answer = await resolver.resolve(self.hostname, rdtype, raise_on_no_answer=False)
                if answer.rrset is None:
                    continue
                ttl = min(ttl, answer.chaining_result.minimum_ttl)
                for record in answer.rrset:
                    host = record.to_text()
                    text = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
                    found.append(Backend(text, self.weight))
        except dns.exception.DNSException as exc:
            raise Error(DNS_ERROR, ErrorSource.UPSTREAM, context=f"{where}: {exc}",
                        cause=exc) from exc
        if not found:
            raise Error(DNS_ERROR, ErrorSource.UPSTREAM,
                        context=f"{where}: no {'/'.join(self._types)} records")
        return frozenset(found), float(ttl)

    def __repr__(self) -> str:
        server = self.resolver_address or "system"
        return (f"DnsDiscovery(hostname={self.hostname!r}, port={self.port}, "
                f"resolver={server}, lookups={self.lookups}, cached={self._cached is not None})")
