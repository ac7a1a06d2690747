"""HTTP routes of the operators' product: the delivery queues, one delivery whole, actions, back-ends.

Operators run the queues for every client, so these routes read and act across clients; the
scopes ``ops:read`` and ``ops:write`` are what set an operator apart. A delivery's payload is
personal data: shown masked without ``personal:read``, and every unmasked view is logged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from gateway.bodies import openapi_body, parse
from gateway.logs import get_logger
from gateway.masking import WITHHELD
from gateway.openapi import AUTHENTICATED, JSON_BODY, json_response, problem_responses
from gateway.ops import queries
from gateway.ops.models import MAX_AGE_SECONDS, MAX_PAGE, ActionOut, BackendName, OpsActionIn, Refusal
from gateway.outbox import operations
from gateway.outbox.states import Status
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.personal import PersonalRecord, ReadContext, Reads, masked_for, shown_to
from gateway.security.tokens import Principal
from gateway.state import State
from gateway.store.engine import reading

router = APIRouter(prefix="/v1/ops", tags=["ops"])
log = get_logger("gateway.ops")

CanRead = Annotated[Principal, Depends(require("ops:read"))]
CanWrite = Annotated[Principal, Depends(require("ops:write"))]
CROSS_CLIENT = "Operators read and act across every client's deliveries (the queues are shared)."
ACTIONS = {"replay": operations.replay, "release": operations.release, "cancel": operations.cancel}


def _invalid(field: str, code: str, message: str) -> Problem:
    return Problem(
        422, "invalid-request", "The request is not valid", errors=[{"field": field, "code": code, "message": message}]
    )


@router.get(
    "/deliveries",
    summary="List deliveries by status, back-end, kind, source, age or error",
    responses={
        200: json_response("A page of deliveries (no payloads) and counts by status"),
        **problem_responses(*AUTHENTICATED),
    },
    description="Oldest first, paged by `next_cursor`; `total` counts the filter's matches and `counts` "
    "gives them by status, ignoring `status`. " + CROSS_CLIENT,
)
async def list_deliveries(
    state: State,
    principal: CanRead,
    status: Annotated[list[Status] | None, Query(description="Repeat for several statuses.")] = None,
    backend: BackendName | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    source_system: Annotated[str | None, Query(max_length=64)] = None,
    outcome_id: Annotated[str | None, Query(max_length=128, description="Gateway or source outcome id.")] = None,
    older_than_seconds: Annotated[float | None, Query(gt=0, le=MAX_AGE_SECONDS)] = None,
    error: Annotated[str | None, Query(max_length=200, description="Text the last error contains.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    selection = queries.DeliveryFilter(
        statuses=tuple(s.value for s in status or ()),
        backend=backend,
        kind=kind,
        source_system=source_system,
        outcome_id=outcome_id,
        older_than_seconds=older_than_seconds,
        error_contains=error,
    )
    try:
        async with reading(state.engine) as conn:
            page = await queries.list_deliveries(conn, selection, cursor=cursor, limit=limit, now=state.now())
    except queries.BadCursor:
        raise _invalid("query.cursor", "invalid_cursor", "not a next_cursor this API gave") from None
    answer = {"items": page.items, "next_cursor": page.next_cursor, "total": page.total, "counts": page.counts}
    # Error texts are stored redacted; without personal:read they are withheld all the same.
    return masked_for(principal, answer)


@router.get(
    "/deliveries/{delivery_id}",
    summary="One delivery whole: attempts, references, reason, source and payload",
    responses={200: json_response("The delivery"), **problem_responses(*AUTHENTICATED, 404)},
    description="The payload and free texts are masked without `personal:read`; with it, the read is "
    "written to the access log. " + CROSS_CLIENT,
)
async def delivery_detail(
    state: State, principal: CanRead, reads: Reads, delivery_id: Annotated[str, Path(max_length=36)]
) -> Any:
    async with reading(state.engine) as conn:
        found = await queries.delivery_detail(conn, delivery_id)
    if found is None:
        raise Problem(404, "not-found", "No such delivery", f"There is no delivery {delivery_id}.")
    subject_key = found.pop("client_key")
    if not principal.sees_personal and found["payload"] is not None:
        found["payload"] = WITHHELD  # a payload's free texts have no shape a mask could find
    return await shown_to(state, reads, principal, found, [PersonalRecord("delivery", delivery_id, subject_key)])


def _operator(principal: Principal, reads: ReadContext) -> operations.Operator:
    return operations.Operator(principal.client_id, principal.client_name, principal.name, principal.user or reads.user)


@router.post(
    "/deliveries/{action}",
    summary="Replay, release or cancel deliveries (by ids or by filter), or see what would move",
    response_model=ActionOut,
    openapi_extra=openapi_body("OpsActionIn"),
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY),
    description="`replay`: send again (delivered, held, failed, cancelled); `release`: retry a held or "
    "failed delivery with a fresh retry budget; `cancel`: stop one not yet delivered. `dry_run` lists "
    "what would move and why the rest would not; otherwise `reason` is required and the action is "
    "written to the action log. A purged payload or a newer version of the record refuses a replay. " + CROSS_CLIENT,
)
async def act(
    request: Request,
    state: State,
    principal: CanWrite,
    reads: Reads,
    action: Annotated[Literal["replay", "release", "cancel"], Path()],
) -> Any:
    body = await parse(request, OpsActionIn, limit=state.settings.max_body_bytes)
    selection: queries.DeliveryFilter | list[str]
    selection = body.filter.to_filter() if body.filter is not None else body.ids or []
    async with state.engine.begin() as conn:
        result = await ACTIONS[action](
            conn,
            selection=selection,
            operator=_operator(principal, reads),
            reason=body.reason or "",
            now=state.now(),
            dry_run=body.dry_run,
        )
    log.info(
        "operator action",
        action=action,
        dry_run=body.dry_run,
        matched=len(result.matched),
        moved=len(result.moved),
        refused=len(result.refused),
        client=principal.name,
    )
    return ActionOut(
        action=action,
        dry_run=result.dry_run,
        matched=result.matched,
        moved=result.moved,
        refused=[Refusal(id=i, reason=why) for i, why in result.refused],
    )


@router.get(
    "/actions",
    summary="The operator action log, newest first",
    responses={200: json_response("A page of actions"), **problem_responses(*AUTHENTICATED)},
    description="Who replayed, released or cancelled what, when and why. " + CROSS_CLIENT,
)
async def list_actions(
    state: State,
    principal: CanRead,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    try:
        async with reading(state.engine) as conn:
            page = await queries.list_operator_actions(conn, cursor=cursor, limit=limit)
    except queries.BadCursor:
        raise _invalid("query.cursor", "invalid_cursor", "not a next_cursor this API gave") from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/backends",
    summary="Each back-end's circuit, queue depth, backlog age, error rate and latency",
    responses={200: json_response("One entry per back-end"), **problem_responses(*AUTHENTICATED)},
    description="Error rate and latency (p50, p95) over the last 15 minutes of attempts. " + CROSS_CLIENT,
)
async def backends(state: State, principal: CanRead) -> Any:
    async with reading(state.engine) as conn:
        return {"backends": await queries.backend_health(conn, now=state.now())}
