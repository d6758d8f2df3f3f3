"""The event loops a test can run on under anyio's pytest plugin: asyncio, and uvloop when it is
installed (the `speedups` extra). Use them as the params of an `anyio_backend` fixture to run a
module's tests on both:

    @pytest.fixture(params=anyio_loop_backends(), ids=loop_backend_id)
    def anyio_backend(request: pytest.FixtureRequest) -> object:
        return request.param
"""

from __future__ import annotations

import importlib.util

__all__ = ["anyio_loop_backends", "loop_backend_id"]


def anyio_loop_backends() -> list[tuple[str, dict[str, object]]]:
    """`anyio_backend` values: plain asyncio, then asyncio on uvloop if uvloop is installed."""
    backends: list[tuple[str, dict[str, object]]] = [("asyncio", {})]
    if importlib.util.find_spec("uvloop") is not None:
        backends.append(("asyncio", {"use_uvloop": True}))
    return backends


def loop_backend_id(backend: tuple[str, dict[str, object]]) -> str:
    """A test id for one of `anyio_loop_backends()`: "asyncio" or "uvloop"."""
    return "uvloop" if backend[1].get("use_uvloop") else backend[0]
