"""The Kela simulator: the modelled phone-appointment and Y100 consent service behind X-Road, as an ASGI app.

MODELLED: Kela's real booking is a web application with no public interface. This stands in for
the service our WSDL describes (``wsdl/kela-v1.wsdl``) and is as strict as an X-Road service
provider would be:

- ``GET /wsdl`` or ``GET /?wsdl``: the WSDL, its soap:address the URL it is served at (root_path
  included, so it works mounted under e.g. ``/simulators/kela``); ``POST /``: the SOAP endpoint.
- The X-Road header is checked (client, service, id, userId, protocolVersion, known instance and
  member class, serviceCode = the body's operation) and echoed unchanged in every answer; a
  header fault is ``Client.<X-Road error>`` naming the field.
- The body is validated against the WSDL's schema, then by the service's rules: known topic
  (the mapping set's ``kela.topics``), valid hetu, a slot the phone service offers.
- A repeated request id returns the booking (or consent) it made; a slot booked meanwhile is a
  distinct fault (``Client.SlotTaken``).

All state lives on the instance. Admin routes for tests, under ``/_sim/`` (see :meth:`sim_admin`):
``GET bookings``, ``GET consents``, ``GET topics``, ``POST reset``, ``POST contention``
(``{"times": n}``: the next n bookings find their slot taken by another caller).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import phonenumbers
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from adapters.faults import FaultInjector
from adapters.kela.errors import KelaFault
from adapters.kela.phone_service import LANGUAGES, MAX_WINDOW_DAYS, free_slots, offered_slot, utcnow
from adapters.kela.render import NAMESPACE, SPECIAL_CATEGORIES
from adapters.kela.sim_wire import (
    XML,
    Endpoint,
    SoapFault,
    SoapRequest,
    child,
    date_of,
    el,
    invalid,
    render_injected,
    soap_fault,
    text,
    texts,
)
from gateway.contract.hetu import InvalidHetu, parse_hetu
from gateway.mappings import KelaTopic, load_mappings

MAX_LISTED = 20


def _check_hetu(value: str | None, whose: str) -> str:
    try:
        return parse_hetu(value or "").code
    except InvalidHetu:
        raise invalid(f"the {whose} hetu is not valid", KelaFault.INVALID_HETU) from None


def _check_topic_and_language(
    topics: Mapping[str, KelaTopic], topic: str | None, language: str | None
) -> tuple[str, str]:
    if topic is None or topic not in topics:
        raise invalid(f"unknown topic code; the modelled codes are {', '.join(topics)}", KelaFault.UNKNOWN_TOPIC)
    if language not in LANGUAGES:
        raise invalid(f"the phone service serves in {', '.join(LANGUAGES)}; book another language with an interpreter")
    return topic, language


def _valid_phone(value: str | None) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(value or "", None)))
    except phonenumbers.NumberParseException:
        return False


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


class KelaSimulator:
    """The ASGI app. Two instances never share anything."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow, topics: Mapping[str, KelaTopic]) -> None:
        self.clock = clock
        self._topics = topics
        self._operations: dict[str, Callable[[SoapRequest], etree._Element]] = {
            "findSlots": self._find_slots,
            "book": self._book,
            "getBooking": self._get_booking,
            "cancelBooking": self._cancel_booking,
            "registerConsent": self._register_consent,
            "revokeConsent": self._revoke_consent,
        }
        self.endpoint = Endpoint(self._operations)
        self.reset()
        self._app = Starlette(
            routes=[Route("/", self.root, methods=["GET", "POST"]), Route("/wsdl", self.wsdl, methods=["GET"])]
        )

    def reset(self) -> None:
        self.bookings: dict[str, dict[str, Any]] = {}
        self.consents: dict[str, dict[str, Any]] = {}
        self.taken: dict[str, str] = {}  # slot id -> booking id, or "another caller"
        self.contention = 0
        self._bookings_by_request: dict[str, str] = {}
        self._consents_by_request: dict[str, str] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)

    # -- HTTP ------------------------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.soap(request)
        if "wsdl" in request.query_params:
            return await self.wsdl(request)
        return PlainTextResponse("Kela (modelled) X-Road SOAP service: POST SOAP here; GET ?wsdl for the WSDL.\n")

    async def wsdl(self, request: Request) -> Response:
        # Built from root_path: mounted under /simulators/kela, the endpoint is /simulators/kela/.
        address = str(request.url.replace(path=request.scope.get("root_path", "") + "/", query=""))
        return Response(self.endpoint.wsdl(address), media_type=XML)

    async def soap(self, request: Request) -> Response:
        try:
            soap = self.endpoint.read(await request.body(), request.headers.get("content-type", ""))
            result = self._operations[soap.operation](soap)
        except SoapFault as fault:
            return Response(soap_fault(fault.code, fault.message), status_code=500, media_type=XML)
        return Response(self.endpoint.answer(soap, result), media_type=XML)

    # -- operations ------------------------------------------------------------------------------

    def _find_slots(self, soap: SoapRequest) -> etree._Element:
        request = soap.body
        topic, language = _check_topic_and_language(self._topics, text(request, "topic"), text(request, "language"))
        earliest, latest = date_of(request, "earliest"), date_of(request, "latest")
        assert earliest is not None and latest is not None  # the schema requires both
        if latest < earliest or (latest - earliest).days > MAX_WINDOW_DAYS:
            raise invalid(f"the window must run forwards and span at most {MAX_WINDOW_DAYS} days")
        slots = free_slots(
            topic,
            language,
            text(request, "municipality"),
            earliest,
            latest,
            interpreter=text(request, "interpreterLanguage") is not None,
            not_before=self.clock(),
        )
        listed = [s for s in slots if s.slot_id not in self.taken][:MAX_LISTED]
        return el(
            "findSlotsResponse",
            el("slotCount", str(len(listed))),
            *(
                el(
                    "slot",
                    el("slotId", s.slot_id),
                    el("start", s.start.isoformat()),
                    el("end", s.end.isoformat()),
                    el("topic", s.topic),
                    el("language", s.language),
                    el("municipality", s.municipality) if s.municipality else None,
                    el("interpreterAvailable", "true" if s.interpreter_available else "false"),
                )
                for s in listed
            ),
        )

    def _book(self, soap: SoapRequest) -> etree._Element:
        request, header = soap.body, soap.header
        request_id = text(request, "requestId") or ""
        client = child(request, "client")
        hetu = _check_hetu(text(client, "hetu"), "client's")
        topic, language = _check_topic_and_language(self._topics, text(request, "topic"), text(request, "language"))
        if request_id in self._bookings_by_request:
            booking = self.bookings[self._bookings_by_request[request_id]]
            if (booking["client_hetu"], booking["topic"]) != (hetu, topic):
                raise invalid("this request id booked for another client or topic", KelaFault.REQUEST_ID_CONFLICT)
            return el("bookResponse", _booking_element(booking))
        interpreter = text(request, "interpreterLanguage")
        if (text(request, "interpreterNeeded") in ("true", "1")) != (interpreter is not None):
            raise invalid("interpreterLanguage is required exactly when interpreterNeeded is true")
        phone, email, notification = text(client, "phone"), text(client, "email"), text(request, "notification")
        if not _valid_phone(phone):
            raise invalid("the client's phone number is not valid")
        if notification == "email" and email is None:
            raise invalid("notification by e-mail needs the client's e-mail address")
        municipality, slot_id = text(request, "municipality"), text(request, "slotId") or ""
        slot = offered_slot(
            slot_id, topic=topic, language=language, municipality=municipality, interpreter=interpreter is not None
        )
        now = self.clock()
        if slot is None or slot.start <= now:
            raise invalid("the phone service does not offer this slot for this request", KelaFault.INVALID_SLOT)
        if slot.slot_id in self.taken:
            raise SoapFault(KelaFault.SLOT_TAKEN, "the slot was booked meanwhile; choose another")
        if self.contention > 0:
            self.contention -= 1
            self.taken[slot.slot_id] = "another caller"
            raise SoapFault(KelaFault.SLOT_TAKEN, "the slot was booked meanwhile; choose another")
        booking_id = f"KB-{uuid.uuid4().hex[:12].upper()}"
        booking = {
            "booking_id": booking_id,
            "request_id": request_id,
            "status": "booked",
            "slot_id": slot.slot_id,
            "start": slot.start,
            "end": slot.end,
            "topic": topic,
            "language": language,
            "municipality": municipality,
            "interpreter_language": interpreter,
            "notification": notification,
            "client_hetu": hetu,
            "phone": phone,
            "email": email,
            "booked_at": now,
            "cancelled_at": None,
            "user_id": header.user_id,
            "client_subsystem": header.client.subsystem,
        }
        self.bookings[booking_id] = booking
        self._bookings_by_request[request_id] = booking_id
        self.taken[slot.slot_id] = booking_id
        return el("bookResponse", _booking_element(booking))

    def _find_booking(self, request: etree._Element) -> dict[str, Any]:
        booking_id = text(request, "bookingId") or self._bookings_by_request.get(text(request, "requestId") or "")
        booking = self.bookings.get(booking_id or "")
        if booking is None:
            raise SoapFault(KelaFault.BOOKING_NOT_FOUND, "no such booking")
        return booking

    def _get_booking(self, soap: SoapRequest) -> etree._Element:
        return el("getBookingResponse", _booking_element(self._find_booking(soap.body)))

    def _cancel_booking(self, soap: SoapRequest) -> etree._Element:
        booking = self._find_booking(soap.body)
        if booking["status"] == "booked":
            booking.update(status="cancelled", cancelled_at=self.clock())
            self.taken.pop(booking["slot_id"], None)
        return el("cancelBookingResponse", _booking_element(booking))

    def _register_consent(self, soap: SoapRequest) -> etree._Element:
        request, header = soap.body, soap.header
        request_id = text(request, "requestId") or ""
        consenter = child(request, "consenter")
        hetu = _check_hetu(text(consenter, "hetu"), "consenter's")
        if request_id in self._consents_by_request:
            consent = self.consents[self._consents_by_request[request_id]]
            if consent["consenter_hetu"] != hetu:
                raise invalid("this request id registered another person's consent", KelaFault.REQUEST_ID_CONFLICT)
            return el("registerConsentResponse", _consent_element(consent))
        guardian = request.find(f"{{{NAMESPACE}}}guardian")
        guardian_hetu = text(guardian, "hetu") if guardian is not None else None
        if guardian_hetu is not None:
            _check_hetu(guardian_hetu, "guardian's")
        parties, categories = texts(request, "party"), texts(request, "dataCategory")
        special = texts(request, "specialCategory")
        if "kela" not in parties:
            raise invalid("a consent registered with Kela must name Kela as a party")
        if SPECIAL_CATEGORIES & set(categories):
            raise invalid("special categories of data (health) must be named as specialCategory")
        if set(special) - SPECIAL_CATEGORIES:
            raise invalid("specialCategory names only special categories of data (health)")
        valid_from, valid_until = date_of(request, "validFrom"), date_of(request, "validUntil")
        assert valid_from is not None  # the schema requires it
        if valid_until is not None and valid_until < valid_from:
            raise invalid("validUntil is before validFrom")
        given_as = text(request, "givenAs")
        if given_as == "verbal":
            if valid_until is not None and valid_until != valid_from:
                raise invalid("a verbal consent covers one transaction only; it cannot stay valid")
            valid_until = valid_from
        consent = {
            "consent_id": f"Y100-{uuid.uuid4().hex[:12].upper()}",
            "request_id": request_id,
            "status": "active",
            "given_as": given_as,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "single_use": given_as == "verbal",
            "registered_at": self.clock(),
            "revoked_at": None,
            "revoked_on": None,
            "consenter_hetu": hetu,
            "guardian": guardian is not None,
            "parties": parties,
            "data_categories": categories,
            "special_categories": special,
            "purpose": text(request, "purpose"),
            "form_reference": text(request, "formReference"),
            "user_id": header.user_id,
        }
        self.consents[consent["consent_id"]] = consent
        self._consents_by_request[request_id] = consent["consent_id"]
        return el("registerConsentResponse", _consent_element(consent))

    def _revoke_consent(self, soap: SoapRequest) -> etree._Element:
        request = soap.body
        consent = self.consents.get(text(request, "consentId") or "")
        if consent is None:
            raise SoapFault(KelaFault.CONSENT_NOT_FOUND, "no such consent")
        if consent["status"] == "active":
            now = self.clock()
            consent.update(status="revoked", revoked_at=now, revoked_on=date_of(request, "revokedOn") or now.date())
        return el("revokeConsentResponse", _consent_element(consent))

    # -- admin (called by FaultInjector for /_sim/* paths it does not handle) ---------------------

    async def sim_admin(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        route = (method.upper(), path.rstrip("/"))
        if route == ("GET", "/_sim/bookings"):
            return 200, {"bookings": [_jsonable(b) for b in self.bookings.values()]}
        if route == ("GET", "/_sim/consents"):
            return 200, {"consents": [_jsonable(c) for c in self.consents.values()]}
        if route == ("GET", "/_sim/topics"):
            return 200, {"modelled": True, "topics": {code: t.model_dump() for code, t in self._topics.items()}}
        if route == ("POST", "/_sim/reset"):
            self.reset()
            return 200, {"reset": True}
        if route == ("POST", "/_sim/contention"):
            try:
                times = int(json.loads(body or b"{}").get("times", 1))
            except (ValueError, TypeError, AttributeError):
                return 422, {"error": 'expected {"times": <int>}'}
            self.contention = max(0, times)
            return 200, {"contention": self.contention}
        return 404, {"error": f"no simulator admin route {method} {path}"}


def _booking_element(b: dict[str, Any]) -> etree._Element:
    return el(
        "booking",
        el("bookingId", b["booking_id"]),
        el("requestId", b["request_id"]),
        el("status", b["status"]),
        el("slotId", b["slot_id"]),
        el("start", b["start"].isoformat()),
        el("end", b["end"].isoformat()),
        el("topic", b["topic"]),
        el("language", b["language"]),
        el("municipality", b["municipality"]) if b["municipality"] else None,
        el("interpreterLanguage", b["interpreter_language"]) if b["interpreter_language"] else None,
        el("notification", b["notification"]),
        el("phone", b["phone"]),
        el("email", b["email"]) if b["email"] else None,
        el("bookedAt", b["booked_at"].isoformat()),
        el("cancelledAt", b["cancelled_at"].isoformat()) if b["cancelled_at"] else None,
    )


def _consent_element(c: dict[str, Any]) -> etree._Element:
    return el(
        "consent",
        el("consentId", c["consent_id"]),
        el("requestId", c["request_id"]),
        el("status", c["status"]),
        el("givenAs", c["given_as"]),
        el("validFrom", c["valid_from"].isoformat()),
        el("validUntil", c["valid_until"].isoformat()) if c["valid_until"] else None,
        el("singleUse", "true" if c["single_use"] else "false"),
        el("registeredAt", c["registered_at"].isoformat()),
        el("revokedAt", c["revoked_at"].isoformat()) if c["revoked_at"] else None,
    )


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime | date) else v for k, v in record.items()}


def create_simulator(
    *, clock: Callable[[], datetime] = utcnow, topics: Mapping[str, KelaTopic] | None = None
) -> FaultInjector:
    """A fresh simulator behind fault injection; faults render as X-Road SOAP Faults.

    Its topics are the shipped mapping set's (``mappings/default/kela.yaml``) unless given.
    """
    known = topics if topics is not None else load_mappings().kela.topics
    return FaultInjector(KelaSimulator(clock=clock, topics=known), render_error=render_injected)
