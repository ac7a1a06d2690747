"""The Kela adapter: book a phone appointment (``kela_booking``) and register a Y100 consent (``kela_consent``).

Kela's booking service is MODELLED (Kela has no public booking interface; see ``wsdl/kela-v1.wsdl``).

Booking (ajanvaraus asiakkaan puolesta): search the payload's window for free slots matching
topic, language, municipality and interpreter, and book the first with request id = the
delivery id. Resends are harmless: the adapter first asks Kela for a booking this request id
already made (a lost answer), and Kela answers a repeated request id with the same booking. A
slot taken meanwhile makes the adapter try the next free one, up to ``slot_attempts`` slots,
before it gives up for now (:class:`SlotTaken`, transient); an empty window is
:class:`NoFreeSlot` (permanent: the outcome shows that Kela had no time to offer).

Consent (suostumus, Y100): register it (``kela_consent``) with request id = the delivery id; Kela
must hold the consent itself before it discloses anything. When the client revokes it, the
``kela_consent_revocation`` that supersedes the registration withdraws it at Kela by the consent
id the registration's references carry.

A delivery that supersedes an earlier one (a corrected outcome) keeps the earlier booking when
it still fits the corrected request, and otherwise books anew and then cancels the earlier one;
a superseding consent is registered before the earlier one is revoked. Either way the client
never goes without an appointment or a valid consent in between.

Every call carries the delivery's personal values (:func:`gateway.redaction.personal_values`):
whatever Kela answers about the client is redacted with them before it is stored or shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.kela.client import KelaClient
from adapters.kela.errors import ChosenSlotTaken, KelaFault, NoFreeSlot, SlotTaken
from adapters.kela.render import (
    HELSINKI,
    Booking,
    BookingRequest,
    ConsentReceipt,
    SlotQuery,
    booking_from_payload,
    consent_from_payload,
    consent_to_revoke,
    request_uuid,
)
from adapters.kela.settings import KelaSettings
from gateway.errors import RenderError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from gateway.redaction import personal_values


class KelaAdapter:
    name = "kela"

    def __init__(self, settings: KelaSettings, *, wsdl_url: str, client: KelaClient | None = None) -> None:
        self.settings = settings
        self.client = client or KelaClient(settings, wsdl_url=wsdl_url)

    async def deliver(self, work: DeliveryWork, mappings: MappingSet) -> DeliveryResult:
        if work.kind == "kela_booking":
            return await self._booking(work)
        if work.kind == "kela_consent":
            return await self._consent(work)
        if work.kind == "kela_consent_revocation":
            return await self._revocation(work)
        raise RenderError(f"the Kela adapter cannot deliver {work.kind!r}")

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- booking ---------------------------------------------------------------------------------

    async def _booking(self, work: DeliveryWork) -> DeliveryResult:
        query, request = booking_from_payload(work.payload, request_id=request_uuid(work.delivery_id))
        worker = _worker(work.payload)
        personal = personal_values(work.payload)
        previous = await self._previous_booking(work, worker, personal)
        if previous is not None and previous.status == "booked" and _still_fits(previous, query, request):
            return _booking_result(previous, "the earlier booking still fits the corrected request: kept")
        booking = await self.client.find_booking(
            request.request_id, worker_id=worker, issue=_issue(work), personal=personal
        )
        resent = booking is not None
        chosen = work.payload["request"].get("slot_id")
        if booking is None and chosen:
            booking = await self._book_chosen(str(chosen), request, worker, _issue(work), personal)
        elif booking is None:
            booking = await self._book_first_free(query, request, worker, _issue(work), personal)
        replaced = None
        if previous is not None and previous.status == "booked" and previous.booking_id != booking.booking_id:
            reason = "replaced by a corrected request"
            await self.client.cancel_booking(
                previous.booking_id, worker_id=worker, reason=reason, issue=_issue(work), personal=personal
            )
            replaced = previous.booking_id
        start = booking.start.astimezone(HELSINKI)
        message = f"{booking.topic} phone appointment {start:%Y-%m-%d %H:%M} Finnish time"
        message = f"Kela already had this booking: {message}" if resent else f"booked {message}"
        return _booking_result(booking, message, replaced=replaced)

    async def _previous_booking(self, work: DeliveryWork, worker: str, personal: frozenset[str]) -> Booking | None:
        booking_id = (work.previous_refs or {}).get("booking_id") if work.supersedes else None
        if not booking_id:
            return None
        return await self.client.get_booking(str(booking_id), worker_id=worker, issue=_issue(work), personal=personal)

    async def _book_chosen(
        self, slot_id: str, request: BookingRequest, worker: str, issue: str | None, personal: frozenset[str]
    ) -> Booking:
        """The caller picked this slot from a search: book it, or say it is gone (no silent substitute)."""
        try:
            return await self.client.book(request, slot_id=slot_id, worker_id=worker, issue=issue, personal=personal)
        except SlotTaken:
            raise ChosenSlotTaken(
                "the chosen slot was booked by someone else; search again", backend_status=KelaFault.SLOT_TAKEN
            ) from None

    async def _book_first_free(
        self, query: SlotQuery, request: BookingRequest, worker: str, issue: str | None, personal: frozenset[str]
    ) -> Booking:
        taken: set[str] = set()
        for _ in range(self.settings.slot_attempts):
            slots = await self.client.find_slots(query, worker_id=worker, issue=issue, personal=personal)
            free = [slot for slot in slots if slot.slot_id not in taken]
            if not free:
                raise NoFreeSlot(
                    f"Kela's phone service has no free slot for {query.topic} in {query.language!r} "
                    f"between {query.earliest} and {query.latest}",
                    backend_status="no-free-slot",
                )
            try:
                return await self.client.book(
                    request, slot_id=free[0].slot_id, worker_id=worker, issue=issue, personal=personal
                )
            except SlotTaken:
                taken.add(free[0].slot_id)
        raise SlotTaken(
            f"{len(taken)} free slots in a row were booked by others before us; searching again later",
            backend_status=KelaFault.SLOT_TAKEN,
        )

    # -- consent ---------------------------------------------------------------------------------

    async def _consent(self, work: DeliveryWork) -> DeliveryResult:
        consent = consent_from_payload(work.payload, request_id=request_uuid(work.delivery_id))
        worker = _worker(work.payload)
        personal = personal_values(work.payload)
        receipt = await self.client.register_consent(consent, worker_id=worker, issue=_issue(work), personal=personal)
        references = _consent_references(receipt)
        previous = (work.previous_refs or {}).get("consent_id") if work.supersedes else None
        if previous and previous != receipt.consent_id:
            await self.client.revoke_consent(str(previous), worker_id=worker, issue=_issue(work), personal=personal)
            references["revoked_consent_id"] = str(previous)
        scope = "one transaction only" if receipt.single_use else f"valid from {receipt.valid_from}"
        return DeliveryResult(
            references=references,
            backend_status=receipt.status,
            message=f"Kela registered the {receipt.given_as} consent ({scope})",
        )

    async def _revocation(self, work: DeliveryWork) -> DeliveryResult:
        consent_id = consent_to_revoke(work.previous_refs)
        worker = _worker(work.payload)
        receipt = await self.client.revoke_consent(
            consent_id, worker_id=worker, issue=_issue(work), personal=personal_values(work.payload)
        )
        references = {**_consent_references(receipt), "revoked_at": _iso(receipt.revoked_at)}
        return DeliveryResult(
            references=references,
            backend_status=receipt.status,
            message=f"Kela withdrew the {receipt.given_as} consent",
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _issue(work: DeliveryWork) -> str | None:
    """``xrd:issue``: what the call is about for Kela's records, our outcome (or consent) id, never personal."""
    consent_id = work.payload.get("consent_id")
    return work.outcome_id or (str(consent_id) if consent_id else None)


def _worker(payload: Mapping[str, Any]) -> str:
    worker = payload.get("worker_id")
    if not worker:
        raise RenderError("the payload has no worker_id: Kela records which professional acted")
    return str(worker)


def _still_fits(booking: Booking, query: SlotQuery, request: BookingRequest) -> bool:
    """The earlier booking serves the corrected request too: same service and contact details, in the window.

    The modelled service, like Kela's web booking, cannot change a booking: anything else means booking anew.
    """
    day = booking.start.astimezone(HELSINKI).date()
    booked = (booking.topic, booking.language, booking.municipality, booking.interpreter_language)
    contact = (booking.phone, booking.email, booking.notification)
    return (
        booked == (query.topic, query.language, query.municipality, query.interpreter_language)
        and contact == (request.phone, request.email, request.notification)
        and query.earliest <= day <= query.latest
    )


def _booking_result(booking: Booking, message: str, *, replaced: str | None = None) -> DeliveryResult:
    references: dict[str, Any] = {
        "booking_id": booking.booking_id,
        "request_id": booking.request_id,
        "status": booking.status,
        "slot_id": booking.slot_id,
        "slot_start": booking.start.isoformat(),
        "slot_end": booking.end.isoformat(),
        "topic": booking.topic,
        "language": booking.language,
    }
    if replaced is not None:
        references["replaced_booking_id"] = replaced
    return DeliveryResult(references=references, backend_status=booking.status, message=message)


def _consent_references(receipt: ConsentReceipt) -> dict[str, Any]:
    return {
        "consent_id": receipt.consent_id,
        "request_id": receipt.request_id,
        "status": receipt.status,
        "given_as": receipt.given_as,
        "valid_from": receipt.valid_from.isoformat(),
        "valid_until": receipt.valid_until.isoformat() if receipt.valid_until else None,
        "single_use": receipt.single_use,
    }
