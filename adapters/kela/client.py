"""The Kela client: the modelled booking and consent service over X-Road, with zeep on httpx. I/O only.

One call is three steps, as in zeep's own binding, with the two pure halves reused:
build the envelope (zeep from the WSDL, our X-Road header from :mod:`adapters.kela.xroad`) →
POST it (httpx) → parse the reply (zeep raises on a Fault) and check that it echoes our header.
Every failure leaves through :func:`adapters.kela.errors.translate`, so callers see only
``gateway.errors`` classes. Used by the outbox adapter and directly by the gateway's booking API.

The WSDL is fetched asynchronously on first use (never with a blocking GET on the event loop:
the embedded default serves the simulator from the same loop) and must be self-contained;
zeep parses it and every reply with DTDs, entities and external references forbidden. Message
bodies carry hetus and names, so nothing here logs them; zeep's own transport logging is bypassed.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import zeep
from lxml import etree
from zeep.exceptions import ExternalReferenceForbidden
from zeep.loader import parse_xml
from zeep.transports import AsyncTransport
from zeep.wsdl import Document

from adapters.kela import render
from adapters.kela.errors import FAILURES, UnknownReference, translate
from adapters.kela.render import (
    Booking,
    BookingRequest,
    ConsentReceipt,
    ConsentRegistration,
    MalformedReply,
    Slot,
    SlotQuery,
)
from adapters.kela.settings import KelaSettings
from adapters.kela.xroad import SOAP_HEADER_TAG, XRoadHeader, build_header, check_echo, new_header, parse_header
from gateway.logs import get_logger

__all__ = ["Booking", "BookingRequest", "ConsentReceipt", "ConsentRegistration", "KelaClient", "Slot", "SlotQuery"]

log = get_logger("adapters.kela")

ZEEP_SETTINGS = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
SOAP_HTTP_HEADERS = {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": '""'}
SOAP_FAULT_STATUS = 500
"""SOAP 1.1 over HTTP sends a Fault with 500; any other error status is judged by the status (and Retry-After)."""


class _Transport(AsyncTransport):
    """zeep's AsyncTransport over our httpx client, narrowed: it loads nothing and logs no bodies."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        # The sync ``wsdl_client`` zeep would create is never used (``load`` refuses), so none is made.
        super().__init__(client=http, wsdl_client=http)  # type: ignore[no-untyped-call]

    def load(self, url: str) -> bytes:
        raise ExternalReferenceForbidden(url)  # type: ignore[no-untyped-call]

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Response:
        response: httpx.Response = await self.client.post(address, content=message, headers=headers)
        return response


@dataclass(frozen=True, slots=True)
class _Bound:
    """The parsed service description and where to send."""

    zeep: Any
    service: Any
    binding: Any
    address: str


class KelaClient:
    """Async client of the (modelled) Kela phone-appointment and Y100 consent service.

    ``worker_id`` is the acting professional; it goes to Kela as ``xrd:userId`` = "FI" + id.
    ``message_id`` (``xrd:id``) is a fresh UUID unless given; a booking and a consent registration
    use their request id, so that a retried request is recognised by Kela.
    """

    def __init__(self, settings: KelaSettings, *, wsdl_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.wsdl_url = wsdl_url
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._transport = _Transport(self._http)
        self._client_id = settings.client.identifier()
        self._bound: _Bound | None = None
        self._lock = asyncio.Lock()

    # -- operations ------------------------------------------------------------------------------

    async def find_slots(
        self, query: SlotQuery, *, worker_id: str, message_id: uuid.UUID | None = None, issue: str | None = None
    ) -> list[Slot]:
        """Free phone slots for the query, earliest first (at most what Kela lists in one answer)."""
        header = self._header("findSlots", worker_id, message_id, issue)
        return render.slots_from_reply(await self._call(header, render.find_slots_body(query)))

    async def book(self, request: BookingRequest, *, slot_id: str, worker_id: str, issue: str | None = None) -> Booking:
        """Book ``slot_id``; the same ``request.request_id`` again returns the same booking."""
        header = self._header("book", worker_id, request.request_id, issue)
        return render.booking_from_reply(await self._call(header, render.book_body(request, slot_id)))

    async def get_booking(
        self, booking_id: str, *, worker_id: str, message_id: uuid.UUID | None = None, issue: str | None = None
    ) -> Booking:
        header = self._header("getBooking", worker_id, message_id, issue)
        return render.booking_from_reply(await self._call(header, render.get_booking_body(booking_id=booking_id)))

    async def find_booking(
        self, request_id: uuid.UUID, *, worker_id: str, message_id: uuid.UUID | None = None, issue: str | None = None
    ) -> Booking | None:
        """The booking an earlier request with ``request_id`` made, or None if Kela has none."""
        header = self._header("getBooking", worker_id, message_id, issue)
        try:
            body = await self._call(header, render.get_booking_body(request_id=request_id))
        except UnknownReference:
            return None
        return render.booking_from_reply(body)

    async def cancel_booking(
        self,
        booking_id: str,
        *,
        worker_id: str,
        reason: str | None = None,
        message_id: uuid.UUID | None = None,
        issue: str | None = None,
    ) -> Booking:
        """Cancel a booking; cancelling a cancelled booking returns it unchanged."""
        header = self._header("cancelBooking", worker_id, message_id, issue)
        return render.booking_from_reply(await self._call(header, render.cancel_booking_body(booking_id, reason)))

    async def register_consent(
        self, consent: ConsentRegistration, *, worker_id: str, issue: str | None = None
    ) -> ConsentReceipt:
        """Register a Y100 consent; the same ``consent.request_id`` again returns the same consent."""
        header = self._header("registerConsent", worker_id, consent.request_id, issue)
        return render.consent_from_reply(await self._call(header, render.register_consent_body(consent)))

    async def revoke_consent(
        self,
        consent_id: str,
        *,
        worker_id: str,
        revoked_on: date | None = None,
        message_id: uuid.UUID | None = None,
        issue: str | None = None,
    ) -> ConsentReceipt:
        """Revoke a consent; revoking a revoked consent returns it unchanged."""
        header = self._header("revokeConsent", worker_id, message_id, issue)
        return render.consent_from_reply(await self._call(header, render.revoke_consent_body(consent_id, revoked_on)))

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the one call ------------------------------------------------------------------------------

    def _header(self, operation: str, worker_id: str, message_id: uuid.UUID | None, issue: str | None) -> XRoadHeader:
        service = self.settings.service.identifier(operation)
        return new_header(self._client_id, service, message_id=message_id, user_id=f"FI{worker_id}", issue=issue)

    async def _call(self, header: XRoadHeader, body: dict[str, Any]) -> Any:
        operation = header.service.service_code
        started = time.perf_counter()
        try:
            bound = await self._ready()
            envelope = bound.zeep.create_message(bound.service, operation, _soapheaders=build_header(header), **body)
            message = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
            response = await self._transport.post(bound.address, message, SOAP_HTTP_HEADERS)
            if response.status_code >= 400 and response.status_code != SOAP_FAULT_STATUS:
                response.raise_for_status()
            result = bound.binding.process_reply(bound.zeep, bound.binding.get(operation), response)
            reply = parse_xml(response.content, self._transport, settings=ZEEP_SETTINGS)  # type: ignore[arg-type]
            check_echo(header, parse_header(reply.find(SOAP_HEADER_TAG)))
        except FAILURES as exc:
            error = translate(exc)
            ms = round((time.perf_counter() - started) * 1000)
            # debug: the caller decides what a failure means (a lookup that finds nothing is normal)
            log.debug(
                "kela call failed",
                operation=operation,
                message_id=header.message_id,
                status=error.backend_status,
                ms=ms,
            )
            raise error from None
        ms = round((time.perf_counter() - started) * 1000)
        log.debug("kela call", operation=operation, message_id=header.message_id, ms=ms)
        return result.body

    async def _ready(self) -> _Bound:
        """Fetch and parse the WSDL once; a failed load is not cached, the next call tries again."""
        async with self._lock:
            if self._bound is None:
                response = await self._http.get(self.wsdl_url)
                response.raise_for_status()
                # zeep's annotations are partial (and Document's transport one is wrong): hence the ignores.
                document = Document(io.BytesIO(response.content), self._transport, self.wsdl_url, ZEEP_SETTINGS)  # type: ignore[arg-type]
                client = zeep.AsyncClient(document, transport=self._transport, settings=ZEEP_SETTINGS)  # type: ignore[no-untyped-call]
                binding = client.wsdl.bindings.get(render.BINDING)
                if binding is None:
                    raise MalformedReply("the WSDL does not describe the Kela binding")
                address = self.settings.security_server_url or _soap_address(client, render.BINDING)
                service = client.create_service(render.BINDING, address)  # type: ignore[no-untyped-call]
                self._bound = _Bound(client, service, binding, address)
            return self._bound


def _soap_address(client: Any, binding_name: str) -> str:
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if port.binding.name.text == binding_name and port.binding_options.get("address"):
                return str(port.binding_options["address"])
    raise MalformedReply("the WSDL names no soap:address for the Kela binding")
