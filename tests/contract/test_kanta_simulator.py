"""The Kanta adapter and client against the simulated archive, over real sockets."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lxml import etree
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.kanta.adapter import KantaAdapter, render_work
from adapters.kanta.client import KantaClient
from adapters.kanta.errors import HANDLED, translate
from adapters.kanta.message import build_archive_message
from adapters.kanta.render import RenderedDocument, serialise_content
from adapters.kanta.settings import KantaSettings
from adapters.kanta.signing import development_identity, load_identity, sign_document, verify_document
from adapters.kanta.simulator import create_simulator
from gateway.errors import BackendRejected, BackendThrottled, BackendTimeout, BackendUnavailable, DeliveryError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from tests.support.kanta_outcomes import ADULT_HETU, CHILD_HETU, golden_payloads, initiation_outcome, kanta_payloads
from tests.support.servers import ThreadedServer, free_port

NS = {"v3": "urn:hl7-org:v3", "hl7fi": "urn:hl7finland"}
SETTINGS = KantaSettings(timeout_seconds=2)


@pytest.fixture
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(create_simulator()) as running:
        yield running


@pytest.fixture
async def sim(server: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


@pytest.fixture
async def adapter(server: ThreadedServer) -> AsyncIterator[KantaAdapter]:
    adapter = KantaAdapter(SETTINGS, wsdl_url=f"{server.url}/wsdl")
    yield adapter
    await adapter.aclose()


@pytest.fixture
def payloads(mappings: MappingSet) -> dict[str, dict[str, Any]]:
    return golden_payloads(mappings)


def work(
    payload: dict[str, Any], *, delivery: str | None = None, version: int = 1, previous: dict[str, Any] | None = None
) -> DeliveryWork:
    return DeliveryWork(
        delivery_id=delivery or str(uuid.uuid4()),
        outcome_id="outcome-1",
        action_key=f"kanta:{payload['document']}",
        kind="social_care_document",
        payload=payload,
        attempt=1,
        document_version=version,
        supersedes=str(uuid.uuid4()) if previous else None,
        previous_refs=previous,
    )


async def inject(sim: httpx.AsyncClient, **rule: Any) -> None:
    (await sim.post("/_sim/faults", json=rule)).raise_for_status()


async def archived(sim: httpx.AsyncClient) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = (await sim.get("/_sim/documents")).json()["documents"]
    return documents


async def failure(adapter: KantaAdapter, item: DeliveryWork, mappings: MappingSet) -> DeliveryError:
    with pytest.raises(DeliveryError) as raised:
        await adapter.deliver(item, mappings)
    return raised.value


# -- archiving --------------------------------------------------------------------------------------


async def test_archive_stores_a_new_document(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    result = await adapter.deliver(work(payloads["initiation"]), mappings)
    assert result.backend_status == "AA"
    assert set(result.references) >= {"document_oid", "set_id", "version_number", "structure", "interaction"}
    [stored] = await archived(sim)
    assert stored["document_id"] == result.references["document_oid"]
    assert stored["interaction"] == "RCMR_IN100002FI01"


@pytest.mark.parametrize("name", ["guidance_record", "authority_contact", "need_notice", "child_welfare_notice"])
async def test_archive_accepts_every_structure(
    name: str, adapter: KantaAdapter, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    assert (await adapter.deliver(work(payloads[name]), mappings)).backend_status == "AA"


async def test_duplicate_is_already_delivered(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    item = work(payloads["guidance_record"])
    first = await adapter.deliver(item, mappings)
    again = await adapter.deliver(item, mappings)
    assert again.backend_status == "Client.DocumentAlreadyArchived"
    assert again.references["document_oid"] == first.references["document_oid"]
    assert len(await archived(sim)) == 1


async def test_lost_answer_then_resend_is_already_delivered(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", drop="after", times=1)
    item = work(payloads["need_notice"])
    assert isinstance(await failure(adapter, item, mappings), BackendTimeout)
    assert (await adapter.deliver(item, mappings)).backend_status == "Client.DocumentAlreadyArchived"
    assert len(await archived(sim)) == 1


async def _two_versions(
    adapter: KantaAdapter, payload: dict[str, Any], mappings: MappingSet
) -> tuple[DeliveryResult, DeliveryResult]:
    first = await adapter.deliver(work(payload), mappings)
    second = await adapter.deliver(work(payload, version=2, previous=first.references), mappings)
    return first, second


async def test_new_version_replaces_the_previous_one_with_rplc(
    adapter: KantaAdapter, server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    first, second = await _two_versions(adapter, payloads["child_welfare_notice"], mappings)
    assert second.references["interaction"] == "RCMR_IN100016FI01"
    assert second.references["set_id"] == first.references["document_oid"]
    fetched = await adapter.client.fetch(second.references["document_oid"])
    document = etree.fromstring(fetched.content)
    parent = document.find("v3:relatedDocument[@typeCode='RPLC']/v3:parentDocument/v3:id", NS)
    assert parent is not None and parent.get("root") == first.references["document_oid"]
    earlier = await adapter.client.fetch(first.references["document_oid"])
    assert earlier.summary.replaced_by == second.references["document_oid"]


async def test_new_version_of_an_unknown_document_is_rejected(
    adapter: KantaAdapter, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    previous = {
        "document_oid": "1.2.246.10.32219998.10.900.2.77.1",
        "set_id": "1.2.246.10.32219998.10.900.2.77.1",
        "version_number": 1,
    }
    error = await failure(adapter, work(payloads["initiation"], version=2, previous=previous), mappings)
    assert isinstance(error, BackendRejected)
    assert error.backend_status == "Client.PreviousVersionUnknown"


async def test_fetch_returns_the_archived_document(
    adapter: KantaAdapter, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    item = work(payloads["initiation"])
    result = await adapter.deliver(item, mappings)
    fetched = await adapter.client.fetch(result.references["document_oid"])
    sent = render_work(item, mappings)  # unsigned: the archived one is the same plus its signature
    archived = etree.fromstring(fetched.content)
    verify_document(archived, [load_identity(SETTINGS).cert_pem])
    collection = archived.find("hl7fi:localHeader/hl7fi:signatureCollection", NS)
    assert collection is not None
    collection.getparent().remove(collection)  # type: ignore[union-attr]
    assert etree.canonicalize(etree.ElementTree(archived)) == etree.canonicalize(etree.ElementTree(sent.document))
    assert fetched.summary.structure == "1.2.246.537.6.1506.19001.2023.10.30"


async def test_query_by_hetu_lists_that_clients_documents(
    adapter: KantaAdapter, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    own = kanta_payloads(initiation_outcome(), mappings)
    for payload in (own["initiation"], own["guidance_record"], payloads["child_welfare_notice"]):
        await adapter.deliver(work(payload), mappings)
    found = await adapter.client.query(ADULT_HETU)
    assert sorted(d.structure for d in found) == [
        "1.2.246.537.6.1506.19001.2023.10.30",
        "1.2.246.537.6.1506.19003.2022.1.10",
    ]
    assert len(await adapter.client.query(CHILD_HETU)) == 1


# -- invalid documents: Client faults naming the problem ----------------------------------------------


async def _send_modified(
    server: ThreadedServer, payload: dict[str, Any], mappings: MappingSet, change: Any, *, sign: bool = True
) -> DeliveryError:
    rendered = render_work(work(payload), mappings)
    change(rendered)
    if sign:
        sign_document(rendered.document, load_identity(SETTINGS), signed_at=datetime.now(UTC))
    document = etree.tostring(rendered.document, xml_declaration=True, encoding="UTF-8")
    message = build_archive_message(
        document,
        rendered.metadata,
        message_id=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        sender_oid="1.2.246.10.1",
    )
    client = KantaClient(SETTINGS, wsdl_url=f"{server.url}/wsdl")
    try:
        await client.archive(message, new_version=False)
    except HANDLED as exc:
        outcome = translate(exc, document_oid=rendered.ids.document_oid)
        assert isinstance(outcome, DeliveryError)
        return outcome
    finally:
        await client.aclose()
    raise AssertionError("the archive accepted an invalid document")


def _drop(path: str) -> Any:
    def change(rendered: RenderedDocument) -> None:
        found = rendered.document.find(path, NS)
        assert found is not None
        found.getparent().remove(found)  # type: ignore[union-attr]

    return change


async def test_document_breaking_the_cda_schema_is_a_client_fault_naming_the_element(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    error = await _send_modified(server, payloads["initiation"], mappings, _drop("v3:typeId"))
    assert isinstance(error, BackendRejected)
    assert error.backend_status == "Client.DocumentInvalid"
    assert "/ClinicalDocument" in error.message and "typeId" in error.message


async def test_content_breaking_the_sosmeta_schema_is_a_client_fault_naming_the_field(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    def change(rendered: RenderedDocument) -> None:
        data = json.loads(serialise_content(rendered.content.data))
        del data["merkinta_asian_vireilletulosta"]["palvelutehtava"]
        value = rendered.document.find(".//v3:observationMedia/v3:value", NS)
        assert value is not None
        value.text = base64.b64encode(serialise_content(data)).decode()

    error = await _send_modified(server, payloads["initiation"], mappings, change)
    assert error.backend_status == "Client.ContentInvalid"
    assert "palvelutehtava" in error.message


async def test_unknown_code_system_is_a_client_fault(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    def change(rendered: RenderedDocument) -> None:
        rendered.document.find("hl7fi:localHeader/hl7fi:recordStatus", NS).set("codeSystem", "1.2.3.4.5")  # type: ignore[union-attr]

    error = await _send_modified(server, payloads["guidance_record"], mappings, change)
    assert error.backend_status == "Client.UnknownCodeSystem"
    assert "at /ClinicalDocument/localHeader/recordStatus" in error.message


async def test_invalid_hetu_is_a_client_fault_that_does_not_repeat_it(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    wrong = ADULT_HETU[:-1] + "A"

    def change(rendered: RenderedDocument) -> None:
        rendered.document.find("v3:recordTarget/v3:patientRole/v3:id", NS).set("extension", wrong)  # type: ignore[union-attr]

    error = await _send_modified(server, payloads["initiation"], mappings, change)
    assert error.backend_status == "Client.HeaderInvalid"
    assert "recordTarget" in error.message and wrong not in error.message


async def test_missing_local_header_function_code_is_a_client_fault(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    error = await _send_modified(
        server, payloads["need_notice"], mappings, _drop("hl7fi:localHeader/hl7fi:functionCode")
    )
    # Optional in the HL7 Finland schema; the archive's header rules require the service task.
    assert error.backend_status == "Client.HeaderInvalid"
    assert "functionCode" in error.message


# -- misbehaving archive -------------------------------------------------------------------------------


async def test_injected_503_with_retry_after_is_unavailable_with_retry_after(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", status=503, retry_after=30, message="huoltokatko")
    error = await failure(adapter, work(payloads["initiation"]), mappings)
    assert isinstance(error, BackendUnavailable) and error.retry_after == 30


async def test_injected_429_is_throttled_with_retry_after(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", status=429, retry_after=5)
    error = await failure(adapter, work(payloads["initiation"]), mappings)
    assert isinstance(error, BackendThrottled) and error.retry_after == 5


async def test_injected_server_fault_is_unavailable(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", status=500, fault_code="soap:Server", message="tietokanta ei vastaa")
    error = await failure(adapter, work(payloads["initiation"]), mappings)
    assert isinstance(error, BackendUnavailable) and "tietokanta ei vastaa" in error.message


async def test_dropped_connection_is_a_timeout(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", drop="before")
    assert isinstance(await failure(adapter, work(payloads["initiation"]), mappings), BackendTimeout)
    assert await archived(sim) == []


async def test_slow_archive_is_a_timeout(
    server: ThreadedServer, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", latency=1.5)
    impatient = KantaAdapter(KantaSettings(timeout_seconds=0.3), wsdl_url=f"{server.url}/wsdl")
    try:
        assert isinstance(await failure(impatient, work(payloads["initiation"]), mappings), BackendTimeout)
    finally:
        await impatient.aclose()


async def test_refused_connection_is_unavailable(payloads: dict[str, Any], mappings: MappingSet) -> None:
    nobody = KantaAdapter(SETTINGS, wsdl_url=f"http://127.0.0.1:{free_port()}/wsdl")
    try:
        assert isinstance(await failure(nobody, work(payloads["initiation"]), mappings), BackendUnavailable)
    finally:
        await nobody.aclose()


async def test_malformed_response_is_unavailable(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(
        sim, path="/archive", raw_body="<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Bo"
    )
    error = await failure(adapter, work(payloads["initiation"]), mappings)
    assert isinstance(error, BackendUnavailable) and "Envelope" not in error.message


async def test_oversized_response_is_refused_unread(
    server: ThreadedServer, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", raw_body="<a>" + "x" * 300_000 + "</a>")
    capped = KantaClient(SETTINGS, wsdl_url=f"{server.url}/wsdl", max_response_bytes=128 * 1024)
    small = KantaAdapter(SETTINGS, wsdl_url=f"{server.url}/wsdl", client=capped)
    try:
        error = await failure(small, work(payloads["initiation"]), mappings)
    finally:
        await small.aclose()
    assert isinstance(error, BackendUnavailable) and "size cap" in error.message


async def test_receipt_lacking_the_document_id_is_unavailable(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    receipt = (
        "<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>"
        "<k:ArchiveReceipt xmlns:k='urn:asiakasohjaus:kanta-archive-model:1'><k:acknowledgement>AA</k:acknowledgement>"
        "</k:ArchiveReceipt></soap:Body></soap:Envelope>"
    )
    await inject(sim, path="/archive", raw_body=receipt)
    assert isinstance(await failure(adapter, work(payloads["initiation"]), mappings), BackendUnavailable)


XXE = (
    '<?xml version="1.0"?>'
    '<!DOCTYPE soap:Envelope [<!ENTITY secret SYSTEM "file:///etc/passwd">'
    '<!ENTITY lol "lollollollollollollol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    "<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body>"
    "<k:ArchiveReceipt xmlns:k='urn:asiakasohjaus:kanta-archive-model:1'><k:acknowledgement>&secret;&lol2;"
    "</k:acknowledgement></k:ArchiveReceipt></soap:Body></soap:Envelope>"
)


async def test_xxe_carrying_response_is_rejected_without_expanding_it(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    await inject(sim, path="/archive", raw_body=XXE)
    error = await failure(adapter, work(payloads["initiation"]), mappings)
    assert isinstance(error, BackendRejected)
    assert "root:" not in error.message and "lollol" not in error.message


# -- serving ----------------------------------------------------------------------------------------------


async def test_wsdl_address_includes_the_mount_prefix(payloads: dict[str, Any], mappings: MappingSet) -> None:
    app = Starlette(routes=[Mount("/simulators/kanta", app=create_simulator())])
    with ThreadedServer(app) as mounted:
        async with httpx.AsyncClient() as http:
            wsdl = (await http.get(f"{mounted.url}/simulators/kanta/wsdl")).content
        address = etree.fromstring(wsdl).find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
        assert address is not None and address.get("location") == f"{mounted.url}/simulators/kanta/archive"
        through_mount = KantaAdapter(SETTINGS, wsdl_url=f"{mounted.url}/simulators/kanta/archive?wsdl")
        try:
            assert (await through_mount.deliver(work(payloads["guidance_record"]), mappings)).backend_status == "AA"
        finally:
            await through_mount.aclose()


async def test_simulator_admin_resets_the_archive(
    adapter: KantaAdapter, sim: httpx.AsyncClient, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    result = await adapter.deliver(work(payloads["initiation"]), mappings)
    shown = (await sim.get(f"/_sim/documents/{result.references['document_oid']}")).json()
    assert shown["content"]["merkinta_asian_vireilletulosta"]["vireilletulopaiva"] == "2026-01-15"
    assert (await sim.delete("/_sim/documents")).json() == {"documents": []}
    assert await archived(sim) == []


# -- the published message structure and the signature, as the archive checks them ---------------------


async def _send_message(server: ThreadedServer, message: etree._Element, document_oid: str) -> DeliveryError:
    client = KantaClient(SETTINGS, wsdl_url=f"{server.url}/wsdl")
    try:
        await client.archive(message, new_version=False)
    except HANDLED as exc:
        outcome = translate(exc, document_oid=document_oid)
        assert isinstance(outcome, DeliveryError)
        return outcome
    finally:
        await client.aclose()
    raise AssertionError("the archive accepted the message")


def _signed_message(
    payload: dict[str, Any], mappings: MappingSet, *, identity: Any = None, document: Any = None
) -> Any:
    """A signed document and its message; ``document`` replaces the bytes the message carries."""
    rendered = render_work(
        work(payload), mappings, identity=identity or load_identity(SETTINGS), signed_at=datetime.now(UTC)
    )
    message = build_archive_message(
        rendered.document_bytes if document is None else document(rendered.document_bytes),
        rendered.metadata,
        message_id=str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        sender_oid=mappings.organisation.oid,
        settings=SETTINGS,
    )
    return rendered, message


@pytest.mark.parametrize(
    ("path", "attribute", "value", "named"),
    [
        ("v3:controlActProcess", "moodCode", "EVN", "controlActProcess"),
        ("v3:acceptAckCode", "code", "AL", "acceptAckCode"),
        ("v3:versionCode", "code", "V3-2005", "versionCode"),
        ("v3:receiver/v3:device/v3:id", "root", "1.2.246.556.18007.2", "receiver/device/id"),
        ("v3:profileId", "root", "1.2.3", "profileId"),
        ("v3:controlActProcess/v3:code", "code", "RCMR_TE000910UV01", "controlActProcess/code"),
        ("v3:controlActProcess/v3:reasonCode", "code", "PP2", "controlActProcess/reasonCode"),
        (
            "v3:controlActProcess/v3:subject/v3:clinicalDocument/v3:completionCode",
            "code",
            "IN",
            "clinicalDocument/completionCode",
        ),
    ],
)
async def test_a_message_off_the_published_structure_is_a_client_fault_naming_the_element(
    server: ThreadedServer,
    payloads: dict[str, Any],
    mappings: MappingSet,
    path: str,
    attribute: str,
    value: str,
    named: str,
) -> None:
    rendered, message = _signed_message(payloads["initiation"], mappings)
    element = message.find(path, NS)
    assert element is not None
    element.set(attribute, value)
    error = await _send_message(server, message, rendered.ids.document_oid)
    assert isinstance(error, BackendRejected)
    assert error.backend_status == "Client.MessageInvalid"
    assert named in error.message


async def test_a_message_without_its_profile_ids_is_a_client_fault(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    rendered, message = _signed_message(payloads["initiation"], mappings)
    for profile in message.findall("v3:profileId", NS):
        message.remove(profile)
    error = await _send_message(server, message, rendered.ids.document_oid)
    assert error.backend_status == "Client.MessageInvalid" and "profileId" in error.message


async def test_a_bare_base64_document_is_not_decodable(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    rendered, message = _signed_message(payloads["initiation"], mappings)
    text = message.find("v3:controlActProcess/v3:subject/v3:clinicalDocument/v3:text", NS)
    assert text is not None
    text.set("mediaType", "text/xml")
    text.text = base64.b64encode(rendered.document_bytes).decode()
    error = await _send_message(server, message, rendered.ids.document_oid)
    assert error.backend_status == "Client.DocumentNotDecodable" and "multipart/related" in error.message


async def test_a_document_tampered_with_after_signing_is_refused(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet, sim: httpx.AsyncClient
) -> None:
    def tamper(data: bytes) -> bytes:
        start = data.index(b"<caption>") + len(b"<caption>")
        return data[:start] + bytes([data[start] ^ 0x20]) + data[start + 1 :]  # one character changed

    rendered, message = _signed_message(payloads["initiation"], mappings, document=tamper)
    error = await _send_message(server, message, rendered.ids.document_oid)
    assert isinstance(error, BackendRejected)
    assert error.backend_status == "Client.SignatureInvalid"
    assert "signatureCollection" in error.message and "changed after signing" in error.message
    assert ADULT_HETU not in error.message
    assert await archived(sim) == []


async def test_an_unsigned_document_is_refused(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    error = await _send_modified(server, payloads["initiation"], mappings, lambda rendered: None, sign=False)
    assert error.backend_status == "Client.SignatureInvalid"


async def test_a_document_signed_with_an_untrusted_key_is_refused(
    server: ThreadedServer, payloads: dict[str, Any], mappings: MappingSet, tmp_path: Any
) -> None:
    stranger = development_identity(tmp_path)
    rendered, message = _signed_message(payloads["initiation"], mappings, identity=stranger)
    error = await _send_message(server, message, rendered.ids.document_oid)
    assert error.backend_status == "Client.SignatureInvalid" and "trusted" in error.message


async def test_the_archived_message_carries_the_published_structure(
    adapter: KantaAdapter, payloads: dict[str, Any], mappings: MappingSet, sim: httpx.AsyncClient
) -> None:
    result = await adapter.deliver(work(payloads["initiation"]), mappings)
    assert len(result.references["document_oid"]) <= 64
    listed = await archived(sim)
    assert [d["document_id"] for d in listed] == [result.references["document_oid"]]
