"""The database breaks under a request: the connection storing an outcome is killed on PostgreSQL.

A PostgreSQL restart looks, from the gateway, like a server that ends its sessions
(``pg_terminate_backend``, SQLSTATE 57P01). The test holds the outcome's own advisory lock so
that the API's transaction is caught waiting mid-way, then ends that session, as a restart would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.outcomes.service import source_lock_key
from gateway.store.engine import create_engine
from tests.conftest import POSTGRES_URL
from tests.support.harness import Harness, example, running_gateway

WAITING_FOR_THE_OUTCOME_LOCK = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock%'
"""


@pytest.fixture
async def gw(database_url: str, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_gateway(database_url, tmp_path) as harness:
        yield harness


@pytest.fixture
async def holder(gw: Harness) -> AsyncIterator[AsyncConnection]:
    """A session of the test's own on the gateway's database, outside the gateway's pool."""
    engine = create_engine(gw.settings.resolved_database_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
    await engine.dispose()


async def kill_the_session_waiting_for(holder: AsyncConnection, *, seconds: float = 10) -> None:
    """Wait until the API's transaction waits on the outcome's lock, then end that session."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        pids = [r[0] for r in await holder.execute(text(WAITING_FOR_THE_OUTCOME_LOCK))]
        if pids:
            for pid in pids:
                await holder.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no transaction came to wait for the outcome's lock")


def handover() -> dict[str, Any]:
    return example("05")


@asynccontextmanager
async def holding_the_lock_of(holder: AsyncConnection, body: dict[str, Any]) -> AsyncIterator[None]:
    """Hold the outcome's own advisory lock, so that the API's transaction for it waits mid-way."""
    key = source_lock_key(body["source"]["system"], body["source"]["outcome_id"])
    await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    try:
        yield
    finally:
        await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


if POSTGRES_URL:  # the failure is PostgreSQL's; SQLite has no sessions to end

    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_an_outcome_whose_database_session_is_killed_mid_transaction_is_still_accepted_once(
        gw: Harness, holder: AsyncConnection
    ) -> None:
        body = handover()
        async with holding_the_lock_of(holder, body):
            posting = asyncio.create_task(gw.post(body))
            await kill_the_session_waiting_for(holder)
        response = await posting
        assert response.status_code == 202
        assert await gw.count("outcomes") == 1 and await gw.count("deliveries") == 1

    @pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
    async def test_a_database_that_stays_away_is_a_503_that_says_the_result_is_unknown(
        gw: Harness, holder: AsyncConnection
    ) -> None:
        body = handover()
        async with holding_the_lock_of(holder, body):
            posting = asyncio.create_task(gw.post(body))
            while not posting.done():
                try:
                    await kill_the_session_waiting_for(holder, seconds=3)
                except AssertionError:
                    break
            response = await posting
            assert response.status_code == 503 and response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] and "not known" in response.json()["detail"]
            assert await gw.count("outcomes") == 0 and await gw.count("deliveries") == 0
        again = await gw.post(body)
        assert again.status_code == 202
