"""Queue depth over the last hours, reconstructed from the deliveries table itself.

Nothing stores depth samples, and the console does not start one: sampling into the memory of one
API process would show each process its own gaps, lose everything on a restart, and need a task
running whether anyone looks or not. The table already knows when each delivery entered the queue
(``created_at``) and when it left it (``delivered_at``, else the ``updated_at`` of its final move),
so the depth at a past moment is the number of deliveries created by then and not yet gone. This
is exact for deliveries that moved once and an approximation for replayed ones (a replay brings a
delivery back, but only its latest departure is known) and after retention has purged rows; the
page says so. One query, one sum per point, whatever the number of points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.outbox.states import TERMINAL, Status
from gateway.store.schema import deliveries

# Delivered and cancelled deliveries have left the queue; an unchanged one never entered it.
_GONE = tuple(status.value for status in (*TERMINAL, Status.UNCHANGED))


@dataclass(frozen=True, slots=True)
class DepthSeries:
    backend: str
    moments: tuple[datetime, ...]
    depths: tuple[int, ...]


def moments(now: datetime, *, hours: int, points: int) -> tuple[datetime, ...]:
    step = timedelta(hours=hours) / (points - 1)
    return tuple(now - step * (points - 1 - i) for i in range(points))


async def depth_history(
    conn: AsyncConnection, *, now: datetime, hours: int = 6, points: int = 25
) -> dict[str, DepthSeries]:
    """Per back-end, how many deliveries were waiting (not delivered, not cancelled) at each of ``points`` moments."""
    at = moments(now, hours=hours, points=points)
    left_at = func.coalesce(deliveries.c.delivered_at, deliveries.c.updated_at)
    gone = deliveries.c.status.in_(_GONE)
    sums = [
        func.sum(case((and_(deliveries.c.created_at <= t, or_(~gone, left_at > t)), 1), else_=0)).label(f"p{i}")
        for i, t in enumerate(at)
    ]
    rows = await conn.execute(
        select(deliveries.c.backend, *sums)
        .where(deliveries.c.created_at <= now, or_(~gone, left_at > at[0]))
        .group_by(deliveries.c.backend)
    )
    return {
        row.backend: DepthSeries(row.backend, at, tuple(int(row[i + 1] or 0) for i in range(points))) for row in rows
    }
