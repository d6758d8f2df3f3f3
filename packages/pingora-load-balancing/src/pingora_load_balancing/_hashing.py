"""The two 64-bit hashes the package must reproduce exactly: FNV-1a and Rust's `DefaultHasher`.

`fnv1a64` is the hash `FNVHash` selection feeds keys through (the `fnv` crate's `FnvHasher`).
`siphash13` is SipHash-1-3 with zero keys, which is what Rust's `DefaultHasher::new()` computes
over the bytes a value's `Hash` implementation writes; `Backend.hash_key()` is built on it.
Pure functions over bytes; nothing here knows what a backend is.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FNV_OFFSET", "FNV_PRIME", "MASK64", "fnv1a64", "siphash13"]

MASK64: Final = 0xFFFF_FFFF_FFFF_FFFF
FNV_OFFSET: Final = 0xCBF2_9CE4_8422_2325
FNV_PRIME: Final = 0x0000_0100_0000_01B3


def fnv1a64(data: bytes | bytearray | memoryview) -> int:
    """64-bit FNV-1a of `data`: per byte, xor it in, then multiply by the FNV prime."""
    h = FNV_OFFSET
    for byte in data if not isinstance(data, memoryview) else data.cast("B"):
        h = ((h ^ byte) * FNV_PRIME) & MASK64
    return h


def _rotl(x: int, bits: int) -> int:
    return ((x << bits) | (x >> (64 - bits))) & MASK64


def _round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & MASK64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & MASK64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & MASK64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & MASK64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash13(data: bytes, k0: int = 0, k1: int = 0) -> int:
    """SipHash-1-3 of `data` with keys `k0`, `k1` (Rust's `DefaultHasher` uses 0 and 0)."""
    v0 = k0 ^ 0x736F_6D65_7073_6575
    v1 = k1 ^ 0x646F_7261_6E64_6F6D
    v2 = k0 ^ 0x6C79_6765_6E65_7261
    v3 = k1 ^ 0x7465_6462_7974_6573
    size = len(data)
    end = size - size % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i : i + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0 ^= m
    last = ((size & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v3 ^= last
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(3):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3
