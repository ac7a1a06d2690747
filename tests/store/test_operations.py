"""Operators' moves in the store: guarded against a worker's concurrent change, selective by filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.ops.queries import DeliveryFilter
from gateway.outbox import operations
from gateway.store.schema import deliveries, operator_actions

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
OPERATOR = operations.Operator("client-1", "ops-team", "ops-token", "op-7")


async def add(conn: AsyncConnection, delivery_id: str, status: str) -> None:
    await conn.execute(
        insert(deliveries).values(
            id=delivery_id,
            action_key=f"lifecare:{delivery_id}",
            backend="lifecare",
            kind="health_care_handover",
            rule="R1",
            legal_basis="test",
            payload={"client": "x"},
            payload_digest="d",
            status=status,
            next_attempt_at=NOW,
            created_at=NOW,
            updated_at=NOW,
        )
    )


async def status_of(conn: AsyncConnection, delivery_id: str) -> Any:
    return (await conn.execute(select(deliveries).where(deliveries.c.id == delivery_id))).one()


async def test_a_worker_change_between_the_look_and_the_move_wins(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked = operations._why_not

    async def claimed_meanwhile(conn: AsyncConnection, event: Any, row: Any) -> str | None:
        why = await looked(conn, event, row)
        # The worker claims the delivery after the operator's look, before the move.
        await conn.execute(
            update(deliveries).where(deliveries.c.id == row.id).values(status="in_flight", lease_owner="worker-1")
        )
        return why

    monkeypatch.setattr(operations, "_why_not", claimed_meanwhile)
    async with engine.begin() as conn:
        await add(conn, "d1", "pending")
        result = await operations.cancel(
            conn, selection=["d1"], operator=OPERATOR, reason="not needed", now=NOW, dry_run=False
        )
        row = await status_of(conn, "d1")
    assert result.matched == ["d1"] and result.moved == []
    assert result.refused == [("d1", "it changed meanwhile (now in_flight); the newer change stands")]
    assert (row.status, row.lease_owner) == ("in_flight", "worker-1")


async def test_a_filter_takes_only_what_the_action_can_move(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for delivery_id, status in (("held", "held"), ("failed", "failed"), ("flying", "in_flight")):
            await add(conn, delivery_id, status)
        result = await operations.release(
            conn,
            selection=DeliveryFilter(backend="lifecare"),
            operator=OPERATOR,
            reason="back up",
            now=NOW,
            dry_run=False,
        )
        [action] = (await conn.execute(select(operator_actions))).all()
    assert sorted(result.moved) == ["failed", "held"] and result.refused == []
    assert action.selection["filter"]["backend"] == "lifecare" and action.moved == 2


async def test_ids_name_each_delivery_not_moved_and_why(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await add(conn, "flying", "in_flight")
        result = await operations.release(
            conn, selection=["flying", "ghost"], operator=OPERATOR, reason="", now=NOW, dry_run=True
        )
    assert dict(result.refused) == {
        "ghost": "no such delivery",
        "flying": "it is in_flight; release moves only failed, held deliveries",
    }


async def test_a_release_starts_a_fresh_retry_budget(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await add(conn, "held", "held")
        spent = {"failing_since": NOW, "retry_spent_seconds": 900.0, "lease_owner": "w", "claimed_at": NOW}
        await conn.execute(update(deliveries).where(deliveries.c.id == "held").values(**spent))
        later = NOW.replace(hour=10)
        await operations.release(conn, selection=["held"], operator=OPERATOR, reason="ok", now=later, dry_run=False)
        row = await status_of(conn, "held")
    assert (row.status, row.next_attempt_at, row.failing_since, row.retry_spent_seconds) == ("pending", later, None, 0)
    assert (row.lease_owner, row.claimed_at) == (None, None)
