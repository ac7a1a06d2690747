"""Fixtures shared by the contract tests of the Lifecare client: the simulated FHIR server on a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from adapters.lifecare.adapter import LifecareAdapter
from adapters.lifecare.settings import LifecareSettings
from adapters.lifecare.simulator import create_simulator
from tests.support.servers import ThreadedServer


@pytest.fixture
def lifecare_server() -> Iterator[ThreadedServer]:
    with ThreadedServer(create_simulator()) as running:
        yield running


@pytest.fixture
async def lifecare_sim(lifecare_server: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client of the simulator, for inspection and fault injection."""
    async with httpx.AsyncClient(base_url=lifecare_server.url) as client:
        yield client


@pytest.fixture
async def lifecare_adapter(lifecare_server: ThreadedServer) -> AsyncIterator[LifecareAdapter]:
    adapter = LifecareAdapter(
        LifecareSettings(timeout_seconds=1, connect_timeout_seconds=1), base_url=lifecare_server.url
    )
    yield adapter
    await adapter.aclose()
