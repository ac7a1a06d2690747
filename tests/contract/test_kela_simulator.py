"""Kela client and adapter ↔ the Kela simulator, over real sockets (modelled X-Road service)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.kela.adapter import KelaAdapter
from adapters.kela.client import KelaClient
from adapters.kela.errors import KelaFault, NoFreeSlot, SlotTaken, UnknownReference
from adapters.kela.render import BookingRequest, ConsentRegistration, Person, SlotQuery
from adapters.kela.settings import KelaSettings, XRoadServiceSettings
from adapters.kela.simulator import create_simulator
from adapters.kela.xroad import ID_NS, SOAP_ENV, XRD_NS, ClientId, ServiceId, XRoadHeader, build_header
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.errors import (
    BackendRejected,
    BackendThrottled,
    BackendTimeout,
    BackendUnavailable,
    DeliveryError,
    PermanentDeliveryError,
    RenderError,
)
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryWork
from gateway.plan import payloads
from gateway.plan.consents import consent_actions, facts_from_outcome
from tests.support.servers import ThreadedServer, free_port

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # Friday 10:00 in Helsinki
SETTINGS = KelaSettings(timeout_seconds=2, connect_timeout_seconds=1)
WORKER = "w-17"
HETU, OTHER_HETU, BAD_HETU = "131052-308T", "010594Y9032", "131052-308X"
QUERY = SlotQuery("KELA-ASUMISTUKI", "fi", date(2026, 11, 23), date(2026, 11, 27), municipality="179")
NS = "urn:asiakasohjaus-gateway:kela:v1"


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(create_simulator(clock=lambda: NOW)) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_simulator(server: ThreadedServer) -> None:
    for method, path in (("POST", "reset"), ("DELETE", "faults"), ("DELETE", "requests")):
        httpx.request(method, f"{server.url}/_sim/{path}").raise_for_status()


@pytest.fixture
async def client(server: ThreadedServer) -> AsyncIterator[KelaClient]:
    kela = KelaClient(SETTINGS, wsdl_url=f"{server.url}/wsdl")
    yield kela
    await kela.aclose()


@pytest.fixture
async def adapter(server: ThreadedServer) -> AsyncIterator[KelaAdapter]:
    kela = KelaAdapter(SETTINGS, wsdl_url=f"{server.url}/wsdl")
    yield kela
    await kela.aclose()


def admin(server: ThreadedServer, path: str, body: dict[str, Any] | None = None) -> Any:
    method = "GET" if body is None else "POST"
    response = httpx.request(method, f"{server.url}/_sim/{path}", json=body)
    response.raise_for_status()
    return response.json()


def inject(server: ThreadedServer, **rule: Any) -> None:
    httpx.post(f"{server.url}/_sim/faults", json={"method": "POST", **rule}).raise_for_status()


def booking_request(hetu: str = HETU, request_id: uuid.UUID | None = None) -> BookingRequest:
    return BookingRequest(
        request_id or uuid.uuid4(), "KELA-ASUMISTUKI", "fi", hetu, "+358401234567", municipality="179"
    )


def consent(form: str = "signed_y100", categories: tuple[str, ...] = ("identity_and_contact",)) -> ConsentRegistration:
    return ConsentRegistration(
        request_id=uuid.uuid4(),
        consenter=Person(HETU, "Maija", "Meikäläinen"),
        parties=("kela", "social_care"),
        purpose="Asumistuen hakeminen",
        data_categories=categories,
        special_categories=("health",),
        valid_from=date(2026, 11, 20),
        given_as=form,
    )


async def failure(call: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await call
    return caught.value


# -- the service description ---------------------------------------------------------------------


def soap_address(wsdl: bytes) -> str | None:
    element = etree.fromstring(wsdl).find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    return element.get("location") if element is not None else None


def test_wsdl_names_the_url_it_was_served_at(server: ThreadedServer) -> None:
    assert soap_address(httpx.get(f"{server.url}/?wsdl").content) == f"{server.url}/"
    assert soap_address(httpx.get(f"{server.url}/wsdl").content) == f"{server.url}/"


async def test_mounted_under_a_prefix_the_wsdl_address_keeps_the_prefix() -> None:
    app = Starlette(routes=[Mount("/simulators/kela", app=create_simulator(clock=lambda: NOW))])
    with ThreadedServer(app) as mounted:
        base = f"{mounted.url}/simulators/kela"
        kela = KelaClient(SETTINGS, wsdl_url=f"{base}/wsdl")
        slots = await kela.find_slots(QUERY, worker_id=WORKER)
        await kela.aclose()
        async with httpx.AsyncClient() as http:
            wsdl = (await http.get(f"{base}/wsdl")).content
    assert soap_address(wsdl) == f"{base}/"
    assert slots


# -- slots and bookings ----------------------------------------------------------------------------


async def test_find_slots_lists_free_slots_in_the_window_earliest_first(client: KelaClient) -> None:
    slots = await client.find_slots(QUERY, worker_id=WORKER)

    assert 0 < len(slots) <= 20
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert all(QUERY.earliest <= s.start.date() <= QUERY.latest and s.topic == QUERY.topic for s in slots)


async def test_book_returns_the_booking_and_kela_holds_it(client: KelaClient, server: ThreadedServer) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    request = booking_request()

    booking = await client.book(request, slot_id=slot.slot_id, worker_id=WORKER)

    assert (booking.status, booking.slot_id, booking.start, booking.request_id) == (
        "booked",
        slot.slot_id,
        slot.start,
        str(request.request_id),
    )
    [held] = admin(server, "bookings")["bookings"]
    assert (held["booking_id"], held["client_hetu"], held["user_id"]) == (booking.booking_id, HETU, f"FI{WORKER}")


async def test_get_booking_returns_the_booking(client: KelaClient) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    booking = await client.book(booking_request(), slot_id=slot.slot_id, worker_id=WORKER)

    assert await client.get_booking(booking.booking_id, worker_id=WORKER) == booking


async def test_find_booking_by_request_id(client: KelaClient) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    request = booking_request()
    booking = await client.book(request, slot_id=slot.slot_id, worker_id=WORKER)

    assert await client.find_booking(request.request_id, worker_id=WORKER) == booking
    assert await client.find_booking(uuid.uuid4(), worker_id=WORKER) is None


async def test_cancel_booking_frees_the_slot(client: KelaClient) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    booking = await client.book(booking_request(), slot_id=slot.slot_id, worker_id=WORKER)
    assert slot.slot_id not in {s.slot_id for s in await client.find_slots(QUERY, worker_id=WORKER)}

    cancelled = await client.cancel_booking(booking.booking_id, worker_id=WORKER, reason="client cancelled")

    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert slot.slot_id in {s.slot_id for s in await client.find_slots(QUERY, worker_id=WORKER)}


async def test_cancel_an_unknown_booking_is_an_unknown_reference(client: KelaClient) -> None:
    error = await failure(client.cancel_booking("KB-NOSUCH", worker_id=WORKER))

    assert type(error) is UnknownReference and error.backend_status == KelaFault.BOOKING_NOT_FOUND


async def test_same_request_id_twice_returns_the_same_booking(client: KelaClient, server: ThreadedServer) -> None:
    first, second = (await client.find_slots(QUERY, worker_id=WORKER))[:2]
    request = booking_request()

    booking = await client.book(request, slot_id=first.slot_id, worker_id=WORKER)
    again = await client.book(request, slot_id=second.slot_id, worker_id=WORKER)

    assert again == booking
    assert len(admin(server, "bookings")["bookings"]) == 1


async def test_request_id_reused_for_another_client_is_rejected(client: KelaClient) -> None:
    first, second = (await client.find_slots(QUERY, worker_id=WORKER))[:2]
    request = booking_request()
    await client.book(request, slot_id=first.slot_id, worker_id=WORKER)

    reused = booking_request(OTHER_HETU, request_id=request.request_id)
    error = await failure(client.book(reused, slot_id=second.slot_id, worker_id=WORKER))

    assert type(error) is BackendRejected and error.backend_status == KelaFault.REQUEST_ID_CONFLICT


async def test_lost_answer_then_retry_books_once(client: KelaClient, server: ThreadedServer) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    inject(server, body_contains=slot.slot_id, drop="after", times=1)
    request = booking_request()

    lost = await failure(client.book(request, slot_id=slot.slot_id, worker_id=WORKER))
    booking = await client.book(request, slot_id=slot.slot_id, worker_id=WORKER)

    assert type(lost) is BackendTimeout
    assert [b["booking_id"] for b in admin(server, "bookings")["bookings"]] == [booking.booking_id]


async def test_slot_taken_meanwhile_is_slot_taken(client: KelaClient) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    await client.book(booking_request(), slot_id=slot.slot_id, worker_id=WORKER)

    error = await failure(client.book(booking_request(OTHER_HETU), slot_id=slot.slot_id, worker_id=WORKER))

    assert type(error) is SlotTaken and error.backend_status == KelaFault.SLOT_TAKEN


async def test_a_slot_the_service_does_not_offer_is_rejected(client: KelaClient) -> None:
    forged = "KELA-ASUMISTUKI.fi.179.20261224T1000"  # Christmas Eve

    error = await failure(client.book(booking_request(), slot_id=forged, worker_id=WORKER))

    assert type(error) is BackendRejected and error.backend_status == KelaFault.INVALID_SLOT


async def test_unknown_topic_is_a_client_fault(client: KelaClient) -> None:
    error = await failure(client.find_slots(replace(QUERY, topic="KELA-VEROTUS"), worker_id=WORKER))

    assert type(error) is BackendRejected and error.backend_status == KelaFault.UNKNOWN_TOPIC


async def test_invalid_hetu_is_a_client_fault_that_does_not_quote_it(client: KelaClient) -> None:
    slot = (await client.find_slots(QUERY, worker_id=WORKER))[0]

    error = await failure(client.book(booking_request(BAD_HETU), slot_id=slot.slot_id, worker_id=WORKER))

    assert type(error) is BackendRejected and error.backend_status == KelaFault.INVALID_HETU
    assert BAD_HETU not in error.message


# -- the X-Road header -------------------------------------------------------------------------------

HEADER = XRoadHeader(
    ClientId("FI-DEV", "MUN", "3221999-8", "asiakasohjaus"),
    ServiceId("FI-DEV", "GOV", "0246246-0", "kela-ajanvaraus", "findSlots", "v1"),
    "0f8e2a7c-55c6-4a0b-8d0e-3e9d1c2b4a61",
    user_id=f"FI{WORKER}",
    issue="outcome-1",
)
Mutation = Callable[[list[etree._Element]], None]


def raw_find_slots(server: ThreadedServer, mutate: Mutation | None = None) -> etree._Element:
    """POST a findSlots envelope built by hand; answers the parsed reply envelope."""
    elements = build_header(HEADER)
    if mutate is not None:
        mutate(elements)
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope")
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Header").extend(elements)
    operation = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body"), f"{{{NS}}}findSlots")
    for name, value in (
        ("topic", "KELA-ELAKE"),
        ("language", "fi"),
        ("earliest", "2026-11-23"),
        ("latest", "2026-11-24"),
    ):
        etree.SubElement(operation, f"{{{NS}}}{name}").text = value
    response = httpx.post(
        f"{server.url}/", content=etree.tostring(envelope), headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    return etree.fromstring(response.content)


def drop(name: str) -> Mutation:
    return lambda elements: elements.remove(next(e for e in elements if etree.QName(e).localname == name))


def set_part(field: str, part: str, value: str) -> Mutation:
    def mutate(elements: list[etree._Element]) -> None:
        element = next(e for e in elements if etree.QName(e).localname == field)
        target = element.find(f"{{{ID_NS}}}{part}") if part else element
        assert target is not None
        target.text = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (drop("client"), "Client.MissingHeaderField", "xrd:client"),
        (drop("service"), "Client.MissingHeaderField", "xrd:service"),
        (drop("id"), "Client.MissingHeaderField", "xrd:id"),
        (drop("protocolVersion"), "Client.MissingHeaderField", "xrd:protocolVersion"),
        (drop("userId"), "Client.MissingHeaderField", "xrd:userId"),
        (set_part("client", "xRoadInstance", "EE"), "Client.InvalidClientIdentifier", "xrd:client"),
        (set_part("client", "memberClass", "PRIV"), "Client.InvalidClientIdentifier", "xrd:client"),
        (set_part("service", "memberClass", "BUSINESS"), "Client.InvalidServiceIdentifier", "xrd:service"),
        (set_part("service", "memberCode", "1234567-1"), "Client.InvalidServiceIdentifier", "xrd:service"),
        (set_part("service", "serviceCode", "book"), "Client.InconsistentHeaders", "xrd:service"),
        (set_part("service", "xRoadInstance", "FI"), "Client.InvalidClientIdentifier", "xrd:client"),
        (set_part("id", "", "message-1"), "Client.InvalidHeaderField", "xrd:id"),
        (set_part("protocolVersion", "", "3.1"), "Client.InvalidProtocolVersion", "xrd:protocolVersion"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_invalid_x_road_header_is_a_client_fault_naming_the_field(
    server: ThreadedServer, mutate: Mutation, code: str, field: str
) -> None:
    reply = raw_find_slots(server, mutate)

    fault = reply.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == code
    assert field in (fault.findtext("faultstring") or "")


def test_answer_echoes_every_request_header_field_in_order(server: ThreadedServer) -> None:
    reply = raw_find_slots(server)

    echoed = reply.find(f"{{{SOAP_ENV}}}Header")
    assert echoed is not None
    sent = [etree.tostring(e, method="c14n", exclusive=True) for e in build_header(HEADER)]
    assert [etree.tostring(e, method="c14n", exclusive=True) for e in echoed] == sent
    assert all(etree.QName(e).namespace == XRD_NS for e in echoed)


async def test_client_naming_another_service_provider_is_rejected(server: ThreadedServer) -> None:
    settings = SETTINGS.model_copy(update={"service": XRoadServiceSettings(member_code="1234567-1")})
    kela = KelaClient(settings, wsdl_url=f"{server.url}/wsdl")

    error = await failure(kela.find_slots(QUERY, worker_id=WORKER))
    await kela.aclose()

    assert type(error) is BackendRejected and error.backend_status == "Client.InvalidServiceIdentifier"


# -- consents ------------------------------------------------------------------------------------------


async def test_register_consent_returns_kela_consent_id(client: KelaClient, server: ThreadedServer) -> None:
    receipt = await client.register_consent(consent(), worker_id=WORKER)

    assert receipt.consent_id.startswith("Y100-") and receipt.status == "active" and not receipt.single_use
    [held] = admin(server, "consents")["consents"]
    assert (held["consent_id"], held["consenter_hetu"], held["special_categories"]) == (
        receipt.consent_id,
        HETU,
        ["health"],
    )


async def test_register_consent_twice_with_one_request_id_registers_once(
    client: KelaClient, server: ThreadedServer
) -> None:
    registration = consent()

    first = await client.register_consent(registration, worker_id=WORKER)
    again = await client.register_consent(registration, worker_id=WORKER)

    assert again.consent_id == first.consent_id
    assert len(admin(server, "consents")["consents"]) == 1


async def test_revoke_consent_marks_it_revoked(client: KelaClient) -> None:
    receipt = await client.register_consent(consent(), worker_id=WORKER)

    revoked = await client.revoke_consent(receipt.consent_id, worker_id=WORKER)

    assert revoked.status == "revoked" and revoked.revoked_at is not None


async def test_revoke_an_unknown_consent_is_an_unknown_reference(client: KelaClient) -> None:
    assert type(await failure(client.revoke_consent("Y100-NOSUCH", worker_id=WORKER))) is UnknownReference


async def test_verbal_consent_covers_one_transaction(client: KelaClient) -> None:
    receipt = await client.register_consent(consent(form="verbal"), worker_id=WORKER)

    assert receipt.single_use and receipt.valid_until == receipt.valid_from


async def test_health_data_among_ordinary_categories_is_rejected(client: KelaClient) -> None:
    error = await failure(client.register_consent(consent(categories=("health",)), worker_id=WORKER))

    assert type(error) is BackendRejected and error.backend_status == KelaFault.INVALID_REQUEST


# -- faults the transport meets ---------------------------------------------------------------------


async def test_injected_503_with_retry_after_is_unavailable_with_the_hint(
    client: KelaClient, server: ThreadedServer
) -> None:
    inject(server, status=503, retry_after=30, times=1)

    error = await failure(client.find_slots(QUERY, worker_id=WORKER))

    assert type(error) is BackendUnavailable and error.retry_after == 30


async def test_injected_429_is_throttled(client: KelaClient, server: ThreadedServer) -> None:
    inject(server, status=429, retry_after=5, times=1)

    error = await failure(client.find_slots(QUERY, worker_id=WORKER))

    assert type(error) is BackendThrottled and error.retry_after == 5


async def test_injected_server_fault_is_unavailable(client: KelaClient, server: ThreadedServer) -> None:
    inject(server, status=500, message="database down", times=1)

    error = await failure(client.find_slots(QUERY, worker_id=WORKER))

    assert type(error) is BackendUnavailable and error.backend_status == KelaFault.SERVICE_FAILED


async def test_dropped_connection_is_a_timeout(client: KelaClient, server: ThreadedServer) -> None:
    inject(server, drop="before", times=1)

    assert type(await failure(client.find_slots(QUERY, worker_id=WORKER))) is BackendTimeout


async def test_slow_answer_is_a_timeout(server: ThreadedServer) -> None:
    impatient = KelaClient(SETTINGS.model_copy(update={"timeout_seconds": 0.3}), wsdl_url=f"{server.url}/wsdl")
    inject(server, latency=1.0, times=1)

    error = await failure(impatient.find_slots(QUERY, worker_id=WORKER))
    await impatient.aclose()

    assert type(error) is BackendTimeout


async def test_refused_connection_is_unavailable() -> None:
    nobody = KelaClient(SETTINGS, wsdl_url=f"http://127.0.0.1:{free_port()}/wsdl")

    error = await failure(nobody.find_slots(QUERY, worker_id=WORKER))
    await nobody.aclose()

    assert type(error) is BackendUnavailable


# -- the adapter --------------------------------------------------------------------------------------


def outcome(
    *,
    topic: str = "KELA-ASUMISTUKI",
    window: tuple[str, str] = ("2026-11-23", "2026-11-27"),
    phone: str | None = "+358401234567",
) -> OutcomeV1:
    return OutcomeV1.model_validate(
        {
            "source": {"system": "crm", "outcome_id": "o-1"},
            "unit": "OHJAUS",
            "contact": {"received_at": "2026-11-20T09:15:00+02:00", "channel": "phone", "contacted_by": "client"},
            "client": {
                "hetu": HETU,
                "given_names": "Maija",
                "family_name": "Meikäläinen",
                "municipality": "179",
                "phone": phone,
            },
            "reasons": {"main": "KELA-ETUUS"},
            "guidance": {
                "started_at": "2026-11-20T09:15:00+02:00",
                "ended_at": "2026-11-20T09:40:00+02:00",
                "worker": {"id": WORKER, "profession": "social_instructor"},
            },
            "results": [
                {
                    "kind": "kela_booking_request",
                    "topic": topic,
                    "language": "fi",
                    "window": {"earliest": window[0], "latest": window[1]},
                }
            ],
            "consents": [
                {
                    "form": "signed_y100",
                    "parties": ["kela", "social_care"],
                    "purpose": "Asumistuen hakeminen",
                    "data_categories": ["identity_and_contact", "financial", "health"],
                    "form_reference": "Y100-arkisto-42",
                }
            ],
        }
    )


def booking_work(attempt: int = 1, delivery_id: str | None = None, **kwargs: Any) -> DeliveryWork:
    source = outcome(**kwargs)
    request = source.results[0]
    assert request.kind == "kela_booking_request"
    payload = payloads.kela_booking(source, request)
    return DeliveryWork(delivery_id or str(uuid.uuid4()), "o-1", "kela:booking", "kela_booking", payload, attempt)


def consent_work() -> DeliveryWork:
    source = outcome()
    facts = facts_from_outcome(source, source.consents[0], date(2026, 11, 20))
    [action] = [a for a in consent_actions(facts, suffix="1") if a.backend == "kela"]
    return DeliveryWork(str(uuid.uuid4()), "o-1", action.key, action.kind, action.payload, 1)


def revocation_work(registration: DeliveryWork, refs: dict[str, Any] | None) -> DeliveryWork:
    payload = {**registration.payload, "status": "inactive", "revocation_reason": "the client withdrew it"}
    return DeliveryWork(
        str(uuid.uuid4()),
        "o-1",
        f"{registration.action_key}:revocation",
        "kela_consent_revocation",
        payload,
        1,
        document_version=2,
        supersedes=registration.delivery_id,
        previous_refs=refs,
    )


def superseding(work: DeliveryWork, previous: DeliveryWork, refs: dict[str, Any]) -> DeliveryWork:
    return replace(work, supersedes=previous.delivery_id, previous_refs=refs, document_version=2)


async def test_deliver_booking_books_the_first_free_slot_in_the_window(
    adapter: KelaAdapter, client: KelaClient, mappings: MappingSet, server: ThreadedServer
) -> None:
    first = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    work = booking_work()

    result = await adapter.deliver(work, mappings)

    refs = result.references
    assert (refs["slot_id"], refs["slot_start"], refs["topic"], refs["request_id"]) == (
        first.slot_id,
        first.start.isoformat(),
        "KELA-ASUMISTUKI",
        work.delivery_id,
    )
    assert result.backend_status == "booked"
    [held] = admin(server, "bookings")["bookings"]
    assert (held["booking_id"], held["client_hetu"], held["phone"]) == (refs["booking_id"], HETU, "+358401234567")


async def test_deliver_booking_again_returns_the_same_booking(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    work = booking_work()

    first = await adapter.deliver(work, mappings)
    again = await adapter.deliver(replace(work, attempt=2), mappings)

    assert again.references == first.references
    assert again.message.startswith("Kela already had this booking")
    assert len(admin(server, "bookings")["bookings"]) == 1


async def test_deliver_booking_after_a_lost_answer_books_once(
    adapter: KelaAdapter, client: KelaClient, mappings: MappingSet, server: ThreadedServer
) -> None:
    first = (await client.find_slots(QUERY, worker_id=WORKER))[0]
    inject(server, body_contains=first.slot_id, drop="after", times=1)
    work = booking_work()

    lost = await failure(adapter.deliver(work, mappings))
    result = await adapter.deliver(replace(work, attempt=2), mappings)

    assert type(lost) is BackendTimeout
    assert [b["booking_id"] for b in admin(server, "bookings")["bookings"]] == [result.references["booking_id"]]
    assert result.references["slot_id"] == first.slot_id


async def test_deliver_booking_tries_the_next_slot_when_one_is_taken_meanwhile(
    adapter: KelaAdapter, client: KelaClient, mappings: MappingSet, server: ThreadedServer
) -> None:
    first, second = (await client.find_slots(QUERY, worker_id=WORKER))[:2]
    admin(server, "contention", {"times": 1})

    result = await adapter.deliver(booking_work(), mappings)

    assert result.references["slot_id"] == second.slot_id != first.slot_id


async def test_deliver_booking_gives_up_for_now_when_slots_keep_being_taken(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    admin(server, "contention", {"times": SETTINGS.slot_attempts})

    error = await failure(adapter.deliver(booking_work(), mappings))

    assert type(error) is SlotTaken
    assert admin(server, "bookings")["bookings"] == []


async def test_deliver_booking_with_no_free_slot_in_the_window_is_no_free_slot(
    adapter: KelaAdapter, mappings: MappingSet
) -> None:
    work = booking_work(window=("2026-12-24", "2026-12-27"))  # Christmas Eve to Sunday

    error = await failure(adapter.deliver(work, mappings))

    assert type(error) is NoFreeSlot and isinstance(error, PermanentDeliveryError)
    assert "2026-12-24" in error.message and HETU not in error.message


async def test_deliver_booking_without_a_phone_number_is_a_render_error(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    error = await failure(adapter.deliver(booking_work(phone=None), mappings))

    assert type(error) is RenderError
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{server.url}/_sim/requests")).json()["requests"] == []


async def test_deliver_superseding_booking_that_still_fits_keeps_it(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    original = booking_work()
    refs = (await adapter.deliver(original, mappings)).references

    result = await adapter.deliver(superseding(booking_work(), original, refs), mappings)

    assert result.references["booking_id"] == refs["booking_id"]
    assert len(admin(server, "bookings")["bookings"]) == 1


async def test_deliver_superseding_booking_for_another_topic_replaces_it(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    original = booking_work()
    refs = (await adapter.deliver(original, mappings)).references

    result = await adapter.deliver(superseding(booking_work(topic="KELA-ELAKE"), original, refs), mappings)

    assert result.references["replaced_booking_id"] == refs["booking_id"]
    statuses = {b["booking_id"]: b["status"] for b in admin(server, "bookings")["bookings"]}
    assert statuses == {refs["booking_id"]: "cancelled", result.references["booking_id"]: "booked"}


async def test_deliver_superseding_booking_with_a_new_phone_number_replaces_it(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    original = booking_work()
    refs = (await adapter.deliver(original, mappings)).references

    result = await adapter.deliver(superseding(booking_work(phone="+358501234567"), original, refs), mappings)

    assert result.references["replaced_booking_id"] == refs["booking_id"]
    [current] = [b for b in admin(server, "bookings")["bookings"] if b["status"] == "booked"]
    assert current["phone"] == "+358501234567"


async def test_deliver_consent_registers_it_with_kela(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    result = await adapter.deliver(consent_work(), mappings)

    [held] = admin(server, "consents")["consents"]
    assert result.references["consent_id"] == held["consent_id"]
    assert (held["data_categories"], held["special_categories"]) == (["identity_and_contact", "financial"], ["health"])
    assert (held["form_reference"], held["user_id"]) == ("Y100-arkisto-42", f"FI{WORKER}")


async def test_deliver_superseding_consent_revokes_the_earlier_one(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    original = consent_work()
    refs = (await adapter.deliver(original, mappings)).references

    result = await adapter.deliver(superseding(consent_work(), original, refs), mappings)

    assert result.references["revoked_consent_id"] == refs["consent_id"]
    statuses = {c["consent_id"]: c["status"] for c in admin(server, "consents")["consents"]}
    assert statuses == {refs["consent_id"]: "revoked", result.references["consent_id"]: "active"}


async def test_deliver_revocation_withdraws_the_registered_consent_at_kela(
    adapter: KelaAdapter, mappings: MappingSet, server: ThreadedServer
) -> None:
    registration = consent_work()
    refs = (await adapter.deliver(registration, mappings)).references

    result = await adapter.deliver(revocation_work(registration, refs), mappings)

    assert (result.references["consent_id"], result.backend_status) == (refs["consent_id"], "revoked")
    [held] = admin(server, "consents")["consents"]
    assert held["status"] == "revoked"


async def test_deliver_revocation_without_a_registered_consent_is_a_render_error(
    adapter: KelaAdapter, mappings: MappingSet
) -> None:
    error = await failure(adapter.deliver(revocation_work(consent_work(), None), mappings))

    assert type(error) is RenderError


async def test_deliver_of_another_kind_is_a_render_error(adapter: KelaAdapter, mappings: MappingSet) -> None:
    work = replace(consent_work(), kind="patient_record")

    assert type(await failure(adapter.deliver(work, mappings))) is RenderError
