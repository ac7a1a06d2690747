"""Queue depth over time, reconstructed from when each delivery was created and when it left the queue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.console.depth import depth_history
from gateway.store.engine import create_engine, reading
from gateway.store.schema import deliveries

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database_url)
    yield made
    await made.dispose()


async def add(
    engine: AsyncEngine,
    *,
    backend: str = "lifecare",
    status: str,
    created: datetime,
    left: datetime | None = None,
    delivered: bool = False,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(deliveries).values(
                id=str(uuid.uuid4()),
                action_key=f"{backend}:{uuid.uuid4().hex[:6]}",
                backend=backend,
                kind="fhir_transaction",
                rule="health_care_handover",
                legal_basis="Potilaslaki 785/1992 13 §",
                payload={},
                payload_digest="0" * 64,
                status=status,
                attempts=1,
                next_attempt_at=created,
                created_at=created,
                updated_at=left or created,
                delivered_at=left if delivered else None,
            )
        )


async def test_a_delivery_counts_from_its_creation_until_it_was_delivered(engine: AsyncEngine) -> None:
    await add(engine, status="delivered", created=NOW - 5 * HOUR, left=NOW - 2 * HOUR, delivered=True)

    async with reading(engine) as conn:
        series = (await depth_history(conn, now=NOW, hours=6, points=7))["lifecare"]

    assert series.moments[0] == NOW - 6 * HOUR and series.moments[-1] == NOW
    assert series.depths == (0, 1, 1, 1, 0, 0, 0)


async def test_held_and_pending_deliveries_still_count_now_and_cancelled_ones_stop_counting(
    engine: AsyncEngine,
) -> None:
    await add(engine, status="held", created=NOW - 3 * HOUR, left=NOW - HOUR)
    await add(engine, status="pending", created=NOW - HOUR)
    await add(engine, status="cancelled", created=NOW - 4 * HOUR, left=NOW - 3.5 * HOUR)

    async with reading(engine) as conn:
        series = (await depth_history(conn, now=NOW, hours=6, points=7))["lifecare"]

    assert series.depths == (0, 0, 1, 1, 1, 2, 2)


async def test_each_backend_has_its_own_series_and_a_quiet_one_none(engine: AsyncEngine) -> None:
    await add(engine, backend="kanta", status="pending", created=NOW - 2 * HOUR)
    await add(
        engine, backend="lifecare", status="delivered", created=NOW - 9 * HOUR, left=NOW - 8 * HOUR, delivered=True
    )

    async with reading(engine) as conn:
        history = await depth_history(conn, now=NOW, hours=6, points=4)

    assert set(history) == {"kanta"}
    assert history["kanta"].depths == (0, 0, 1, 1)
