"""The invariant between a delivery's attempt count and its attempt history, as one query.

Every claim counts an attempt, and every attempt that ends leaves one row in ``attempts`` in the
transaction that ends it; a worker that reports after losing its claim adds a ``late`` row that
counts nothing; a hold for consent gives back the attempt its claim counted. So, for every
delivery::

    attempts = (rows with result <> 'late') + (1 if it is in flight else 0)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_MISMATCHES = text(
    """
    SELECT d.id, d.status, d.attempts, COUNT(a.id) AS recorded
    FROM deliveries AS d
    LEFT JOIN attempts AS a ON a.delivery_id = d.id AND a.result <> 'late'
    GROUP BY d.id, d.status, d.attempts
    HAVING d.attempts <> COUNT(a.id) + CASE WHEN d.status = 'in_flight' THEN 1 ELSE 0 END
    """
)


@dataclass(frozen=True)
class Mismatch:
    delivery_id: str
    status: str
    attempts: int
    recorded: int


async def history_mismatches(conn: AsyncConnection) -> list[Mismatch]:
    """Deliveries whose attempt count disagrees with their history (empty when the invariant holds)."""
    return [Mismatch(r.id, r.status, r.attempts, r.recorded) for r in await conn.execute(_MISMATCHES)]
