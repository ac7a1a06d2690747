"""HTTP routes of the deadlines view: ``GET /v1/deadlines`` and ``POST /v1/deadlines/{id}/met``.

Supervisors follow open hand-overs against their statutory due dates. Like the other read APIs,
another client's outcomes are left out unless the token holds ``records:read-all``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from gateway.handovers import marks, queries
from gateway.handovers.classify import NOT_OPEN_REASONS, DeadlineState, finnish_today, state_of
from gateway.handovers.models import MAX_PAGE, DeadlineList, DeadlineOut, MetOut
from gateway.logs import get_logger
from gateway.openapi import AUTHENTICATED, problem_responses
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.tokens import Principal
from gateway.state import State
from gateway.store.engine import reading

router = APIRouter(prefix="/v1/deadlines", tags=["deadlines"])
log = get_logger("gateway.deadlines")

CanRead = Annotated[Principal, Depends(require("deadlines:read"))]
CanWrite = Annotated[Principal, Depends(require("deadlines:write"))]
OWNERS = "Only the caller's own source systems' outcomes count, unless the token holds `records:read-all`."
MAX_DEADLINE_ID = 2**63 - 1


def visible_systems(principal: Principal) -> frozenset[str] | None:
    """Whose deadlines a caller sees: its own source systems', or everyone's (None)."""
    return None if principal.reads_all else principal.systems


def _invalid(field: str, code: str, message: str) -> Problem:
    return Problem(
        422, "invalid-request", "The request is not valid", errors=[{"field": field, "code": code, "message": message}]
    )


@router.get(
    "",
    summary="Open hand-overs and their statutory deadlines, by unit and rule",
    response_model=DeadlineList,
    responses=problem_responses(*AUTHENTICATED),
    description="Open: not marked met, of the outcome's current revision, the outcome not withdrawn and the "
    "hand-over's delivery not cancelled. Soonest due first, paged by `next_cursor`. States are measured "
    "against today in Finnish time. `counts`, `by_unit`, `by_family` and `by_unit_and_family` count the "
    "filter's matches by state, ignoring `state`. No personal data. " + OWNERS,
)
async def list_deadlines(
    state: State,
    principal: CanRead,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    family: Annotated[
        str | None, Query(max_length=64, description="`shl-36`, `lsl-26`, `thl-51`, `service-promise`, or a rule id.")
    ] = None,
    deadline_state: Annotated[DeadlineState | None, Query(alias="state")] = None,
    due_from: date | None = None,
    due_to: date | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> DeadlineList:
    today = finnish_today(state.now())
    selection = queries.DeadlineFilter(unit=unit, family=family, state=deadline_state, due_from=due_from, due_to=due_to)
    try:
        async with reading(state.engine) as conn:
            page = await queries.open_deadlines(
                conn, selection, today=today, systems=visible_systems(principal), cursor=cursor, limit=limit
            )
    except queries.BadCursor:
        raise _invalid("query.cursor", "invalid_cursor", "not a next_cursor this API gave") from None
    return DeadlineList.tallied(
        page.tally,
        today=today,
        items=[DeadlineOut(**item, state=state_of(item["due"], today)) for item in page.items],
        next_cursor=page.next_cursor,
        total=page.total,
    )


@router.post(
    "/{deadline_id}/met",
    summary="Mark a deadline met: the hand-over was dealt with",
    response_model=MetOut,
    responses=problem_responses(
        *AUTHENTICATED,
        404,
        409,
        described={
            404: "No such deadline among the caller's outcomes",
            409: "The deadline is not open: a correction replaced it, or the outcome or its hand-over was cancelled",
        },
    ),
    description="Records who and when. Idempotent: marking a met deadline again answers its first mark. " + OWNERS,
)
async def mark_met(
    state: State, principal: CanWrite, deadline_id: Annotated[int, Path(ge=1, le=MAX_DEADLINE_ID)]
) -> MetOut:
    async with state.engine.begin() as conn:
        result = await marks.mark_met(
            conn,
            deadline_id,
            by=marks.actor_of(principal.client_name, principal.user or principal.name),
            now=state.now(),
            systems=visible_systems(principal),
        )
    if result is None:
        raise Problem(404, "not-found", "Not found", f"No deadline {deadline_id}.")
    if isinstance(result, marks.Refused):
        raise Problem(
            409,
            "deadline-not-open",
            "Deadline not open",
            f"Deadline {deadline_id} cannot be marked met: {NOT_OPEN_REASONS[result.reason]}.",
            reason=result.reason,
        )
    log.info("deadline marked met", deadline=deadline_id, result=result.outcome, client=principal.name)
    return MetOut(
        id=result.id,
        outcome_id=result.outcome_id,
        rule_id=result.rule_id,
        result=result.outcome,
        met_at=result.met_at,
        met_by=result.met_by,
    )
