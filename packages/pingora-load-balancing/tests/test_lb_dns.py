"""DnsDiscovery against a DNS server the test controls (UDP on 127.0.0.1:0, answers built
with dnslib): A and AAAA records, TTL honoured on a controlled clock, failures keep the old set."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import cast

import pytest
from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

from pingora_core.errors import Error
from pingora_load_balancing import (
    DNS_ERROR,
    Backend,
    Backends,
    DnsDiscovery,
    LoadBalancer,
    RoundRobin,
)


class LoopbackDns(asyncio.DatagramProtocol):
    """Answers A/AAAA queries from `records`: name -> list of (type, address, ttl)."""

    def __init__(self) -> None:
        self.records: dict[str, list[tuple[str, str, int]]] = {}
        self.queries: Counter[tuple[str, str]] = Counter()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        request = DNSRecord.parse(data)
        name = str(request.q.qname).rstrip(".")
        qtype = QTYPE[request.q.qtype]
        self.queries[(name, qtype)] += 1
        reply = request.reply()
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        for rtype, address, ttl in self.records.get(name, []):
            if rtype == qtype:
                rdata = A(address) if rtype == "A" else AAAA(address)
                reply.add_answer(RR(request.q.qname, getattr(QTYPE, rtype), rdata=rdata, ttl=ttl))
        assert self.transport is not None
        self.transport.sendto(reply.pack(), addr)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def dns_server() -> AsyncIterator[tuple[LoopbackDns, str]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        LoopbackDns, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        yield protocol, f"127.0.0.1:{port}"
    finally:
        transport.close()


@pytest.mark.anyio
async def test_resolves_a_and_aaaa_records(dns_server: tuple[LoopbackDns, str]) -> None:
    server, address = dns_server
    server.records["svc.test"] = [
        ("A", "10.0.0.2", 30), ("A", "10.0.0.1", 30), ("AAAA", "2001:db8::1", 30),
    ]
    discovery = DnsDiscovery("svc.test", 8080, address)
    found, enabled = await discovery.discover()
    assert sorted(found) == [
        Backend("10.0.0.1:8080"), Backend("10.0.0.2:8080"), Backend("[2001:db8::1]:8080"),
    ]
    assert enabled == {}
    assert server.queries == {("svc.test", "A"): 1, ("svc.test", "AAAA"): 1}


@pytest.mark.anyio
async def test_ttl_is_honoured(dns_server: tuple[LoopbackDns, str]) -> None:
    server, address = dns_server
    server.records["svc.test"] = [("A", "10.0.0.1", 30), ("AAAA", "::1", 60)]
    clock = FakeClock()
    discovery = DnsDiscovery("svc.test", 80, address, interval=1.0, clock=clock)
    await discovery.discover()
    assert discovery.expires_at == 1030.0  # the smallest TTL of the answer
    server.records["svc.test"] = [("A", "10.0.0.9", 30)]
    clock.now = 1029.9
    found, _ = await discovery.discover()  # still cached: no query
    assert sorted(found) == [Backend("10.0.0.1:80"), Backend("[::1]:80")]
    assert discovery.lookups == 1
    assert server.queries[("svc.test", "A")] == 1
    clock.now = 1030.0
    found, _ = await discovery.discover()  # expired: asked again
    assert sorted(found) == [Backend("10.0.0.9:80")]
    assert discovery.lookups == 2
    assert server.queries[("svc.test", "A")] == 2


@pytest.mark.anyio
async def test_interval_is_a_floor_for_short_ttls(dns_server: tuple[LoopbackDns, str]) -> None:
    server, address = dns_server
    server.records["svc.test"] = [("A", "10.0.0.1", 0)]
    clock = FakeClock()
    discovery = DnsDiscovery("svc.test", 80, address, interval=5.0, ipv6=False, clock=clock)
    await discovery.discover()
    clock.now += 4.9
    await discovery.discover()
    assert discovery.lookups == 1
    assert server.queries == {("svc.test", "A"): 1}  # AAAA never asked
    clock.now += 0.1
    await discovery.discover()
    assert discovery.lookups == 2


@pytest.mark.anyio
async def test_failures_raise_and_keep_the_backends(dns_server: tuple[LoopbackDns, str]) -> None:
    server, address = dns_server
    server.records["svc.test"] = [("A", "10.0.0.1", 5)]
    clock = FakeClock()
    lb = LoadBalancer.from_backends(
        Backends(DnsDiscovery("svc.test", 80, address, clock=clock)), RoundRobin
    )
    await lb.update()
    assert lb.select(b"", 4) == Backend("10.0.0.1:80")
    del server.records["svc.test"]  # NXDOMAIN
    clock.now += 5
    with pytest.raises(Error) as info:
        await lb.update()
    assert info.value.etype == DNS_ERROR
    assert "svc.test" in str(info.value)
    assert lb.select(b"", 4) == Backend("10.0.0.1:80")
    server.records["svc.test"] = []  # the name exists but has no address
    with pytest.raises(Error, match="no A/AAAA records"):
        await lb.update()
    server.records["svc.test"] = [("A", "10.0.0.2", 5)]
    await lb.update()
    assert lb.backends.get_backend() == (Backend("10.0.0.2:80"),)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="hostname"):
        DnsDiscovery("", 80)
    with pytest.raises(ValueError, match="port must be in"):
        DnsDiscovery("a.test", 0)
    with pytest.raises(ValueError, match="resolver_address"):
        DnsDiscovery("a.test", 80, "dns.example:53")
    with pytest.raises(ValueError, match="port must be in"):
        DnsDiscovery("a.test", 80, "127.0.0.1:99999")
    with pytest.raises(ValueError, match="ipv4 and ipv6"):
        DnsDiscovery("a.test", 80, ipv4=False, ipv6=False)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        DnsDiscovery("a.test", 80, timeout=0)
    with pytest.raises(ValueError, match="weight must be in"):
        DnsDiscovery("a.test", 80, weight=0)
    d = DnsDiscovery("a.test", 80, "[::1]:5353", weight=2)
    assert repr(d) == (
        "DnsDiscovery(hostname='a.test', port=80, resolver=[::1]:5353, lookups=0, cached=False)"
    )
