"""Outbox service functions: enqueue a plan's deliveries, read them back. The caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.fingerprints import Fingerprinter
from gateway.outbox.corrections import Previous, Step
from gateway.outbox.retention import hold_expiry
from gateway.outbox.states import Event, Status, transition
from gateway.outbox.transitions import stop_unsent
from gateway.settings import DEFAULT_CONSENT_WAIT_HOURS
from gateway.store.schema import attempts, deliveries, outcomes

MAX_REVISION_CHAIN = 1000


async def latest_deliveries(conn: AsyncConnection, *, outcome_ids: list[str]) -> dict[str, Previous]:
    """The latest real delivery of each action key across an outcome's earlier revisions.

    An "unchanged" row is only a pointer to the delivery that carried the content; it is followed,
    so that a later correction replaces (or waits for) the delivery that really went out.
    """
    rows = (
        await conn.execute(
            select(deliveries, outcomes.c.revision)
            .join(outcomes, outcomes.c.id == deliveries.c.outcome_id)
            .where(deliveries.c.outcome_id.in_(outcome_ids))
            .order_by(outcomes.c.revision, deliveries.c.created_at)
        )
    ).all()
    by_id = {r.id: r for r in rows}
    latest = {r.action_key: r for r in rows}
    found = {}
    for key, row in latest.items():
        while row.status == Status.UNCHANGED and row.supersedes in by_id:
            row = by_id[row.supersedes]
        found[key] = Previous(row.id, key, row.payload_digest, row.status, row.document_version, row.supersedes)
    return found


async def enqueue(
    conn: AsyncConnection,
    *,
    outcome_id: str | None,
    steps: Iterable[Step],
    now: datetime,
    enabled_backends: set[str],
    fingerprints: Fingerprinter,
    revision: int = 1,
    client_key: str | None = None,
    origins: Mapping[str, str] | None = None,
    consent_wait: timedelta = timedelta(hours=DEFAULT_CONSENT_WAIT_HOURS),
) -> list[str]:
    """Write one delivery per step.

    A back-end without an enabled adapter waits, visibly (``awaiting_adapter``); a delivery that
    needs the client's consent waits as ``held_for_consent`` until the consent service binds a
    valid consent to it, or until it expires (:func:`gateway.outbox.retention.hold_expiry`: the end
    of a Kela booking window, else ``consent_wait``). ``origins`` maps action keys to the consent a
    delivery is about.
    """
    ids = []
    for step in steps:
        if step.change == "removed":
            continue
        delivery_id = str(uuid.uuid4())
        if step.action is None:  # unchanged: point at the earlier delivery, carry its references
            assert step.previous is not None
            earlier = (await conn.execute(select(deliveries).where(deliveries.c.id == step.previous))).one()
            await conn.execute(
                insert(deliveries).values(
                    id=delivery_id,
                    outcome_id=outcome_id,
                    action_key=step.key,
                    backend=earlier.backend,
                    kind=earlier.kind,
                    rule=earlier.rule,
                    legal_basis=earlier.legal_basis,
                    payload=None,
                    payload_digest=earlier.payload_digest,
                    document_version=earlier.document_version,
                    supersedes=earlier.id,
                    consent_party=earlier.consent_party,
                    consent_id=earlier.consent_id,
                    status=transition(None, Event.UNCHANGED),
                    status_reason=f"unchanged in revision {revision}: not re-sent",
                    attempts=0,
                    next_attempt_at=now,
                    backend_refs=earlier.backend_refs,
                    created_at=now,
                    updated_at=now,
                    purged_at=now,
                )
            )
            ids.append(delivery_id)
            continue
        action = step.action
        if step.cancel is not None:
            await stop_unsent(
                conn,
                Event.SUPERSEDE,
                where=deliveries.c.id == step.cancel,
                now=now,
                reason=f"superseded by revision {revision} before delivery",
            )
        expires_at = None
        if action.consent is not None:
            status, reason = (
                transition(None, Event.AWAIT_CONSENT),
                f"waiting for a valid consent naming {action.consent.party}",
            )
            expires_at = hold_expiry(action.payload, held_at=now, wait=consent_wait)
        elif action.backend not in enabled_backends:
            status, reason = transition(None, Event.AWAIT_ADAPTER), f"no {action.backend} adapter is enabled yet"
        else:
            status, reason = transition(None, Event.QUEUED), None
        await conn.execute(
            insert(deliveries).values(
                id=delivery_id,
                outcome_id=outcome_id,
                origin_consent_id=(origins or {}).get(action.key),
                client_key=client_key,
                action_key=action.key,
                backend=action.backend,
                kind=action.kind,
                rule=action.rule,
                legal_basis=action.legal_basis,
                payload=action.payload,
                payload_digest=fingerprints.of(action.payload),
                document_version=step.document_version,
                supersedes=step.supersedes,
                consent_party=action.consent.party if action.consent else None,
                consent_categories=list(action.consent.categories) if action.consent else None,
                consent_id=None,
                status=status,
                status_reason=reason,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
                expires_at=expires_at,
            )
        )
        ids.append(delivery_id)
    return ids


def describe_delivery(row: Any, history: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "action_key": row.action_key,
        "backend": row.backend,
        "kind": row.kind,
        "rule": row.rule,
        "legal_basis": row.legal_basis,
        "status": row.status,
        "status_reason": row.status_reason,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == Status.PENDING else None,
        # When a delivery waiting for consent is cancelled if none arrives.
        "expires_at": row.expires_at.isoformat() if row.status == Status.HELD_FOR_CONSENT and row.expires_at else None,
        "last_error": row.last_error,
        "document_version": row.document_version,
        "supersedes": row.supersedes,
        "consent_id": row.consent_id,
        "references": row.backend_refs or {},
        "created_at": row.created_at.isoformat(),
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        "personal_data_purged": row.purged_at is not None,
        "attempt_history": history,
    }


def describe_attempt(row: Any) -> dict[str, Any]:
    return {
        "number": row.number,
        "started_at": row.started_at.isoformat(),
        "duration_ms": row.duration_ms,
        "result": row.result,
        "backend_status": row.backend_status,
        "message": row.message,
        "worker": row.worker,
    }


async def deliveries_of(conn: AsyncConnection, outcome_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Deliveries with their attempt history, grouped by outcome."""
    if not outcome_ids:
        return {}
    rows = (
        await conn.execute(
            select(deliveries)
            .where(deliveries.c.outcome_id.in_(outcome_ids))
            .order_by(deliveries.c.created_at, deliveries.c.action_key)
        )
    ).all()
    history: dict[str, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if rows:
        for a in await conn.execute(
            select(attempts).where(attempts.c.delivery_id.in_(list(history))).order_by(attempts.c.id)
        ):
            history[a.delivery_id].append(describe_attempt(a))
    effective = await _effective_statuses(conn, list(rows))
    grouped: dict[str, list[dict[str, Any]]] = {oid: [] for oid in outcome_ids}
    for row in rows:
        described = describe_delivery(row, history[row.id])
        if row.status == Status.UNCHANGED:
            described["counts_as"] = effective[row.id]
        grouped[row.outcome_id].append(described)
    return grouped


async def _effective_statuses(conn: AsyncConnection, rows: list[Any]) -> dict[str, str]:
    """Each delivery's status, an ``unchanged`` one counting as the delivery it points at (followed back)."""
    effective = {r.id: r.status for r in rows}
    known: dict[str, tuple[str, str | None]] = {r.id: (r.status, r.supersedes) for r in rows}
    pointers = {r.id: r.supersedes for r in rows if r.status == Status.UNCHANGED and r.supersedes}
    for _ in range(MAX_REVISION_CHAIN):  # a chain only points back, one link per revision
        if not pointers:
            break
        missing = [target for target in pointers.values() if target not in known]
        if missing:
            found = await conn.execute(
                select(deliveries.c.id, deliveries.c.status, deliveries.c.supersedes).where(
                    deliveries.c.id.in_(missing)
                )
            )
            known.update({r.id: (r.status, r.supersedes) for r in found})
        following: dict[str, str] = {}
        for origin, target in pointers.items():
            status, further = known.get(target, (Status.UNCHANGED, None))
            if status == Status.UNCHANGED and further:
                following[origin] = further
            else:
                effective[origin] = status
        pointers = following
    return effective
