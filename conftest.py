"""Settings shared by every test suite in the workspace: async backend and hypothesis profile."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "pingora",
    derandomize=True,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("pingora")


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio-marked tests on asyncio only: the data path is built on asyncio transports."""
    return "asyncio"
