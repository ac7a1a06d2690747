"""The Kela client: the modelled booking and consent service over X-Road, with zeep on httpx. I/O only.

One call is three steps, as in zeep's own binding, with the two pure halves reused:
build the envelope (zeep from the WSDL, our X-Road header from :mod:`adapters.kela.xroad`) →
POST it (httpx) → parse the reply (zeep raises on a Fault) and check that it echoes our header.
Every failure leaves through :func:`adapters.kela.errors.translate`, so callers see only
``gateway.errors`` classes. Used by the outbox adapter and directly by the gateway's booking API.

The WSDL is fetched asynchronously on first use (never with a blocking GET on the event loop:
the embedded default serves the simulator from the same loop) and must be self-contained: the
transport loads nothing, so an import of any scheme (``file://`` and bare paths included) is refused;
zeep parses it and every reply with DTDs, entities and external references forbidden. Every
answer body (and the WSDL) is read as a stream and never past ``max_response_bytes``; an error
status other than a SOAP Fault's 500 is judged by its status and its body is not read at all.
Message bodies carry hetus and names, so nothing here logs them; zeep's own transport logging is
bypassed. Each operation takes the ``personal`` values of the delivery it serves, so that what
Kela says about the person is never repeated (:func:`adapters.kela.errors.translate`).
TLS is always verified, against ``ca_bundle`` when set, else the system's CA store.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Iterable
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
from adapters.kela.errors import FAILURES, ResponseTooLarge, UnknownReference, translate
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
from adapters.tls import tls_context
from gateway.logs import get_logger

__all__ = ["Booking", "BookingRequest", "ConsentReceipt", "ConsentRegistration", "KelaClient", "Slot", "SlotQuery"]

log = get_logger("adapters.kela")

ZEEP_SETTINGS = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
SOAP_HTTP_HEADERS = {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": '""'}
SOAP_FAULT_STATUS = 500
"""SOAP 1.1 over HTTP sends a Fault with 500; any other error status is judged by the status (and Retry-After)."""
_HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class _Transport(AsyncTransport):
    """zeep's AsyncTransport over our httpx client, narrowed: it loads nothing, logs no bodies, reads capped."""

    def __init__(self, http: httpx.AsyncClient, *, max_response_bytes: int) -> None:
        # The sync ``wsdl_client`` zeep would create is never used (``load`` refuses), so none is made.
        super().__init__(client=http, wsdl_client=http)  # type: ignore[no-untyped-call]
        self.max_response_bytes = max_response_bytes

    def load(self, url: str) -> bytes:
        raise ExternalReferenceForbidden(url)  # type: ignore[no-untyped-call]

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Response:
        return await self.read_capped(self.client.build_request("POST", address, content=message, headers=headers))

    async def read_capped(self, request: httpx.Request) -> httpx.Response:
        """The answer to ``request``, read completely but never past the cap (as Kanta's client reads)."""
        response = await self.client.send(request, stream=True)
        body = bytearray()
        try:
            if response.status_code < 400 or response.status_code == SOAP_FAULT_STATUS:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_response_bytes:
                    raise ResponseTooLarge(self.max_response_bytes)
                async for chunk in response.aiter_bytes():  # decoded: the cap holds for compressed answers too
                    body.extend(chunk)
                    if len(body) > self.max_response_bytes:
                        raise ResponseTooLarge(self.max_response_bytes)
        finally:
            await response.aclose()
        headers = httpx.Headers([(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS])
        return httpx.Response(response.status_code, headers=headers, content=bytes(body), request=request)


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
        self._http = http or httpx.AsyncClient(
            timeout=timeout,
            verify=tls_context(
                "kela", ca_bundle=settings.ca_bundle, client_cert=settings.client_cert, client_key=settings.client_key
            ),
        )
        self._transport = _Transport(self._http, max_response_bytes=settings.max_response_bytes)
        self._client_id = settings.client.identifier()
        self._bound: _Bound | None = None
        self._lock = asyncio.Lock()

    # -- operations ------------------------------------------------------------------------------

    async def find_slots(
        self,
        query: SlotQuery,
        *,
        worker_id: str,
        message_id: uuid.UUID | None = None,
        issue: str | None = None,
        personal: Iterable[str] = (),
    ) -> list[Slot]:
        """Free phone slots for the query, earliest first (at most what Kela lists in one answer)."""
        header = self._header("findSlots", worker_id, message_id, issue)
        return render.slots_from_reply(await self._call(header, render.find_slots_body(query), personal))

    async def book(
        self,
        request: BookingRequest,
        *,
        slot_id: str,
        worker_id: str,
        issue: str | None = None,
        personal: Iterable[str] = (),
    ) -> Booking:
        """Book ``slot_id``; the same ``request.request_id`` again returns the same booking."""
        header = self._header("book", worker_id, request.request_id, issue)
        return render.booking_from_reply(await self._call(header, render.book_body(request, slot_id), personal))

    async def get_booking(
        self,
        booking_id: str,
        *,
        worker_id: str,
        message_id: uuid.UUID | None = None,
        issue: str | None = None,
        personal: Iterable[str] = (),
    ) -> Booking:
        header = self._header("getBooking", worker_id, message_id, issue)
        body = render.get_booking_body(booking_id=booking_id)
        return render.booking_from_reply(await self._call(header, body, personal))

    async def find_booking(
        self,
        request_id: uuid.UUID,
        *,
        worker_id: str,
        message_id: uuid.UUID | None = None,
        issue: str | None = None,
        personal: Iterable[str] = (),
    ) -> Booking | None:
        """The booking an earlier request with ``request_id`` made, or None if Kela has none."""
        header = self._header("getBooking", worker_id, message_id, issue)
        try:
            body = await self._call(header, render.get_booking_body(request_id=request_id), personal)
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
        personal: Iterable[str] = (),
    ) -> Booking:
        """Cancel a booking; cancelling a cancelled booking returns it unchanged."""
        header = self._header("cancelBooking", worker_id, message_id, issue)
        body = render.cancel_booking_body(booking_id, reason)
        return render.booking_from_reply(await self._call(header, body, personal))

    async def register_consent(
        self,
        consent: ConsentRegistration,
        *,
        worker_id: str,
        issue: str | None = None,
        personal: Iterable[str] = (),
    ) -> ConsentReceipt:
        """Register a Y100 consent; the same ``consent.request_id`` again returns the same consent."""
        header = self._header("registerConsent", worker_id, consent.request_id, issue)
        return render.consent_from_reply(await self._call(header, render.register_consent_body(consent), personal))

    async def revoke_consent(
        self,
        consent_id: str,
        *,
        worker_id: str,
        revoked_on: date | None = None,
        message_id: uuid.UUID | None = None,
        issue: str | None = None,
        personal: Iterable[str] = (),
    ) -> ConsentReceipt:
        """Revoke a consent; revoking a revoked consent returns it unchanged."""
        header = self._header("revokeConsent", worker_id, message_id, issue)
        body = render.revoke_consent_body(consent_id, revoked_on)
        return render.consent_from_reply(await self._call(header, body, personal))

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the one call ------------------------------------------------------------------------------

    def _header(self, operation: str, worker_id: str, message_id: uuid.UUID | None, issue: str | None) -> XRoadHeader:
        service = self.settings.service.identifier(operation)
        return new_header(self._client_id, service, message_id=message_id, user_id=f"FI{worker_id}", issue=issue)

    async def _call(self, header: XRoadHeader, body: dict[str, Any], personal: Iterable[str]) -> Any:
        operation = header.service.service_code
        started = time.perf_counter()
        try:
            bound = await self._ready()
            envelope = bound.zeep.create_message(bound.service, operation, _soapheaders=build_header(header), **body)
            message = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
            response = await self._transport.post(bound.address, message, SOAP_HTTP_HEADERS)
            if response.status_code >= 400 and response.status_code != SOAP_FAULT_STATUS:
                response.raise_for_status()
            result = _process_reply(bound, operation, response)
            reply = parse_xml(response.content, self._transport, settings=ZEEP_SETTINGS)  # type: ignore[arg-type]
            check_echo(header, parse_header(reply.find(SOAP_HEADER_TAG)))
        except FAILURES as exc:
            error = translate(exc, personal)
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
                response = await self._transport.read_capped(self._http.build_request("GET", self.wsdl_url))
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


def _process_reply(bound: _Bound, operation: str, response: httpx.Response) -> Any:
    """zeep's reading of the answer; an answer whose SOAP Body holds no element is a MalformedReply.

    zeep takes the answer as the Body's first child and fails with a bare IndexError when there is
    none (a 200 with ``<SOAP-ENV:Body/>``): caught here, at the one call, to reach the translation.
    """
    try:
        return bound.binding.process_reply(bound.zeep, bound.binding.get(operation), response)
    except IndexError:
        raise MalformedReply("the answer's SOAP Body holds no answer") from None


def _soap_address(client: Any, binding_name: str) -> str:
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if port.binding.name.text == binding_name and port.binding_options.get("address"):
                return str(port.binding_options["address"])
    raise MalformedReply("the WSDL names no soap:address for the Kela binding")
