"""HTTP routes of the Kela booking API: topics, find slots, book, read, cancel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from adapters.kela.adapter import KelaAdapter
from adapters.kela.render import SlotQuery
from gateway import idempotency
from gateway.bodies import openapi_body, parse
from gateway.bookings import service
from gateway.bookings.models import BookingIn, CancelIn, SlotSearch, window_problems
from gateway.consents.service import client_key, today, usable_consent
from gateway.errors import DeliveryError, TransientDeliveryError
from gateway.logs import get_logger
from gateway.openapi import AUTHENTICATED, JSON_BODY, json_response, problem_responses
from gateway.plan.bookings import kela_booking_consent
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.personal import PersonalRecord, Reads, masked_for, shown_to
from gateway.security.tokens import Principal
from gateway.state import GatewayState, State
from gateway.store.engine import reading

router = APIRouter(tags=["bookings"])
log = get_logger("gateway.bookings")

CanBook = Annotated[Principal, Depends(require("bookings:write"))]
CanRead = Annotated[Principal, Depends(require("bookings:read"))]


def _kela(state: GatewayState) -> KelaAdapter:
    adapter = state.direct("kela").adapters["kela"]
    assert isinstance(adapter, KelaAdapter)
    return adapter


def _check(state: GatewayState, *, unit: str, unit_field: str, topic: str, earliest: date, latest: date) -> None:
    mappings = state.mappings.current()
    errors = window_problems(earliest, latest, today(state.now()), "window")
    if unit not in mappings.units:
        errors.append(
            {
                "field": unit_field,
                "code": "unknown_code",
                "message": f"unknown guidance unit code {unit!r} in mapping set {mappings.version}",
            }
        )
    if topic not in mappings.kela.topics:
        errors.append(
            {
                "field": "topic",
                "code": "unknown_topic",
                "message": f"unknown Kela topic {topic!r}; see GET /v1/kela/topics",
            }
        )
    if errors:
        raise Problem(422, "invalid-request", "The request is not valid", errors=errors)


def _kela_problem(error: DeliveryError) -> Problem:
    if isinstance(error, TransientDeliveryError):
        headers = {"Retry-After": str(int(error.retry_after))} if error.retry_after else {}
        return Problem(503, "kela-unavailable", "Kela is not answering", error.message, headers=headers)
    return Problem(422, "kela-rejected", "Kela refused the request", error.message)


KELA_UNAVAILABLE = {503: "Kela is not answering, or the database is unavailable; Retry-After when known"}


@router.get(
    "/v1/kela/topics", summary="Kela phone-service topics (modelled codes)", responses=problem_responses(*AUTHENTICATED)
)
async def topics(_: CanRead, state: State) -> dict[str, Any]:
    kela = state.mappings.current().kela
    return {
        "modelled": kela.topics_modelled,
        "topics": [{"code": code, "fi": t.fi, "en": t.en} for code, t in kela.topics.items()],
    }


@router.post(
    "/v1/kela/slots/search",
    summary="Free Kela phone-appointment slots",
    openapi_extra=openapi_body("SlotSearch"),
    responses=problem_responses(*AUTHENTICATED, *JSON_BODY, described=KELA_UNAVAILABLE),
)
async def search_slots(request: Request, state: State, _: CanRead) -> dict[str, Any]:
    body = await parse(request, SlotSearch, limit=state.settings.max_body_bytes)
    _check(
        state,
        unit=body.searched_by.unit,
        unit_field="searched_by.unit",
        topic=body.topic,
        earliest=body.window.earliest,
        latest=body.window.latest,
    )
    query = SlotQuery(
        topic=body.topic,
        language=body.language,
        earliest=body.window.earliest,
        latest=body.window.latest,
        municipality=body.municipality,
        interpreter_language=body.interpreter_language,
    )
    try:
        slots = await _kela(state).client.find_slots(query, worker_id=body.searched_by.worker_id)
    except DeliveryError as error:
        raise _kela_problem(error) from None
    return {
        "items": [
            {
                "slot_id": s.slot_id,
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "topic": s.topic,
                "language": s.language,
                "municipality": s.municipality,
                "interpreter_available": s.interpreter_available,
            }
            for s in slots
        ]
    }


@router.post(
    "/v1/bookings",
    status_code=201,
    summary="Book a Kela phone appointment for a client",
    openapi_extra=openapi_body("BookingV1"),
    responses={
        200: json_response("The same Idempotency-Key and body again: the booking as it is now"),
        202: json_response("Kela did not answer in time: queued, completed by the worker"),
        **problem_responses(
            *AUTHENTICATED,
            *JSON_BODY,
            409,
            described={
                409: "No valid consent, no free slot, the chosen slot was taken, or the Idempotency-Key was "
                "used with a different booking",
                422: "The request is not valid, or Kela refused the booking",
                503: "The database or the Kela adapter is unavailable",
            },
        ),
    },
    description="Needs a valid consent naming Kela. Answers 201 when Kela booked in time, 202 when the "
    "booking was queued (GET the booking for its result). Send an `Idempotency-Key` header to make "
    "retries safe; Kela itself recognises the booking's request id.",
)
async def book(
    request: Request,
    state: State,
    principal: CanBook,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> JSONResponse:
    body = await parse(request, BookingIn, limit=state.settings.max_body_bytes)
    _check(
        state,
        unit=body.booked_by.unit,
        unit_field="booked_by.unit",
        topic=body.topic,
        earliest=body.window.earliest,
        latest=body.window.latest,
    )
    worker = state.direct("kela")
    fingerprint = state.fingerprints.of(body.model_dump(mode="json"))
    key = idempotency.scoped_key(principal.client_id, idempotency_key)
    if key is not None and (replay := await _replay(state, key, fingerprint, principal)) is not None:
        return replay
    now = state.now()
    booking_id = str(uuid.uuid4())
    client = client_key(state.fingerprints, body.client.hetu)
    need = kela_booking_consent()
    async with state.engine.begin() as conn:
        consent, reasons = await usable_consent(
            conn,
            client=client,
            party=need.party,
            categories=list(need.categories),
            now=now,
            consent_id=body.consent_id,
        )
        if consent is None:
            raise Problem(
                409,
                "consent-required",
                "Consent required",
                "Booking with Kela on the client's behalf needs a valid consent naming Kela "
                "(Kela Y100, electronic, or a verbal consent for this one booking).",
                consent_required={"party": need.party, "categories": list(need.categories)},
                reasons=reasons,
            )
        await service.create(
            conn,
            booking_id=booking_id,
            body=body,
            consent=consent,
            client_key=client,
            now=now,
            fingerprints=state.fingerprints,
            idempotency_key=key,
            fingerprint=fingerprint,
            client_id=principal.client_id,
        )
    claimed = await worker.claim_delivery("kela", booking_id)
    if claimed is not None:
        try:
            await asyncio.wait_for(worker.process("kela", claimed), timeout=state.settings.booking_wait_seconds)
        except TimeoutError:
            await worker.release("kela", booking_id)
    return await _answer(state, booking_id, principal)


async def _answer(state: GatewayState, booking_id: str, principal: Principal) -> JSONResponse:
    async with reading(state.engine) as conn:
        found = await service.get(conn, booking_id=booking_id)
    assert found is not None
    found = masked_for(principal, found)
    location = {"Location": f"/v1/bookings/{booking_id}"}
    if found["status"] == "booked":
        log.info("booking made", booking=booking_id, client=principal.name)
        return JSONResponse(found, status_code=201, headers=location)
    if found["status"] == "failed":
        # The attempt that failed it: a late answer from a worker that lost its claim decided nothing.
        decided = [a for a in found["attempt_history"] if a["result"] != "late"]
        last = decided[-1] if decided else {}
        outcome = {
            "no-free-slot": ("no_free_slot", "no-free-slot", "No free slot"),
            "Client.SlotTaken": ("slot_taken", "slot-taken", "The chosen slot was taken"),
        }.get(str(last.get("backend_status")))
        if outcome is not None:
            status, slug, title = outcome
            async with state.engine.begin() as conn:
                await service.settle(conn, booking_id=booking_id, status=status, reason=title, now=state.now())
            raise Problem(409, slug, title, found["last_error"], booking_id=booking_id)
        raise Problem(422, "kela-rejected", "Kela refused the booking", found["last_error"], booking_id=booking_id)
    log.info("booking queued", booking=booking_id, client=principal.name)
    return JSONResponse(found, status_code=202, headers=location)


async def _replay(state: GatewayState, key: str, fingerprint: str, principal: Principal) -> JSONResponse | None:
    async with reading(state.engine) as conn:
        row = await service.find_by_key(conn, key=key)
        if row is None:
            return None
        idempotency.replay(row.fingerprint, fingerprint, noun="booking")
        found = await service.get(conn, booking_id=row.id)
    assert found is not None
    shown = masked_for(principal, found)
    return idempotency.replayed(shown, location=f"/v1/bookings/{row.id}", status_code=200)


@router.get(
    "/v1/bookings/{booking_id}",
    summary="A booking and its result",
    description="Another client's booking answers 404 unless the caller holds `records:read-all`. Kela's "
    "messages are withheld without `personal:read`; with it, the read is logged (käyttöloki).",
    responses=problem_responses(*AUTHENTICATED, 404),
)
async def get_booking(booking_id: str, reads: Reads, state: State, principal: CanRead) -> dict[str, Any]:
    async with reading(state.engine) as conn:
        found = await service.get(
            conn, booking_id=booking_id, owner=None if principal.reads_all else principal.client_id
        )
        subject = await service.subject_of(conn, booking_id) if found is not None else None
    if found is None:
        raise Problem(404, "not-found", "Not found", f"No booking {booking_id}.")
    return await shown_to(state, reads, principal, found, [PersonalRecord("booking", booking_id, subject)])


@router.post(
    "/v1/bookings/{booking_id}/cancel",
    summary="Cancel a booking",
    openapi_extra=openapi_body("CancelIn"),
    responses=problem_responses(
        *AUTHENTICATED,
        *JSON_BODY,
        404,
        409,
        described={409: "Kela is being asked right now, or nothing is left to cancel", **KELA_UNAVAILABLE},
    ),
)
async def cancel_booking(booking_id: str, request: Request, state: State, principal: CanBook) -> dict[str, Any]:
    body = await parse(request, CancelIn, limit=state.settings.max_body_bytes)
    async with reading(state.engine) as conn:
        found = await service.get(conn, booking_id=booking_id, owner=principal.client_id)
        personal = await service.personal_of(conn, booking_id)
    if found is None:
        raise Problem(404, "not-found", "Not found", f"No booking {booking_id}.")
    status = found["status"]
    if status == "cancelled":
        return masked_for(principal, found)
    now = state.now()
    if status == "booked":
        try:
            cancelled = await _kela(state).client.cancel_booking(
                found["kela_booking_id"], worker_id=body.cancelled_by.worker_id, reason=body.reason, personal=personal
            )
        except DeliveryError as error:
            raise _kela_problem(error) from None
        async with state.engine.begin() as conn:
            await service.mark_booking_cancelled(
                conn,
                booking_id=booking_id,
                now=now,
                kela_cancelled_at=(cancelled.cancelled_at.isoformat() if cancelled.cancelled_at else None),
            )
    elif status in ("queued", "waiting_for_consent"):
        async with state.engine.begin() as conn:
            stopped = await service.cancel_unsent(conn, booking_id=booking_id, now=now)
        if not stopped:
            raise Problem(
                409,
                "booking-in-progress",
                "Booking in progress",
                "Kela is being asked right now; cancel again once the booking is made.",
            )
    else:
        raise Problem(409, "nothing-to-cancel", "Nothing to cancel", f"The booking is {status}.")
    async with reading(state.engine) as conn:
        updated = await service.get(conn, booking_id=booking_id)
    assert updated is not None
    log.info("booking cancelled", booking=booking_id, client=principal.name)
    return masked_for(principal, updated)
