"""A direct-mapped table that answers most ring lookups without a bisect.

The 32-bit hash space is cut into 2**bits equal slices, a few times more slices than ring points.
A key whose hash falls in a slice can only land on the points inside that slice or on the first
point after it; when all of those belong to the same address, the slice's entry is that address
and the lookup is one list index. Otherwise the entry is None and the caller bisects. The table
holds the same answers as the bisect (for either tie rule, first point ≥ or > the key's hash);
it is built once per ring and never changes.
"""

from __future__ import annotations

__all__ = ["prefix_table"]

_MIN_BITS = 8
_MAX_BITS = 20


def prefix_table(hashes: list[int], lookup: list[str | None]) -> tuple[int, list[str | None]]:
    """The shift to apply to a 32-bit hash, and the table it indexes.

    `hashes` are the ring's sorted point hashes; `lookup[i]` is the address of point
    i, with one more slot at the end holding the address a key past the last point wraps to.
    """
    n = len(hashes)
    bits = min(_MAX_BITS, max(_MIN_BITS, n.bit_length() + 2))
    shift = 32 - bits
    table: list[str | None] = []
    i = 0
    while i < n:
        slice_no = hashes[i] >> shift
        # Slices before this one hold no point: all their keys land on point i.
        table.extend([lookup[i]] * (slice_no - len(table)))
        k = i
        while k + 1 < n and hashes[k + 1] >> shift == slice_no:
            k += 1
        # Keys in this slice land on one of points i..k, or on point k + 1 past them.
        first = lookup[i]
        same = all(addr == first for addr in lookup[i + 1 : k + 2])
        table.append(first if same else None)
        i = k + 1
    table.extend([lookup[n]] * ((1 << bits) - len(table)))
    return shift, table
