"""Booking service functions (keyword-only; the caller owns the transaction).

Every booking is a delivery in the outbox (kind ``kela_booking``, request id = the booking id),
so the synchronous path and the queued path are one mechanism: the API makes the first attempt
while the caller waits, and whatever it does not finish, the worker finishes. Kela recognises
the request id, so however the attempts interleave, the client gets one appointment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.bookings.models import BookingIn
from gateway.consents.service import bind
from gateway.fingerprints import Fingerprinter
from gateway.outbox.states import NEEDS_OPERATOR, Event, Status
from gateway.outbox.transitions import add_held_for_consent, stop_unsent
from gateway.plan.bookings import booking_action, kela_booking_consent
from gateway.plan.consent_validity import ConsentView
from gateway.plan.payloads import kela_booking_payload
from gateway.redaction import personal_values
from gateway.store.schema import attempts, bookings, deliveries


def payload(body: BookingIn) -> dict[str, Any]:
    """The ``kela_booking`` payload, in the shape the planner gives an outcome's booking request."""
    client = body.client
    return kela_booking_payload(
        client={
            "hetu": client.hetu,
            "given_names": client.given_names,
            "family_name": client.family_name,
            "phone": client.phone,
            "municipality": body.municipality,
        },
        unit=body.booked_by.unit,
        worker_id=body.booked_by.worker_id,
        request={
            "kind": "kela_booking_request",
            "topic": body.topic,
            "language": body.language,
            "interpreter_language": body.interpreter_language,
            "municipality": body.municipality,
            "window": body.window.model_dump(mode="json"),
            "notification": body.notification.value,
            "email": client.email,
            "slot_id": body.slot_id,
        },
    )


async def create(
    conn: AsyncConnection,
    *,
    booking_id: str,
    body: BookingIn,
    consent: ConsentView,
    client_key: str,
    now: datetime,
    fingerprints: Fingerprinter,
    idempotency_key: str | None,
    fingerprint: str,
    client_id: str | None = None,
) -> None:
    """The booking and its delivery, authorised by ``consent`` (a verbal one is used up by it).

    ``client_id`` is the API client that booked: the one that may read and cancel it.
    """
    data = payload(body)
    action = booking_action(data)
    need = kela_booking_consent()
    await conn.execute(
        insert(bookings).values(
            id=booking_id,
            status="open",
            client_key=client_key,
            consent_id=consent.id,
            delivery_id=booking_id,
            request=None,
            result=None,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            created_at=now,
            updated_at=now,
            client_id=client_id,
        )
    )
    await add_held_for_consent(
        conn,
        row={
            "id": booking_id,
            "outcome_id": None,
            "origin_consent_id": None,
            "client_key": client_key,
            "action_key": action.key,
            "backend": action.backend,
            "kind": action.kind,
            "rule": action.rule,
            "legal_basis": action.legal_basis,
            "payload": data,
            "payload_digest": fingerprints.of(data),
            "document_version": 1,
            "supersedes": None,
            "consent_party": need.party,
            "consent_categories": list(need.categories),
            "consent_id": None,
            "status_reason": None,
        },
        now=now,
    )
    await bind(conn, delivery_id=booking_id, backend="kela", consent=consent, now=now, enabled_backends={"kela"})


async def settle(conn: AsyncConnection, *, booking_id: str, status: str, reason: str, now: datetime) -> None:
    """Close a booking that Kela could not make (no free slot, the chosen slot gone): told to the caller."""
    await conn.execute(update(bookings).where(bookings.c.id == booking_id).values(status=status, updated_at=now))
    await stop_unsent(
        conn,
        Event.CANCEL,
        where=(deliveries.c.id == booking_id) & deliveries.c.status.in_(NEEDS_OPERATOR),
        now=now,
        reason=f"{reason}; reported to the caller",
    )


async def mark_booking_cancelled(
    conn: AsyncConnection, *, booking_id: str, now: datetime, kela_cancelled_at: str | None
) -> None:
    """Kela cancelled the appointment it had booked."""
    await conn.execute(
        update(bookings)
        .where(bookings.c.id == booking_id)
        .values(status="cancelled", result={"kela_cancelled_at": kela_cancelled_at}, updated_at=now)
    )


async def cancel_unsent(conn: AsyncConnection, *, booking_id: str, now: datetime) -> bool:
    """Stop a booking that has not reached Kela; False if a worker is asking Kela right now.

    The caller's reason is free text about the client: it is not kept in the delivery's state.
    """
    stopped = await stop_unsent(
        conn,
        Event.CANCEL,
        where=deliveries.c.id == booking_id,
        now=now,
        reason="the booking was cancelled before it reached Kela",
    )
    if not stopped:
        return False
    await conn.execute(update(bookings).where(bookings.c.id == booking_id).values(status="cancelled", updated_at=now))
    return True


async def find_by_key(conn: AsyncConnection, *, key: str) -> Any:
    return (await conn.execute(select(bookings).where(bookings.c.idempotency_key == key))).first()


async def get(conn: AsyncConnection, *, booking_id: str, owner: str | None = None) -> dict[str, Any] | None:
    """The booking as the API shows it; with ``owner``, only if that API client made it."""
    query = select(bookings).where(bookings.c.id == booking_id)
    if owner is not None:
        query = query.where(bookings.c.client_id == owner)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    delivery = (await conn.execute(select(deliveries).where(deliveries.c.id == booking_id))).first()
    history = (
        await conn.execute(
            select(attempts.c.number, attempts.c.result, attempts.c.backend_status, attempts.c.message)
            .where(attempts.c.delivery_id == booking_id)
            .order_by(attempts.c.id)
        )
    ).all()
    return describe(row, delivery, [dict(h._mapping) for h in history])


async def personal_of(conn: AsyncConnection, booking_id: str) -> frozenset[str]:
    """The booked client's personal values, to redact what Kela says about them (none once purged)."""
    payload = (await conn.execute(select(deliveries.c.payload).where(deliveries.c.id == booking_id))).scalar()
    return personal_values(payload) if payload else frozenset()


async def subject_of(conn: AsyncConnection, booking_id: str) -> str | None:
    """The booked client's key (hetu HMAC), for the access log."""
    return (await conn.execute(select(bookings.c.client_key).where(bookings.c.id == booking_id))).scalar()


def state_of(row: Any, delivery: Any) -> str:
    if row.status in ("cancelled", "no_free_slot", "slot_taken"):
        return str(row.status)
    status = delivery.status if delivery is not None else Status.PENDING
    return {
        Status.DELIVERED: "booked",
        Status.HELD_FOR_CONSENT: "waiting_for_consent",
        Status.FAILED: "failed",
        Status.HELD: "failed",
        Status.CANCELLED: "cancelled",
    }.get(status, "queued")


def describe(row: Any, delivery: Any, history: list[dict[str, Any]]) -> dict[str, Any]:
    refs = (delivery.backend_refs if delivery is not None else None) or {}
    request = ((delivery.payload or {}).get("request") or {}) if delivery is not None else {}
    slot = (
        {"id": refs.get("slot_id"), "start": refs.get("slot_start"), "end": refs.get("slot_end")}
        if refs.get("slot_id")
        else None
    )
    return {
        "id": row.id,
        "status": state_of(row, delivery),
        "topic": refs.get("topic") or request.get("topic"),
        "window": request.get("window"),
        "slot": slot,
        "kela_booking_id": refs.get("booking_id"),
        "consent_id": row.consent_id,
        "attempts": delivery.attempts if delivery is not None else 0,
        "last_error": delivery.last_error if delivery is not None else row.last_error,
        "attempt_history": history,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "links": {"self": f"/v1/bookings/{row.id}"},
    }
