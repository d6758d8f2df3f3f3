"""Lookups per second: pingora_ketama rings against uhashring's `get_node`, same nodes, same keys.

For 10 and 100 nodes (weights 1-4) it times `Continuum.node` (nginx-exact, CRC-32) and
`LibketamaContinuum.node` (libketama layout, MD5) against uhashring's `HashRing.get_node` in its
default mode and its ketama-compatible mode, over the same keys (bytes for ours, str for
uhashring, both made before timing). Best of several rounds; prints each rate and the ratios.

    python tools/bench/bench_ketama.py [--keys 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence

from uhashring import HashRing

from pingora_ketama import Bucket, Continuum, LibketamaContinuum


def nodes(count: int) -> list[Bucket]:
    rng = random.Random(count)
    return [Bucket(f"10.{i // 250}.{i % 250}.1:8080", rng.randint(1, 4)) for i in range(count)]


def rate(lookup: Callable[[object], object], keys: Sequence[object], rounds: int) -> float:
    """Best lookups/s over `rounds` passes of `keys`."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for key in keys:
            lookup(key)
        best = min(best, time.perf_counter() - start)
    return len(keys) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(1)
    text_keys = [f"/object/{rng.getrandbits(64):016x}" for _ in range(args.keys)]
    byte_keys = [k.encode() for k in text_keys]

    print(f"{args.keys} keys, best of {args.rounds} rounds; lookups/s")
    for count in (10, 100):
        buckets = nodes(count)
        conf = {b.address: {"weight": b.weight} for b in buckets}
        ours = Continuum(buckets)
        ours_ketama = LibketamaContinuum(buckets)
        ref = HashRing(nodes=conf)
        ref_ketama = HashRing(nodes=conf, hash_fn="ketama")

        nginx_rate = rate(ours.node, byte_keys, args.rounds)  # type: ignore[arg-type]
        ketama_rate = rate(ours_ketama.node, byte_keys, args.rounds)  # type: ignore[arg-type]
        ref_rate = rate(ref.get_node, text_keys, args.rounds)
        ref_ketama_rate = rate(ref_ketama.get_node, text_keys, args.rounds)

        print(f"\n{count} nodes ({len(ours)} nginx points, {len(ours_ketama)} ketama points)")
        rows = [
            ("Continuum.node", nginx_rate),
            ("LibketamaContinuum.node", ketama_rate),
            ("uhashring get_node (default)", ref_rate),
            ("uhashring get_node (ketama)", ref_ketama_rate),
        ]
        for name, value in rows:
            print(f"  {name:<30} {value:>12,.0f}")
        print(f"  Continuum vs uhashring default:        {nginx_rate / ref_rate:5.2f}x")
        print(f"  Continuum vs uhashring ketama:         {nginx_rate / ref_ketama_rate:5.2f}x")
        print(f"  LibketamaContinuum vs uhashring ketama: {ketama_rate / ref_ketama_rate:5.2f}x")


if __name__ == "__main__":
    main()
