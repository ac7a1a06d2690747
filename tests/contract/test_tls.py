"""Transport security towards the back-ends, over real TLS: a test CA, the simulators served by uvicorn.

Kanta demands a client certificate (mutual TLS): uvicorn is started with ``ssl_cert_reqs=CERT_REQUIRED``
and the test CA as the only one it accepts client certificates from. Lifecare is served over plain
server-authenticated TLS. The last tests feed both SOAP clients a WSDL that imports a local file.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import trustme
import zeep.exceptions as zx

from adapters.kanta.adapter import KantaAdapter
from adapters.kanta.client import KantaClient
from adapters.kanta.settings import KantaSettings
from adapters.kanta.simulator import create_simulator as create_kanta_simulator
from adapters.kela.client import KelaClient
from adapters.kela.render import SlotQuery
from adapters.kela.settings import KelaSettings
from adapters.kela.simulator import create_simulator as create_kela_simulator
from adapters.lifecare.adapter import LifecareAdapter
from adapters.lifecare.settings import LifecareSettings
from adapters.lifecare.simulator import create_simulator as create_lifecare_simulator
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.errors import DeliveryError, TransientDeliveryError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryWork
from gateway.plan.rules import plan_outcome
from tests.support.harness import example, future_window
from tests.support.kanta_outcomes import golden_payloads
from tests.support.servers import ServerTls, ThreadedServer

ADAPTERS = Path(__file__).parents[2] / "adapters"


@dataclass(frozen=True)
class Pki:
    """A test CA's files: the CA, the simulators' server certificate and the gateway's client certificate."""

    ca: str
    server: ServerTls
    client_cert: str
    client_key: str


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.private_key_pem.write_to_path(str(root / "server.key"))
    (root / "server.pem").write_bytes(b"".join(blob.bytes() for blob in server.cert_chain_pems))
    client = ca.issue_cert("gateway.asiakasohjaus.test")
    client.private_key_pem.write_to_path(str(root / "client.key"))
    (root / "client.pem").write_bytes(b"".join(blob.bytes() for blob in client.cert_chain_pems))
    return Pki(
        ca=str(root / "ca.pem"),
        server=ServerTls(certfile=str(root / "server.pem"), keyfile=str(root / "server.key")),
        client_cert=str(root / "client.pem"),
        client_key=str(root / "client.key"),
    )


# -- Kanta: mutual TLS ---------------------------------------------------------------------------------


@pytest.fixture
def kanta_server(pki: Pki) -> Iterator[ThreadedServer]:
    tls = ServerTls(certfile=pki.server.certfile, keyfile=pki.server.keyfile, client_ca=pki.ca)
    with ThreadedServer(create_kanta_simulator(), tls=tls) as running:
        yield running


@pytest.fixture
async def kanta_admin(pki: Pki, kanta_server: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    """The simulator's own endpoints, reached with the client certificate (the server demands one)."""
    context = ssl.create_default_context(cafile=pki.ca)
    context.load_cert_chain(pki.client_cert, keyfile=pki.client_key)
    async with httpx.AsyncClient(base_url=kanta_server.url, verify=context) as client:
        yield client


def kanta_work(mappings: MappingSet) -> DeliveryWork:
    payload = golden_payloads(mappings)["initiation"]
    return DeliveryWork(
        delivery_id=str(uuid.uuid4()),
        outcome_id="outcome-1",
        action_key=f"kanta:{payload['document']}",
        kind="social_care_document",
        payload=payload,
        attempt=1,
    )


async def archived(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = (await admin.get("/_sim/documents")).json()["documents"]
    return documents


async def test_kanta_with_the_client_certificate_archives_over_mutual_tls(
    pki: Pki, kanta_server: ThreadedServer, kanta_admin: httpx.AsyncClient, mappings: MappingSet
) -> None:
    settings = KantaSettings(
        timeout_seconds=5, ca_bundle=pki.ca, client_cert=pki.client_cert, client_key=pki.client_key
    )
    adapter = KantaAdapter(settings, wsdl_url=f"{kanta_server.url}/wsdl")
    try:
        result = await adapter.deliver(kanta_work(mappings), mappings)
    finally:
        await adapter.aclose()
    assert result.backend_status == "AA"
    [stored] = await archived(kanta_admin)
    assert stored["document_id"] == result.references["document_oid"]


async def test_kanta_without_the_client_certificate_is_refused_as_a_transient_failure(
    pki: Pki, kanta_server: ThreadedServer, kanta_admin: httpx.AsyncClient, mappings: MappingSet
) -> None:
    # The archive refuses the handshake; from our side that is a connection that failed or dropped,
    # which the adapter classes as transient: the delivery stays in the outbox and goes through once
    # the certificate is configured (or renewed), instead of being given up on.
    adapter = KantaAdapter(KantaSettings(timeout_seconds=5, ca_bundle=pki.ca), wsdl_url=f"{kanta_server.url}/wsdl")
    try:
        with pytest.raises(DeliveryError) as refused:
            await adapter.deliver(kanta_work(mappings), mappings)
    finally:
        await adapter.aclose()
    assert isinstance(refused.value, TransientDeliveryError)
    assert await archived(kanta_admin) == []


async def test_kanta_refuses_a_server_certificate_from_an_unknown_ca_by_default(
    pki: Pki, kanta_server: ThreadedServer, kanta_admin: httpx.AsyncClient
) -> None:
    # The client certificate is one the archive accepts: only our check of the server's can fail.
    settings = KantaSettings(timeout_seconds=5, client_cert=pki.client_cert, client_key=pki.client_key)
    client = KantaClient(settings, wsdl_url=f"{kanta_server.url}/wsdl")
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.query("010101-123N")
    finally:
        await client.aclose()
    assert await archived(kanta_admin) == []


# -- Kela: the X-Road security server's internal TLS, with the client certificate ------------------------


def coming_week_query() -> SlotQuery:
    window = future_window()
    return SlotQuery("KELA-ELAKE", "fi", date.fromisoformat(window["earliest"]), date.fromisoformat(window["latest"]))


async def test_kela_with_the_client_certificate_finds_slots_over_mutual_tls(pki: Pki) -> None:
    tls = ServerTls(certfile=pki.server.certfile, keyfile=pki.server.keyfile, client_ca=pki.ca)
    settings = KelaSettings(timeout_seconds=5, ca_bundle=pki.ca, client_cert=pki.client_cert, client_key=pki.client_key)
    with ThreadedServer(create_kela_simulator(), tls=tls) as server:
        client = KelaClient(settings, wsdl_url=f"{server.url}/wsdl")
        try:
            slots = await client.find_slots(coming_week_query(), worker_id="T-1")
        finally:
            await client.aclose()
    assert slots


async def test_kela_without_the_client_certificate_is_refused_by_a_security_server_that_demands_one(pki: Pki) -> None:
    tls = ServerTls(certfile=pki.server.certfile, keyfile=pki.server.keyfile, client_ca=pki.ca)
    with ThreadedServer(create_kela_simulator(), tls=tls) as server:
        client = KelaClient(KelaSettings(timeout_seconds=5, ca_bundle=pki.ca), wsdl_url=f"{server.url}/wsdl")
        try:
            with pytest.raises(TransientDeliveryError):
                await client.find_slots(coming_week_query(), worker_id="T-1")
        finally:
            await client.aclose()


# -- Lifecare: server-authenticated TLS ----------------------------------------------------------------


@pytest.fixture
def lifecare_tls_server(pki: Pki) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_lifecare_simulator(), tls=pki.server) as running:
        yield running


def lifecare_work(mappings: MappingSet) -> DeliveryWork:
    outcome = OutcomeV1.model_validate(example("05"))
    action = next(a for a in plan_outcome(outcome, mappings).actions if a.backend == "lifecare")
    return DeliveryWork(str(uuid.uuid4()), "outcome-1", action.key, action.kind, action.payload, attempt=1)


async def test_lifecare_over_tls_with_the_configured_ca_delivers(
    pki: Pki, lifecare_tls_server: ThreadedServer, mappings: MappingSet
) -> None:
    settings = LifecareSettings(timeout_seconds=5, ca_bundle=pki.ca)
    adapter = LifecareAdapter(settings, base_url=lifecare_tls_server.url)
    try:
        result = await adapter.deliver(lifecare_work(mappings), mappings)
    finally:
        await adapter.aclose()
    assert "Task/0" in result.references["resources"]


async def test_lifecare_refuses_a_server_certificate_from_an_unknown_ca_by_default(
    lifecare_tls_server: ThreadedServer, mappings: MappingSet
) -> None:
    adapter = LifecareAdapter(LifecareSettings(timeout_seconds=5), base_url=lifecare_tls_server.url)
    try:
        with pytest.raises(DeliveryError) as refused:
            await adapter.deliver(lifecare_work(mappings), mappings)
    finally:
        await adapter.aclose()
    # the translated error names no cause (``from None``); the exception it replaced does
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value.__context__)


def test_lifecare_has_no_setting_that_turns_verification_off() -> None:
    with pytest.raises(ValueError, match="verify_tls"):
        LifecareSettings.model_validate({"verify_tls": False})


# -- WSDL imports of local files -----------------------------------------------------------------------

STOLEN_SCHEMA = b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:stolen"/>'
STOLEN_WSDL = b'<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:stolen"/>'


def hostile(wsdl: bytes, kind: str, target: Path) -> bytes:
    """``wsdl`` importing ``target`` (a valid document: were it read, loading would go on) by a file:// URL."""
    location = target.as_uri().encode()
    if kind == "xsd:import":
        target.write_bytes(STOLEN_SCHEMA)
        schema = (
            b'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:hostile">'
            b'<xsd:import namespace="urn:stolen" schemaLocation="' + location + b'"/></xsd:schema>'
        )
        return wsdl.replace(b"<wsdl:types>", b"<wsdl:types>" + schema, 1)
    target.write_bytes(STOLEN_WSDL)
    wsdl_import = b'<wsdl:import namespace="urn:stolen" location="' + location + b'"/>'
    return wsdl.replace(b"<wsdl:types>", wsdl_import + b"<wsdl:types>", 1)


@pytest.mark.parametrize("kind", ["xsd:import", "wsdl:import"])
async def test_the_kanta_client_refuses_a_wsdl_that_imports_a_local_file(kind: str, tmp_path: Path) -> None:
    wsdl = (ADAPTERS / "kanta" / "wsdl" / "archive.wsdl").read_bytes()
    target = tmp_path / "stolen.xml"
    client = KantaClient(KantaSettings(), wsdl_url="https://archive.test/wsdl")
    try:
        with respx.mock(assert_all_called=True) as router:
            router.get("https://archive.test/wsdl").respond(200, content=hostile(wsdl, kind, target))
            with pytest.raises(zx.ExternalReferenceForbidden, match=r"stolen\.xml"):
                await client.query("010101-123N")
    finally:
        await client.aclose()


@pytest.mark.parametrize("kind", ["xsd:import", "wsdl:import"])
async def test_the_kela_client_refuses_a_wsdl_that_imports_a_local_file(kind: str, tmp_path: Path) -> None:
    wsdl = (ADAPTERS / "kela" / "wsdl" / "kela-v1.wsdl").read_bytes()
    target = tmp_path / "stolen.xml"
    settings = KelaSettings(security_server_url="https://security-server.test/")
    client = KelaClient(settings, wsdl_url="https://kela.test/wsdl")
    query = SlotQuery("KELA-ELAKE", "fi", date(2026, 11, 23), date(2026, 11, 27))
    try:
        with respx.mock(assert_all_called=True) as router:
            router.get("https://kela.test/wsdl").respond(200, content=hostile(wsdl, kind, target))
            with pytest.raises(DeliveryError) as refused:
                await client.find_slots(query, worker_id="w-1")
    finally:
        await client.aclose()
    assert refused.value.backend_status == "forbidden-xml"
