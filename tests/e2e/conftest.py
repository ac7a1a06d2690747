"""End-to-end fixtures: a running gateway (API + simulators on sockets) on each configured database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.harness import Harness, running_gateway


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path) as harness:
        yield harness
