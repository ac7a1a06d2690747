"""HTTP routes of the outcome API: ``POST /v1/outcomes``, ``GET /v1/outcomes/{id}``, lookup by source."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from gateway.bodies import openapi_body, parse_json, read_body
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.logs import get_logger
from gateway.openapi import AUTHENTICATED, JSON_BODY, json_response, problem_responses
from gateway.outcomes import service
from gateway.outcomes.intake import validate_outcome
from gateway.plan import Plan
from gateway.plan.rules import plan_outcome
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.personal import PersonalRecord, Reads, shown_to
from gateway.security.tokens import Principal
from gateway.state import GatewayState, State
from gateway.store.engine import reading
from gateway.store.retrying import retry_transient

router = APIRouter(prefix="/v1/outcomes", tags=["outcomes"])
log = get_logger("gateway.outcomes")

CanWrite = Annotated[Principal, Depends(require("outcomes:write"))]
CanRead = Annotated[Principal, Depends(require("outcomes:read"))]


@router.post(
    "",
    status_code=202,
    summary="Submit a guidance outcome",
    description="Validates the outcome, plans it by the register rules and stores it with its deliveries "
    "in one transaction. Idempotent on (source.system, source.outcome_id, source.revision): the same body "
    "again returns the first answer; a different body answers 409. `dry_run=true` returns the plan only.",
    openapi_extra=openapi_body("OutcomeV1"),
    responses={
        200: json_response("Dry run: the plan, nothing stored"),
        **problem_responses(
            *AUTHENTICATED,
            *JSON_BODY,
            409,
            described={
                409: "This revision was accepted with a different body, or a higher revision already was",
                422: "The outcome is not valid: every bad field is named, with the mapping set's version",
            },
        ),
    },
)
async def submit_outcome(
    request: Request,
    state: State,
    principal: CanWrite,
    dry_run: Annotated[bool, Query(description="Return the plan without storing anything.")] = False,
) -> JSONResponse:
    try:
        return await _submit(request, state, principal, dry_run=dry_run)
    except Problem as problem:
        # Every refused outcome counts, whatever refused it: the body, the contract, the owner, a conflict.
        state.metrics.outcomes_rejected.labels(str(problem.status)).inc()
        raise


async def _submit(request: Request, state: GatewayState, principal: Principal, *, dry_run: bool) -> JSONResponse:
    raw = await read_body(request, state.settings.max_body_bytes)
    mappings = state.mappings.current()
    outcome = validate_outcome(parse_json(raw), mappings, now=state.now(), clock_skew=state.settings.clock_skew)
    if not principal.speaks_for(outcome.source.system):
        raise Problem(
            403,
            "foreign-source-system",
            "Not your source system",
            f"Client {principal.client_name!r} does not speak for source system {outcome.source.system!r}; "
            "an administrator gives it with 'gateway clients add-system'.",
        )
    plan = plan_outcome(outcome, mappings)
    if dry_run:
        return JSONResponse({"dry_run": True, "plan": plan.describe()}, status_code=200)
    fingerprint = state.fingerprints.of(outcome.model_dump(mode="json"))
    outcome_id = str(uuid.uuid4())
    answer = await _store_once_chained(state, outcome, plan, fingerprint, outcome_id, principal.client_id)
    if isinstance(answer, JSONResponse):
        return answer
    response = answer
    state.metrics.outcomes_accepted.labels("statistics_only" if plan.statistics_only else "recorded").inc()
    log.info(
        "outcome accepted",
        outcome=outcome_id,
        source_system=outcome.source.system,
        actions=len(plan.actions),
        client=principal.name,
    )
    return JSONResponse(response, status_code=202, headers={"Location": f"/v1/outcomes/{outcome_id}"})


async def _store_once_chained(
    state: GatewayState, outcome: OutcomeV1, plan: Plan, fingerprint: str, outcome_id: str, client_id: str
) -> dict[str, Any] | JSONResponse:
    """Store the outcome as the next link of its revision chain, or answer from the chain as it stands.

    Returns the accepted answer, or a replay of an earlier identical post; raises a 409 for a
    conflicting one. A transient database error (a restart, a dropped connection) retries the whole
    transaction in process; should the failed try have committed after all, the retry finds that
    revision with this body and answers it as a replay. A unique constraint that fails means another
    post of this source outcome committed first: the transaction is made once more on the chain as
    it now stands.
    """

    async def once() -> dict[str, Any] | JSONResponse:
        try:
            return await _store(state, outcome, plan, fingerprint, outcome_id, client_id)
        except IntegrityError:
            replay = await _replay(state, outcome, fingerprint)
            if replay is not None:
                return replay
        return await _store(state, outcome, plan, fingerprint, outcome_id, client_id)

    return await retry_transient(once, operation="store outcome")


async def _store(
    state: GatewayState, outcome: OutcomeV1, plan: Plan, fingerprint: str, outcome_id: str, client_id: str
) -> dict[str, Any] | JSONResponse:
    async with state.engine.begin() as conn:
        await service.lock_source_outcome(conn, system=outcome.source.system, outcome_id=outcome.source.outcome_id)
        revisions = await service.revisions(conn, system=outcome.source.system, outcome_id=outcome.source.outcome_id)
        same = next((r for r in revisions if r.revision == outcome.source.revision), None)
        if same is not None:
            return _replayed(same, fingerprint, outcome)
        if revisions and revisions[-1].revision > outcome.source.revision:
            raise _conflict(outcome, f"revision {revisions[-1].revision} is already accepted")
        earlier = [r.id for r in revisions]
        steps = await service.plan_steps(conn, plan=plan, earlier_revisions=earlier, fingerprints=state.fingerprints)
        response = {
            "id": outcome_id,
            "status": "accepted",
            "source": outcome.source.model_dump(),
            "statistics_only": plan.statistics_only,
            "plan": plan.describe(),
            "changes": service.describe_steps(steps) if earlier else None,
            "supersedes": earlier[-1] if earlier else None,
            "links": {"self": f"/v1/outcomes/{outcome_id}"},
        }
        await service.store_accepted(
            conn,
            outcome_id=outcome_id,
            outcome=outcome,
            plan=plan,
            fingerprint=fingerprint,
            response=response,
            now=state.now(),
            enabled_backends=state.enabled_backends(),
            fingerprints=state.fingerprints,
            steps=steps,
            earlier_revisions=earlier,
            client_id=client_id,
            consent_wait=timedelta(hours=state.settings.worker.consent_wait_hours),
        )
    return response


async def _replay(state: GatewayState, outcome: OutcomeV1, fingerprint: str) -> JSONResponse | None:
    async with reading(state.engine) as conn:
        existing = await service.find_revision(
            conn, system=outcome.source.system, outcome_id=outcome.source.outcome_id, revision=outcome.source.revision
        )
    return None if existing is None else _replayed(existing, fingerprint, outcome)


def _replayed(existing: Any, fingerprint: str, outcome: OutcomeV1) -> JSONResponse:
    """The first answer again for the same body; 409 for a different one."""
    if existing.fingerprint != fingerprint:
        raise _conflict(outcome, "this revision was accepted earlier with a different body")
    return JSONResponse(
        existing.response,
        status_code=202,
        headers={"Location": f"/v1/outcomes/{existing.id}", "Idempotent-Replayed": "true"},
    )


def _conflict(outcome: OutcomeV1, why: str) -> Problem:
    return Problem(
        409,
        "outcome-conflict",
        "Conflicting outcome",
        f"Outcome {outcome.source.outcome_id!r} of {outcome.source.system!r} revision {outcome.source.revision}: "
        f"{why}. Post a correction with a higher revision.",
    )


@router.get(
    "/{outcome_id}",
    summary="Status of an outcome: plan, deliveries, attempts, references",
    description="Another client's outcome answers 404 unless the caller holds `records:read-all`. "
    "Back-end messages are withheld without `personal:read`; with it, the read is logged (käyttöloki).",
    responses=problem_responses(*AUTHENTICATED, 404),
)
async def get_outcome(outcome_id: str, reads: Reads, state: State, principal: CanRead) -> dict[str, Any]:
    async with reading(state.engine) as conn:
        found = await service.outcome_status(conn, outcome_id=outcome_id)
        visible = found is not None and (principal.reads_all or principal.speaks_for(found["source"]["system"]))
        subjects = await service.subjects_of(conn, [outcome_id]) if visible else {}
    if found is None or not visible:
        raise Problem(404, "not-found", "Not found", f"No outcome {outcome_id}.")
    return await shown_to(state, reads, principal, found, [_record(found, subjects)])


@router.get(
    "",
    summary="Find outcomes by their source system id",
    description="Only the caller's own source systems are searched, unless it holds `records:read-all`.",
    responses=problem_responses(*AUTHENTICATED),
)
async def find_outcomes(
    reads: Reads,
    state: State,
    principal: CanRead,
    source_system: Annotated[str, Query(min_length=1)],
    source_outcome_id: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    if not (principal.reads_all or principal.speaks_for(source_system)):
        return {"items": []}
    async with reading(state.engine) as conn:
        items = await service.outcomes_by_source(conn, system=source_system, outcome_id=source_outcome_id)
        subjects = await service.subjects_of(conn, [i["id"] for i in items])
    shown = await shown_to(state, reads, principal, items, [_record(i, subjects) for i in items])
    return {"items": shown}


def _record(outcome: dict[str, Any], subjects: dict[str, str]) -> PersonalRecord:
    return PersonalRecord("outcome", outcome["id"], subjects.get(outcome["id"]))
