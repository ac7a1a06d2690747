"""The operators' read side: deliveries by filter, one delivery whole, each back-end's health, the action log.

Pure SQL reads, cross-client by nature: an operator runs the queues for every client, so nothing
here narrows by owner. The list never carries payloads (personal data); only
:func:`delivery_detail` does, and its caller masks or logs it.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.registry import BACKENDS
from gateway.outbox.selection import DeliveryFilter, conditions, joined
from gateway.outbox.service import describe_attempt
from gateway.store.schema import attempts, backend_circuits, deliveries, operator_actions, outcomes

# DeliveryFilter lives with the outbox's moves, which take it too; the read side offers it as its own.
__all__ = [
    "ActionPage",
    "BadCursor",
    "DeliveryFilter",
    "DeliveryPage",
    "backend_health",
    "delivery_detail",
    "list_deliveries",
    "list_operator_actions",
]

HEALTH_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class DeliveryPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int
    counts: dict[str, int]  # by status, for the filter without its statuses


@dataclass(frozen=True)
class ActionPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


class BadCursor(ValueError):
    """A cursor this module did not hand out."""


def _encode(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise BadCursor("not a cursor this API gave") from None
    if not isinstance(parts, list):
        raise BadCursor("not a cursor this API gave")
    return parts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _item(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "outcome_id": row.outcome_id,
        "source_system": row.source_system,
        "source_outcome_id": row.source_outcome_id,
        "backend": row.backend,
        "kind": row.kind,
        "status": row.status,
        "status_reason": row.status_reason,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "document_version": row.document_version,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "next_attempt_at": _iso(row.next_attempt_at) if row.status == "pending" else None,
        "delivered_at": _iso(row.delivered_at),
        "payload_purged": row.purged_at is not None,
    }


_LISTED = [c for c in deliveries.c if c.name != "payload"]


async def list_deliveries(
    conn: AsyncConnection, f: DeliveryFilter, *, cursor: str | None, limit: int, now: datetime
) -> DeliveryPage:
    """A page of deliveries, oldest first (a queue reads from its head), without payloads."""
    where = conditions(f, now, with_statuses=True)
    total = (await conn.execute(joined(select(func.count())).where(*where))).scalar_one()
    by_status = joined(select(deliveries.c.status, func.count())).where(*conditions(f, now, with_statuses=False))
    counts = {status: n for status, n in await conn.execute(by_status.group_by(deliveries.c.status))}
    page = joined(select(*_LISTED, outcomes.c.source_system, outcomes.c.source_outcome_id)).where(*where)
    if cursor is not None:
        parts = _decode(cursor)
        try:
            after, after_id = datetime.fromisoformat(parts[0]), str(parts[1])
        except (IndexError, TypeError, ValueError):
            raise BadCursor("not a cursor this API gave") from None
        page = page.where(
            or_(deliveries.c.created_at > after, and_(deliveries.c.created_at == after, deliveries.c.id > after_id))
        )
    rows = (await conn.execute(page.order_by(deliveries.c.created_at, deliveries.c.id).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(rows[-1].created_at.isoformat(), rows[-1].id) if more else None
    return DeliveryPage([_item(r) for r in rows], next_cursor, int(total), counts)


async def delivery_detail(conn: AsyncConnection, delivery_id: str) -> dict[str, Any] | None:
    """One delivery whole: its attempts, references, reason, the outcome it came from, and its payload."""
    row = (
        await conn.execute(
            joined(
                select(deliveries, outcomes.c.source_system, outcomes.c.source_outcome_id, outcomes.c.revision)
            ).where(deliveries.c.id == delivery_id)
        )
    ).one_or_none()
    if row is None:
        return None
    history = await conn.execute(select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.id))
    return {
        **_item(row),
        "client_key": row.client_key,
        "source": {"system": row.source_system, "outcome_id": row.source_outcome_id, "revision": row.revision}
        if row.outcome_id
        else None,
        "origin_consent_id": row.origin_consent_id,
        "action_key": row.action_key,
        "rule": row.rule,
        "legal_basis": row.legal_basis,
        "supersedes": row.supersedes,
        "consent_id": row.consent_id,
        "references": row.backend_refs or {},
        "lease_owner": row.lease_owner,
        "failing_since": _iso(row.failing_since),
        "retry_spent_seconds": row.retry_spent_seconds,
        "purged_at": _iso(row.purged_at),
        "expires_at": _iso(row.expires_at),
        "attempt_history": [describe_attempt(a) for a in history],
        "payload": row.payload,
    }


def _percentile(values: list[int], share: float) -> int | None:
    """The nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[max(0, math.ceil(share * len(values)) - 1)]


async def backend_health(conn: AsyncConnection, *, now: datetime) -> list[dict[str, Any]]:
    """Each back-end's circuit, queue depth, backlog age and the last 15 minutes of attempts.

    Depth comes from the claim index (backend, status, …), the oldest pending delivery from the
    index on (status, backend, created_at), the recent attempts from the index on
    attempts.started_at, joined to their deliveries by key.
    """
    circuits = {r.backend: r for r in await conn.execute(select(backend_circuits))}
    depths: dict[str, dict[str, int]] = {spec.name: {} for spec in BACKENDS}
    for backend, status, n in await conn.execute(
        select(deliveries.c.backend, deliveries.c.status, func.count()).group_by(
            deliveries.c.backend, deliveries.c.status
        )
    ):
        depths.setdefault(backend, {})[status] = n
    oldest = {
        backend: due
        for backend, due in await conn.execute(
            select(deliveries.c.backend, func.min(deliveries.c.created_at))
            .where(deliveries.c.status == "pending")
            .group_by(deliveries.c.backend)
        )
    }
    recent: dict[str, list[tuple[str, int]]] = {name: [] for name in depths}
    for backend, result, ms in await conn.execute(
        select(deliveries.c.backend, attempts.c.result, attempts.c.duration_ms)
        .select_from(attempts.join(deliveries, deliveries.c.id == attempts.c.delivery_id))
        .where(attempts.c.started_at >= now - HEALTH_WINDOW)
    ):
        recent.setdefault(backend, []).append((result, ms))
    return [
        _health(name, circuits.get(name), depths[name], oldest.get(name), recent.get(name, []), now) for name in depths
    ]


def _health(
    name: str, circuit: Any, depth: dict[str, int], oldest_pending: Any, recent: list[tuple[str, int]], now: datetime
) -> dict[str, Any]:
    # Abandoned and late rows are not answers from the back-end: they say nothing of its health.
    answered = [(result, ms) for result, ms in recent if result in ("delivered", "transient", "permanent")]
    failed = sum(1 for result, _ in answered if result != "delivered")
    latencies = sorted(ms for _, ms in answered)
    return {
        "backend": name,
        "circuit": {
            "state": circuit.state if circuit else "closed",
            "since": _iso(circuit.changed_at) if circuit else None,
            "consecutive_failures": circuit.consecutive_failures if circuit else 0,
            "probe_at": _iso(circuit.probe_at) if circuit else None,
        },
        "depth": depth,
        "oldest_pending_seconds": max(0.0, (now - oldest_pending).total_seconds()) if oldest_pending else None,
        "last_success_at": _iso(circuit.last_success_at) if circuit else None,
        "last_failure_at": _iso(circuit.last_failure_at) if circuit else None,
        "window_seconds": int(HEALTH_WINDOW.total_seconds()),
        "attempts": len(answered),
        "error_rate": round(failed / len(answered), 4) if answered else None,
        "latency_ms": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
    }


async def list_operator_actions(conn: AsyncConnection, *, cursor: str | None, limit: int) -> ActionPage:
    """The action log, newest first."""
    query = select(operator_actions).order_by(operator_actions.c.id.desc())
    if cursor is not None:
        parts = _decode(cursor)
        if len(parts) != 1 or not isinstance(parts[0], int):
            raise BadCursor("not a cursor this API gave")
        query = query.where(operator_actions.c.id < parts[0])
    rows = (await conn.execute(query.limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": r.id,
            "acted_at": _iso(r.acted_at),
            "client_id": r.client_id,
            "client_name": r.client_name,
            "actor": r.actor,
            "user": r.user,
            "action": r.action,
            "reason": r.reason,
            "selection": r.selection,
            "delivery_ids": r.delivery_ids,
            "moved": r.moved,
        }
        for r in rows
    ]
    return ActionPage(items, _encode(rows[-1].id) if more else None)
