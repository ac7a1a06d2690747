"""Marking a deadline met: the one module that writes to the ``deadlines`` table after intake.

Idempotent: a deadline already marked keeps its first mark (who and when), and so does one whose
rule was marked for the same hand-over in an earlier revision of the outcome. A deadline that is
not open for another reason (a correction replaced it, the outcome or its hand-over's delivery
was cancelled) is refused: there is nothing left to deal with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.handovers.classify import NotOpen
from gateway.handovers.queries import standing
from gateway.store.schema import deadlines

MAX_ACTOR = 128


@dataclass(frozen=True, slots=True)
class Marked:
    outcome: Literal["marked", "already_met"]
    id: int
    outcome_id: str
    rule_id: str
    met_at: datetime
    met_by: str | None


@dataclass(frozen=True, slots=True)
class Refused:
    reason: NotOpen


def actor_of(client_name: str, who: str) -> str:
    """Who marked it, as the column keeps it: the client and its token's (or person's) name."""
    return f"{client_name}: {who}"[:MAX_ACTOR]


async def mark_met(
    conn: AsyncConnection, deadline_id: int, *, by: str, now: datetime, systems: frozenset[str] | None
) -> Marked | Refused | None:
    """Mark one deadline met in the caller's transaction; None if the caller may not see it."""
    found = await standing(conn, deadline_id, systems=systems)
    if found is None:
        return None
    if found.met_at is not None:
        return Marked("already_met", found.id, found.outcome_id, found.rule_id, found.met_at, found.met_by)
    if found.not_open is not None:
        return Refused(found.not_open)
    # Only an unmarked row is written: of two marks at once, the first one's who and when stay.
    written = await conn.execute(
        update(deadlines)
        .where(deadlines.c.id == deadline_id, deadlines.c.met_at.is_(None))
        .values(met_at=now, met_by=by[:MAX_ACTOR])
    )
    if written.rowcount == 0:
        again = await standing(conn, deadline_id, systems=systems)
        assert again is not None and again.met_at is not None
        return Marked("already_met", again.id, again.outcome_id, again.rule_id, again.met_at, again.met_by)
    return Marked("marked", found.id, found.outcome_id, found.rule_id, now, by[:MAX_ACTOR])
