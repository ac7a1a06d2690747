"""HTTP routes of the consent registry: record, read, find by client, revoke."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway import idempotency
from gateway.bodies import openapi_body, parse
from gateway.consents import service
from gateway.consents.models import ClientQuery, ConsentIn, RevokeIn
from gateway.logs import get_logger
from gateway.openapi import AUTHENTICATED, JSON_BODY, problem_responses
from gateway.plan.consent_validity import consent_problems
from gateway.plan.consents import ConsentFacts
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.personal import PersonalRecord, Reads, masked_for, shown_to
from gateway.security.tokens import Principal
from gateway.state import GatewayState, State
from gateway.store.engine import reading
from gateway.store.schema import consents

router = APIRouter(prefix="/v1/consents", tags=["consents"])
log = get_logger("gateway.consents")

CanWrite = Annotated[Principal, Depends(require("consents:write"))]
CanRead = Annotated[Principal, Depends(require("consents:read"))]


def _unit_problems(state: GatewayState, unit: str, field: str) -> list[dict[str, str]]:
    mappings = state.mappings.current()
    if unit in mappings.units:
        return []
    return [
        {
            "field": field,
            "code": "unknown_code",
            "message": f"unknown guidance unit code {unit!r} in mapping set {mappings.version}",
        }
    ]


def _check_unit(state: GatewayState, unit: str, field: str) -> None:
    _reject(_unit_problems(state, unit, field))


def _reject(errors: list[dict[str, str]]) -> None:
    if errors:
        raise Problem(422, "invalid-request", "The request is not valid", errors=errors)


CONSENT_API_FIELDS = {
    "consenter": "consenter.hetu",
    "guardian": "guardian.hetu",
    "form_reference": "form_reference",
    "valid_until": "valid_until",
}


def _consent_problems(consent: ConsentIn, valid_from: date) -> list[dict[str, str]]:
    return [
        {"field": CONSENT_API_FIELDS[p.part], "code": p.code, "message": p.message}
        for p in consent_problems(
            form=consent.form.value,
            form_reference=consent.form_reference,
            consenter_hetu=consent.consenter.hetu,
            given_by_guardian=consent.guardian is not None,
            guardian_hetu=consent.guardian.hetu if consent.guardian else None,
            valid_from=valid_from,
            valid_until=consent.valid_until,
        )
    ]


@router.post(
    "",
    status_code=201,
    summary="Record a consent (Kela Y100, electronic or verbal)",
    openapi_extra=openapi_body("ConsentV1"),
    responses=problem_responses(
        *AUTHENTICATED, *JSON_BODY, 409, described={409: "This Idempotency-Key was used with a different consent"}
    ),
    description="Records the consent, queues its registration with Kela (durable consents naming Kela) "
    "and its FHIR Consent (consents covering health data), and releases deliveries held for it. "
    "Send an `Idempotency-Key` header to make retries safe.",
)
async def record_consent(
    request: Request,
    state: State,
    principal: CanWrite,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    consent = await parse(request, ConsentIn, limit=state.settings.max_body_bytes)
    now = state.now()
    valid_from = consent.valid_from or service.today(now)
    _reject(
        _unit_problems(state, consent.recorded_by.unit, "recorded_by.unit") + _consent_problems(consent, valid_from)
    )
    fingerprint = state.fingerprints.of(consent.model_dump(mode="json"))
    key = idempotency.scoped_key(principal.client_id, idempotency_key)
    if key is not None:
        replay = await _replay(state, key, fingerprint, principal)
        if replay is not None:
            return replay
    facts = ConsentFacts(
        consenter=consent.consenter.model_dump(),
        guardian=consent.guardian.model_dump() if consent.guardian else None,
        parties=tuple(p.value for p in consent.parties),
        purpose=consent.purpose,
        categories=tuple(c.value for c in consent.data_categories),
        valid_from=valid_from,
        valid_until=consent.valid_until,
        form=consent.form.value,
        form_reference=consent.form_reference,
        unit=consent.recorded_by.unit,
        worker_id=consent.recorded_by.worker_id,
        given_at=now.isoformat(),
    )
    try:
        async with state.engine.begin() as conn:
            consent_id = await service.record(
                conn,
                facts=facts,
                source=f"api:{principal.name}",
                now=now,
                fingerprints=state.fingerprints,
                enabled_backends=state.enabled_backends(),
                idempotency_key=key,
                fingerprint=fingerprint,
                client_id=principal.client_id,
            )
            found = await service.get(conn, consent_id=consent_id)
    except IntegrityError:
        replay = await _replay(state, key or "", fingerprint, principal)
        if replay is not None:
            return replay
        raise
    log.info("consent recorded", consent=consent_id, form=facts.form, client=principal.name)
    shown = masked_for(principal, found)
    return JSONResponse(shown, status_code=201, headers={"Location": f"/v1/consents/{consent_id}"})


async def _replay(state: GatewayState, key: str, fingerprint: str, principal: Principal) -> JSONResponse | None:
    async with reading(state.engine) as conn:
        row = (await conn.execute(select(consents).where(consents.c.idempotency_key == key))).first()
        if row is None:
            return None
        idempotency.replay(row.fingerprint, fingerprint, noun="consent")
        found = await service.get(conn, consent_id=row.id)
    assert found is not None
    shown = masked_for(principal, found)
    return idempotency.replayed(shown, location=f"/v1/consents/{row.id}", status_code=201)


@router.get(
    "/{consent_id}",
    summary="Read a consent and the deliveries it concerns or authorised",
    description="Another client's consent answers 404 unless the caller holds `records:read-all`. The "
    "consenter, guardian and free text are masked without `personal:read`; with it, the read is logged.",
    responses=problem_responses(*AUTHENTICATED, 404),
)
async def get_consent(consent_id: str, reads: Reads, state: State, principal: CanRead) -> dict[str, Any]:
    async with reading(state.engine) as conn:
        found = await service.get(conn, consent_id=consent_id, owner=principal.readable_owner)
        subject = await service.subject_of(conn, consent_id) if found is not None else None
    if found is None:
        raise Problem(404, "not-found", "Not found", f"No consent {consent_id}.")
    return await shown_to(state, reads, principal, found, [PersonalRecord("consent", consent_id, subject)])


@router.post(
    "/search",
    summary="List a client's consents (the hetu travels in the body, not the URL)",
    openapi_extra=openapi_body("ClientQuery"),
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY),
)
async def search_consents(request: Request, reads: Reads, state: State, principal: CanRead) -> dict[str, Any]:
    query = await parse(request, ClientQuery, limit=state.settings.max_body_bytes)
    subject = service.client_key(state.fingerprints, query.hetu)
    async with reading(state.engine) as conn:
        items = await service.find_by_client(conn, client=subject, owner=principal.readable_owner)
    records = [PersonalRecord("consent", item["id"], subject) for item in items]
    return {"items": await shown_to(state, reads, principal, items, records)}


@router.post(
    "/{consent_id}/revoke",
    summary="Revoke a consent",
    openapi_extra=openapi_body("RevokeIn"),
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY, 404),
    description="Deliveries it authorised that have not gone out are cancelled with a visible reason; "
    "where it was registered (Kela, the patient register) the revocation is delivered too.",
)
async def revoke_consent(consent_id: str, request: Request, state: State, principal: CanWrite) -> dict[str, Any]:
    body = await parse(request, RevokeIn, limit=state.settings.max_body_bytes)
    _check_unit(state, body.revoked_by.unit, "revoked_by.unit")
    async with state.engine.begin() as conn:
        row = await service.revoke(
            conn,
            consent_id=consent_id,
            reason=body.reason,
            revoked_by=body.revoked_by.model_dump(),
            now=state.now(),
            fingerprints=state.fingerprints,
            enabled_backends=state.enabled_backends(),
            owner=principal.client_id,
        )
        if row is None:
            raise Problem(404, "not-found", "Not found", f"No consent {consent_id}.")
        found = await service.get(conn, consent_id=consent_id)
    assert found is not None
    log.info("consent revoked", consent=consent_id, client=principal.name)
    return masked_for(principal, found)
