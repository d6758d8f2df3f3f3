"""Continuum picks the upstream real nginx picked, for every request of a recorded trace.

The trace was made by tools/ketama_nginx_trace.py (nginx `hash $request_uri consistent` over
loopback servers of several weights). When nginx and the tool are at hand, a fresh, shorter
trace is also recorded and checked.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pingora_ketama import Bucket, Continuum

DATA = Path(__file__).parent / "data"
TOOL = Path(__file__).resolve().parents[3] / "tools" / "ketama_nginx_trace.py"


def load(directory: Path) -> tuple[list[Bucket], list[tuple[str, str]]]:
    meta = json.loads((directory / "nginx_trace.json").read_text())
    assert meta["key"] == "$request_uri"
    buckets = [Bucket(b["address"], b["weight"]) for b in meta["buckets"]]
    with (directory / "nginx_trace.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["request_uri", "upstream_addr"]
    pairs = [(uri, addr) for uri, addr in rows[1:]]
    assert len(pairs) == meta["requests"]
    return buckets, pairs


def mismatches(buckets: list[Bucket], pairs: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    ring = Continuum(buckets)
    return [
        (uri, addr, str(ring.node(uri.encode())))
        for uri, addr in pairs
        if ring.node(uri.encode()) != addr
    ]


def test_recorded_trace_matches_every_row() -> None:
    buckets, pairs = load(DATA)
    assert len(pairs) >= 3000
    assert len({b.weight for b in buckets}) >= 4  # several different weights
    # nginx chose every server, so the trace exercises every bucket's points.
    assert set(Counter(addr for _, addr in pairs)) == {b.address for b in buckets}
    assert mismatches(buckets, pairs) == []


def test_trace_is_sensitive_to_the_ring() -> None:
    # The same trace against a ring with one weight changed must disagree somewhere.
    buckets, pairs = load(DATA)
    changed = [Bucket(buckets[0].address, buckets[0].weight + 1), *buckets[1:]]
    assert mismatches(changed, pairs)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
@pytest.mark.skipif(not TOOL.exists(), reason="the trace tool is not in this checkout")
def test_fresh_nginx_trace_matches(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(TOOL), "--requests", "400", "--seed", "7", "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    buckets, pairs = load(tmp_path)
    assert len(pairs) == 400
    assert mismatches(buckets, pairs) == []
