"""Operators' moves on deliveries: replay, release and cancel, each recorded in the action log.

The outbox is the only writer of deliveries, so these live here. Every move is a guarded UPDATE
(``WHERE id = … AND status IN sources(event)``): when a worker moved the delivery between the
operator's look and the move, the worker's change stands and the delivery is reported refused.
A move is refused, before anything is written, when it cannot be carried out faithfully:

- the payload was purged by retention: there is nothing left to send;
- a newer version of the same record exists (a later revision of the outcome carries its own
  delivery of the action): re-sending the older one would overwrite the correction.

Re-sending what a back-end already holds leaves one copy there: every adapter derives its
identifiers from the delivery id (Lifecare conditional creates, the Kanta document OID and
version, the Kela request id), and a replay keeps the delivery id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from gateway.outbox.selection import DeliveryFilter, conditions, joined
from gateway.outbox.states import Event, Status, sources
from gateway.store.schema import deliveries, operator_actions, outcomes

MAX_SELECTION = 5000
"""A filter moves at most this many deliveries at once (oldest first); run the action again for more."""


@dataclass(frozen=True)
class Operator:
    """Who acts: the API client and token (or ``cli:<os user>``), and the person when known."""

    client_id: str
    client_name: str
    actor: str
    user: str | None


@dataclass
class ActionResult:
    action: str
    dry_run: bool
    matched: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (delivery id, why)


async def replay(
    conn: AsyncConnection,
    *,
    selection: DeliveryFilter | list[str],
    operator: Operator,
    reason: str,
    now: datetime,
    dry_run: bool,
) -> ActionResult:
    """Send again (delivered, held, failed or cancelled → pending), as the same delivery."""
    return await _act(conn, Event.REPLAY, selection, operator, reason, now, dry_run)


async def release(
    conn: AsyncConnection,
    *,
    selection: DeliveryFilter | list[str],
    operator: Operator,
    reason: str,
    now: datetime,
    dry_run: bool,
) -> ActionResult:
    """Retry a stopped delivery (held, failed → pending) with a fresh retry budget."""
    return await _act(conn, Event.RELEASE, selection, operator, reason, now, dry_run)


async def cancel(
    conn: AsyncConnection,
    *,
    selection: DeliveryFilter | list[str],
    operator: Operator,
    reason: str,
    now: datetime,
    dry_run: bool,
) -> ActionResult:
    """Stop a delivery that has not reached its back-end (→ cancelled, the reason kept)."""
    return await _act(conn, Event.CANCEL, selection, operator, reason, now, dry_run)


_PAST = {Event.REPLAY: "replayed", Event.RELEASE: "released", Event.CANCEL: "cancelled"}


def _selected(selection: DeliveryFilter | list[str], event: Event, now: datetime) -> Select[Any]:
    columns = joined(select(deliveries.c.id, deliveries.c.status, deliveries.c.purged_at, deliveries.c.payload))
    query = columns.add_columns(deliveries.c.outcome_id, deliveries.c.action_key)
    if isinstance(selection, list):
        return query.where(deliveries.c.id.in_(selection))
    # A filter selects only what the action can move: anything else is not a match, not a refusal.
    movable = sorted(sources(event) & set(selection.statuses)) if selection.statuses else sorted(sources(event))
    return (
        query.where(*conditions(selection, now, with_statuses=False), deliveries.c.status.in_(movable))
        .order_by(deliveries.c.created_at, deliveries.c.id)
        .limit(MAX_SELECTION)
    )


async def _newer_version(
    conn: AsyncConnection, outcome_id: str | None, action_key: str, delivery_id: str
) -> str | None:
    """A delivery of the same action in a later revision of the outcome, unless it only points at this one."""
    if outcome_id is None:
        return None
    earlier = outcomes.alias("earlier")
    found = await conn.execute(
        select(deliveries.c.id)
        .select_from(
            deliveries.join(outcomes, outcomes.c.id == deliveries.c.outcome_id).join(
                earlier,
                and_(
                    earlier.c.source_system == outcomes.c.source_system,
                    earlier.c.source_outcome_id == outcomes.c.source_outcome_id,
                    earlier.c.revision < outcomes.c.revision,
                ),
            )
        )
        .where(
            earlier.c.id == outcome_id,
            deliveries.c.action_key == action_key,
            or_(deliveries.c.status != Status.UNCHANGED, deliveries.c.supersedes != delivery_id),
        )
        .limit(1)
    )
    return found.scalar_one_or_none()


async def _why_not(conn: AsyncConnection, event: Event, row: Any) -> str | None:
    if row.status not in sources(event):
        allowed = ", ".join(sorted(sources(event)))
        return f"it is {row.status}; {event.value} moves only {allowed} deliveries"
    if event is Event.CANCEL:
        return None
    if row.purged_at is not None or row.payload is None:
        return "its payload was purged by retention: there is nothing left to send"
    newer = await _newer_version(conn, row.outcome_id, row.action_key, row.id)
    if newer is not None:
        return f"a newer version of this record exists (delivery {newer}); sending this one would overwrite it"
    return None


def _values(event: Event, reason: str, now: datetime) -> dict[str, Any]:
    if event is Event.CANCEL:
        return {"status": Status.CANCELLED, "status_reason": f"cancelled by operator: {reason}", "updated_at": now}
    # A fresh start: due now, no lease, and a new retry budget.
    return {
        "status": Status.PENDING,
        "status_reason": f"{_PAST[event]} by operator: {reason}",
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
        "claimed_at": None,
        "failing_since": None,
        "retry_spent_seconds": 0,
        "updated_at": now,
    }


async def _act(
    conn: AsyncConnection,
    event: Event,
    selection: DeliveryFilter | list[str],
    operator: Operator,
    reason: str,
    now: datetime,
    dry_run: bool,
) -> ActionResult:
    result = ActionResult(event.value, dry_run)
    rows = {r.id: r for r in await conn.execute(_selected(selection, event, now))}
    if isinstance(selection, list):
        result.refused += [(i, "no such delivery") for i in dict.fromkeys(selection) if i not in rows]
    for row in rows.values():
        why = await _why_not(conn, event, row)
        if why is None:
            result.matched.append(row.id)
        else:
            result.refused.append((row.id, why))
    if dry_run:
        return result
    if not reason.strip():
        raise ValueError("an action that moves deliveries needs a reason")
    allowed = sorted(sources(event))
    values = _values(event, reason.strip(), now)
    for delivery_id in result.matched:
        moved = await conn.execute(
            update(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.status.in_(allowed)).values(**values)
        )
        if moved.rowcount == 1:
            result.moved.append(delivery_id)
        else:
            current = await conn.scalar(select(deliveries.c.status).where(deliveries.c.id == delivery_id))
            result.refused.append((delivery_id, f"it changed meanwhile (now {current}); the newer change stands"))
    await conn.execute(
        insert(operator_actions).values(
            acted_at=now,
            client_id=operator.client_id,
            client_name=operator.client_name,
            actor=operator.actor,
            user=operator.user,
            action=event.value,
            reason=reason.strip(),
            selection={"ids": list(selection)} if isinstance(selection, list) else {"filter": asdict(selection)},
            delivery_ids=result.moved,
            moved=len(result.moved),
        )
    )
    return result
