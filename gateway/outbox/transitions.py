"""The outbox's moves that others ask for: consents bind and revoke, bookings settle and stop.

The consent registry and the booking API decide *that* a delivery moves; only the outbox writes
``deliveries``. Each move names its :class:`~gateway.outbox.states.Event` and is a guarded
UPDATE: it happens only from the statuses the state machine allows, so a worker that moved the
delivery meanwhile wins cleanly and the caller sees that nothing moved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.outbox.states import Event, Status, sources, target, transition
from gateway.store.schema import deliveries


async def move(
    conn: AsyncConnection, event: Event, *, where: Any, now: datetime, reason: str | None, **values: Any
) -> list[str]:
    """Move the deliveries matching ``where`` by ``event``; return the ids that moved."""
    moved = await conn.execute(
        update(deliveries)
        .where(where, deliveries.c.status.in_(sources(event)))
        .values(status=target(event), status_reason=reason, updated_at=now, **values)
        .returning(deliveries.c.id)
    )
    return list(moved.scalars())


async def bind_consent(
    conn: AsyncConnection, *, delivery_id: str, backend: str, consent_id: str, now: datetime, enabled_backends: set[str]
) -> bool:
    """A consent authorises a delivery held for it: it goes to the queue (or waits for its adapter)."""
    waiting = backend not in enabled_backends
    moved = await move(
        conn,
        Event.AWAIT_ADAPTER if waiting else Event.CONSENT_GIVEN,
        where=deliveries.c.id == delivery_id,
        now=now,
        reason=f"no {backend} adapter is enabled yet" if waiting else None,
        consent_id=consent_id,
        next_attempt_at=now,
        expires_at=None,
    )
    return bool(moved)


async def stop_unsent(conn: AsyncConnection, event: Event, *, where: Any, now: datetime, reason: str) -> list[str]:
    """Cancel what has not reached its back-end (a revoked consent, a superseded version, a stopped booking)."""
    if transition(Status.PENDING, event) is not Status.CANCELLED:
        raise ValueError(f"{event.value} does not stop a delivery")
    return await move(conn, event, where=where, now=now, reason=reason)


async def add_held_for_consent(conn: AsyncConnection, *, row: dict[str, Any], now: datetime) -> None:
    """A new delivery that waits for the consent the caller is about to bind (a direct Kela booking)."""
    await conn.execute(
        insert(deliveries).values(
            **row,
            status=transition(None, Event.AWAIT_CONSENT),
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
