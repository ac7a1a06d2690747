"""Which deliveries an operator means: a filter, and the SQL conditions it stands for.

Here in the outbox because the outbox's moves take a filter too, and the outbox knows none of
its callers; the operators' read side (``gateway.ops.queries``) uses the same conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_

from gateway.store.schema import deliveries, outcomes


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries: every field narrows; empty ``statuses`` means any status."""

    statuses: tuple[str, ...] = ()
    backend: str | None = None
    kind: str | None = None
    source_system: str | None = None
    outcome_id: str | None = None  # the gateway's outcome id or the source system's own
    older_than_seconds: float | None = None
    error_contains: str | None = None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def conditions(f: DeliveryFilter, now: datetime, *, with_statuses: bool = True) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [deliveries.c.status != "unchanged"]  # pointers, not queue entries
    if with_statuses and f.statuses:
        where.append(deliveries.c.status.in_(f.statuses))
    if f.backend is not None:
        where.append(deliveries.c.backend == f.backend)
    if f.kind is not None:
        where.append(deliveries.c.kind == f.kind)
    if f.source_system is not None:
        where.append(outcomes.c.source_system == f.source_system)
    if f.outcome_id is not None:
        where.append(or_(deliveries.c.outcome_id == f.outcome_id, outcomes.c.source_outcome_id == f.outcome_id))
    if f.older_than_seconds is not None:
        where.append(deliveries.c.created_at < now - timedelta(seconds=f.older_than_seconds))
    if f.error_contains:
        where.append(deliveries.c.last_error.like(_like(f.error_contains), escape="\\"))
    return where


def joined(query: Select[Any]) -> Select[Any]:
    """``query`` over deliveries with their outcomes (for the source system), as the filters need."""
    return query.select_from(deliveries.outerjoin(outcomes, outcomes.c.id == deliveries.c.outcome_id))
