"""Cost per call of pingora_timeout's timeout() and timeout_scope() beside asyncio.timeout and
anyio.fail_after, in one run, on one event loop.

Two cases, each with a deadline that never fires (10 s):
  (a) the awaitable finishes without suspending (`async def f(): return 1`);
  (b) the awaitable suspends once (`await asyncio.sleep(0)`).
Every contender runs the same loop of awaits; the cost of awaiting the bare awaitable is measured
the same way and subtracted to give the net cost of the timeout itself. Rounds are interleaved
and each contender's best round is reported. Targets: (a) net <= 1 us per call, (b) net <= 0.5 x
asyncio.timeout's net.

    python tools/bench/bench_timeout.py [--calls 10000] [--rounds 15] [--loop asyncio|uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final

import anyio

from pingora_timeout import timeout, timeout_scope

DEADLINE: Final = 10.0

Make = Callable[[], Awaitable[int]]
Runner = Callable[[Make, int], Awaitable[float]]


async def no_suspend() -> int:
    return 1


async def suspend_once() -> int:
    await asyncio.sleep(0)
    return 1


async def run_bare(make: Make, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await make()
    return time.perf_counter() - start


async def run_pingora_timeout(make: Make, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await timeout(DEADLINE, make())
    return time.perf_counter() - start


async def run_pingora_scope(make: Make, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        async with timeout_scope(DEADLINE):
            await make()
    return time.perf_counter() - start


async def run_asyncio_timeout(make: Make, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        async with asyncio.timeout(DEADLINE):
            await make()
    return time.perf_counter() - start


async def run_anyio_fail_after(make: Make, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        with anyio.fail_after(DEADLINE):
            await make()
    return time.perf_counter() - start


CONTENDERS: Final[dict[str, Runner]] = {
    "bare await": run_bare,
    "pingora_timeout.timeout": run_pingora_timeout,
    "pingora_timeout.timeout_scope": run_pingora_scope,
    "asyncio.timeout": run_asyncio_timeout,
    "anyio.fail_after": run_anyio_fail_after,
}

CASES: Final[dict[str, Make]] = {
    "(a) completes without suspending": no_suspend,
    "(b) suspends once (asyncio.sleep(0))": suspend_once,
}


async def measure(make: Make, calls: int, rounds: int) -> dict[str, float]:
    """Microseconds per call of each contender in its best round, rounds interleaved.

    The best round is the one least disturbed by other work on the machine (as timeit does).
    """
    per_round: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for runner in CONTENDERS.values():  # warm up every path once
        await runner(make, min(calls, 2000))
    for _ in range(rounds):
        for name, runner in CONTENDERS.items():
            per_round[name].append(await runner(make, calls) / calls * 1e6)
    return {name: min(values) for name, values in per_round.items()}


def report(case: str, micros: dict[str, float]) -> tuple[float, float]:
    """Print one case's table; return pingora timeout's net cost and asyncio.timeout's."""
    bare = micros["bare await"]
    ours = micros["pingora_timeout.timeout"] - bare
    reference = micros["asyncio.timeout"] - bare
    print(f"\n{case}")
    print(f"  {'':32} {'raw us/call':>12} {'net us/call':>12} {'net vs asyncio.timeout':>23}")
    for name, raw in micros.items():
        net = raw - bare
        ratio = f"{net / reference:.2f}x" if name != "bare await" and reference > 0 else "-"
        print(f"  {name:32} {raw:12.3f} {net:12.3f} {ratio:>23}")
    anyio_net = micros["anyio.fail_after"] - bare
    print(
        f"  pingora_timeout.timeout is {reference / ours:.1f}x cheaper than asyncio.timeout and"
        f" {anyio_net / ours:.1f}x cheaper than anyio.fail_after (net)"
        if ours > 0
        else "  pingora_timeout.timeout costs nothing measurable (net)"
    )
    return ours, reference


async def main(calls: int, rounds: int) -> None:
    loop = asyncio.get_running_loop()
    print(
        f"Python {sys.version.split()[0]}, loop {type(loop).__module__}.{type(loop).__name__}, "
        f"{calls} calls x {rounds} rounds per contender, best round, deadline {DEADLINE} s"
    )
    results = [report(case, await measure(make, calls, rounds)) for case, make in CASES.items()]
    (a_ours, _), (b_ours, b_reference) = results
    print("\nTargets")
    print(f"  (a) net <= 1 us per call: {a_ours:.3f} us -> {'met' if a_ours <= 1 else 'MISSED'}")
    ratio = b_ours / b_reference
    print(
        f"  (b) net <= 0.5 x asyncio.timeout: {ratio:.2f}x -> "
        f"{'met' if ratio <= 0.5 else 'MISSED'}"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10000, help="awaits per round")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main(args.calls, args.rounds))
    else:
        asyncio.run(main(args.calls, args.rounds))


if __name__ == "__main__":
    cli()
