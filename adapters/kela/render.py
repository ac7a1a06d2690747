"""Pure mapping for the Kela service: delivery payloads → request objects → SOAP bodies; replies → results.

No I/O. The payloads are the ones ``gateway.plan.payloads.kela_booking`` and ``kela_consent`` build;
what they lack for Kela (a phone number for a phone appointment, a hetu) is a
:class:`gateway.errors.RenderError` here, before anything is sent. The request and result
dataclasses keep personal fields out of their ``repr`` so that they cannot slip into a log.

The service itself is modelled (see ``wsdl/kela-v1.wsdl``): Kela has no public booking interface.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.errors import RenderError

NAMESPACE = "urn:asiakasohjaus-gateway:kela:v1"
BINDING = f"{{{NAMESPACE}}}KelaAsiakasohjausBinding"
HELSINKI = ZoneInfo("Europe/Helsinki")

SPECIAL_CATEGORIES = frozenset({"health"})
"""Special categories of personal data (GDPR art. 9) among ours: Y100 must name them explicitly.
Social care data is confidential (salassa pidettävä) in Finland but not an art. 9 category."""

_REQUEST_IDS = uuid.UUID("5b0e8a53-3c0f-4d2b-9a39-6f1f2a5c4b10")  # namespace for non-UUID delivery ids
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


class MalformedReply(ValueError):
    """Kela's answer lacks something the service description promises."""


# -- requests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotQuery:
    """Free phone-appointment slots for a topic and language, in a window of Finnish dates."""

    topic: str
    language: str
    earliest: date
    latest: date
    municipality: str | None = None
    interpreter_language: str | None = None


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A phone appointment to book for a client: everything except the slot, which is chosen later."""

    request_id: uuid.UUID
    topic: str
    language: str
    client_hetu: str = field(repr=False)
    phone: str = field(repr=False)
    email: str | None = field(default=None, repr=False)
    notification: str = "sms"
    interpreter_language: str | None = None
    municipality: str | None = None

    @property
    def interpreter_needed(self) -> bool:
        return self.interpreter_language is not None


@dataclass(frozen=True, slots=True)
class Person:
    hetu: str | None = field(repr=False)
    given_names: str = field(repr=False)
    family_name: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ConsentRegistration:
    """A Y100 consent (suostumus) to register with Kela, which must hold it itself before it discloses."""

    request_id: uuid.UUID
    consenter: Person
    parties: tuple[str, ...]
    purpose: str = field(repr=False)
    data_categories: tuple[str, ...]
    special_categories: tuple[str, ...]
    valid_from: date
    given_as: str
    valid_until: date | None = None
    guardian: Person | None = None
    form_reference: str | None = None


def request_uuid(delivery_id: str) -> uuid.UUID:
    """The Kela request id of a delivery: stable across retries, so a resend finds the first booking."""
    try:
        return uuid.UUID(delivery_id)
    except ValueError:
        return uuid.uuid5(_REQUEST_IDS, delivery_id)


def _need(payload: Mapping[str, Any], *path: str) -> Any:
    value: Any = payload
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None or value == "":
        raise RenderError(f"the payload has no {'.'.join(path)}")
    return value


def _date(text: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise RenderError(f"{name} is not an ISO date") from None


def booking_from_payload(payload: Mapping[str, Any], *, request_id: uuid.UUID) -> tuple[SlotQuery, BookingRequest]:
    """The slot search and the booking a ``kela_booking`` payload asks for."""
    request = _need(payload, "request")
    client = _need(payload, "client")
    phone = client.get("phone")
    if not phone:
        raise RenderError("a Kela phone appointment needs the client's phone number, and the outcome has none")
    if not _PHONE.match(str(phone)):
        raise RenderError("the client's phone number is not in E.164 form")
    notification = str(request.get("notification") or "sms")
    email = request.get("email")
    if notification == "email" and not email:
        raise RenderError("notification by e-mail needs the client's e-mail address")
    municipality = request.get("municipality") or client.get("municipality")
    interpreter = request.get("interpreter_language")
    query = SlotQuery(
        topic=str(_need(request, "topic")),
        language=str(request.get("language") or "fi"),
        earliest=_date(_need(request, "window", "earliest"), "request.window.earliest"),
        latest=_date(_need(request, "window", "latest"), "request.window.latest"),
        municipality=municipality,
        interpreter_language=interpreter,
    )
    booking = BookingRequest(
        request_id=request_id,
        topic=query.topic,
        language=query.language,
        client_hetu=str(_need(client, "hetu")),
        phone=str(phone),
        email=email,
        notification=notification,
        interpreter_language=interpreter,
        municipality=municipality,
    )
    return query, booking


def _person(data: Mapping[str, Any], name: str, *, hetu_required: bool) -> Person:
    hetu = data.get("hetu")
    if hetu_required and not hetu:
        raise RenderError(f"the {name} has no hetu; Kela registers a consent on an identified person")
    return Person(hetu=hetu, given_names=str(_need(data, "given_names")), family_name=str(_need(data, "family_name")))


def consent_from_payload(payload: Mapping[str, Any], *, request_id: uuid.UUID) -> ConsentRegistration:
    """The Y100 registration a ``kela_consent`` payload asks for; special categories named apart."""
    consent = _need(payload, "consent")
    categories = [str(c) for c in _need(consent, "data_categories")]
    guardian = payload.get("guardian")
    try:
        given_at = datetime.fromisoformat(str(_need(payload, "given_at")))
    except ValueError:
        raise RenderError("given_at is not an ISO timestamp") from None
    valid_from = consent.get("valid_from")
    valid_until = consent.get("valid_until")
    return ConsentRegistration(
        request_id=request_id,
        consenter=_person(_need(payload, "client"), "client", hetu_required=True),
        guardian=_person(guardian, "guardian", hetu_required=False) if guardian else None,
        parties=tuple(str(p) for p in _need(consent, "parties")),
        purpose=str(_need(consent, "purpose")),
        data_categories=tuple(c for c in categories if c not in SPECIAL_CATEGORIES),
        special_categories=tuple(c for c in categories if c in SPECIAL_CATEGORIES),
        valid_from=_date(valid_from, "consent.valid_from") if valid_from else _finnish_day(given_at),
        valid_until=_date(valid_until, "consent.valid_until") if valid_until else None,
        given_as=str(_need(consent, "form")),
        form_reference=consent.get("form_reference"),
    )


def consent_to_revoke(previous_refs: Mapping[str, Any] | None) -> str:
    """Kela's id of the consent a ``kela_consent_revocation`` withdraws: from the registration's references."""
    consent_id = (previous_refs or {}).get("consent_id")
    if not consent_id:
        raise RenderError("the revocation does not follow a registration Kela confirmed: no Kela consent id")
    return str(consent_id)


def _finnish_day(moment: datetime) -> date:
    return moment.astimezone(HELSINKI).date() if moment.tzinfo else moment.date()


# -- SOAP bodies (zeep keyword arguments) -----------------------------------------------------


def find_slots_body(query: SlotQuery) -> dict[str, Any]:
    return {
        "topic": query.topic,
        "language": query.language,
        "municipality": query.municipality,
        "earliest": query.earliest,
        "latest": query.latest,
        "interpreterLanguage": query.interpreter_language,
    }


def book_body(request: BookingRequest, slot_id: str) -> dict[str, Any]:
    return {
        "requestId": str(request.request_id),
        "slotId": slot_id,
        "topic": request.topic,
        "language": request.language,
        "interpreterNeeded": request.interpreter_needed,
        "interpreterLanguage": request.interpreter_language,
        "municipality": request.municipality,
        "client": {"hetu": request.client_hetu, "phone": request.phone, "email": request.email},
        "notification": request.notification,
    }


def get_booking_body(*, booking_id: str | None = None, request_id: uuid.UUID | None = None) -> dict[str, Any]:
    if (booking_id is None) == (request_id is None):
        raise ValueError("name the booking by exactly one of booking_id and request_id")
    return {"bookingId": booking_id} if booking_id is not None else {"requestId": str(request_id)}


def cancel_booking_body(booking_id: str, reason: str | None) -> dict[str, Any]:
    return {"bookingId": booking_id, "reason": reason}


def _person_body(person: Person) -> dict[str, Any]:
    return {"hetu": person.hetu, "givenNames": person.given_names, "familyName": person.family_name}


def register_consent_body(consent: ConsentRegistration) -> dict[str, Any]:
    return {
        "requestId": str(consent.request_id),
        "consenter": _person_body(consent.consenter),
        "guardian": _person_body(consent.guardian) if consent.guardian else None,
        "party": list(consent.parties),
        "purpose": consent.purpose,
        "dataCategory": list(consent.data_categories),
        "specialCategory": list(consent.special_categories),
        "validFrom": consent.valid_from,
        "validUntil": consent.valid_until,
        "givenAs": consent.given_as,
        "formReference": consent.form_reference,
    }


def revoke_consent_body(consent_id: str, revoked_on: date | None) -> dict[str, Any]:
    return {"consentId": consent_id, "revokedOn": revoked_on}


# -- replies ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    slot_id: str
    start: datetime
    end: datetime
    topic: str
    language: str
    municipality: str | None
    interpreter_available: bool


@dataclass(frozen=True, slots=True)
class Booking:
    booking_id: str
    request_id: str
    status: str  # booked | cancelled
    slot_id: str
    start: datetime
    end: datetime
    topic: str
    language: str
    municipality: str | None
    interpreter_language: str | None
    notification: str
    phone: str = field(repr=False)
    email: str | None = field(repr=False)
    booked_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConsentReceipt:
    consent_id: str
    request_id: str
    status: str  # active | revoked
    given_as: str
    valid_from: date
    valid_until: date | None
    single_use: bool
    registered_at: datetime
    revoked_at: datetime | None


def _get(value: Any, name: str, *, required: bool = True) -> Any:
    found = getattr(value, name, None) if value is not None else None
    if found is None and required:
        raise MalformedReply(f"the answer has no {name}")
    return found


def slots_from_reply(body: Any) -> list[Slot]:
    return [
        Slot(
            slot_id=_get(s, "slotId"),
            start=_get(s, "start"),
            end=_get(s, "end"),
            topic=_get(s, "topic"),
            language=_get(s, "language"),
            municipality=_get(s, "municipality", required=False),
            interpreter_available=bool(_get(s, "interpreterAvailable")),
        )
        for s in (_get(body, "slot", required=False) or [])
    ]


def booking_from_reply(body: Any) -> Booking:
    b = _get(body, "booking")
    return Booking(
        booking_id=_get(b, "bookingId"),
        request_id=_get(b, "requestId"),
        status=_get(b, "status"),
        slot_id=_get(b, "slotId"),
        start=_get(b, "start"),
        end=_get(b, "end"),
        topic=_get(b, "topic"),
        language=_get(b, "language"),
        municipality=_get(b, "municipality", required=False),
        interpreter_language=_get(b, "interpreterLanguage", required=False),
        notification=_get(b, "notification"),
        phone=_get(b, "phone"),
        email=_get(b, "email", required=False),
        booked_at=_get(b, "bookedAt"),
        cancelled_at=_get(b, "cancelledAt", required=False),
    )


def consent_from_reply(body: Any) -> ConsentReceipt:
    c = _get(body, "consent")
    return ConsentReceipt(
        consent_id=_get(c, "consentId"),
        request_id=_get(c, "requestId"),
        status=_get(c, "status"),
        given_as=_get(c, "givenAs"),
        valid_from=_get(c, "validFrom"),
        valid_until=_get(c, "validUntil", required=False),
        single_use=bool(_get(c, "singleUse")),
        registered_at=_get(c, "registeredAt"),
        revoked_at=_get(c, "revokedAt", required=False),
    )
