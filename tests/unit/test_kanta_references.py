"""Kanta output held against the published references (tests/fixtures/kanta-rcmr/, see its README).

* every document the planner makes of every shipped example (examples/outcomes/) validates, signed,
  against the HL7 Finland CDA schema, unchanged, and so do the real reference documents;
* our messages match the reference messages element by element where they must: the envelope's
  element names and order, moodCode, acceptAckCode, versionCode, profile ids, the clinicalDocument's
  elements in the reference's order, the multipart/related body;
* the signature sits where the references put it, holds what they hold, and verifies; the reference
  document's own signature verifies with the same code;
* document OIDs are at most 64 characters and the same on every resend.
"""

from __future__ import annotations

import email
import email.message
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.kanta import signing, validation
from adapters.kanta import structures as cs
from adapters.kanta.adapter import render_work
from adapters.kanta.message import build_archive_message
from adapters.kanta.render import MAX_OID_LENGTH, RenderedDocument, document_oid
from adapters.kanta.settings import KantaSettings
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.errors import RenderError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryWork
from tests.support.kanta_outcomes import kanta_payloads

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "tests" / "fixtures" / "kanta-rcmr"
EXAMPLES = sorted((ROOT / "examples" / "outcomes").glob("*.json"))
V3 = "urn:hl7-org:v3"
HL7FI = "urn:hl7finland"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"v3": V3, "hl7fi": HL7FI, "ds": DS}
SIGNED_AT = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
INTERACTIONS = ("RCMR_IN100002FI01", "RCMR_IN100016FI01")


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> signing.SigningIdentity:
    return signing.development_identity(tmp_path_factory.mktemp("signing"))


def reference(name: str) -> etree._Element:
    return etree.parse(str(REFERENCES / name), parser=validation.safe_parser()).getroot()


def work(payload: dict[str, Any], *, delivery: str, version: int = 1, previous: Any = None) -> DeliveryWork:
    return DeliveryWork(
        delivery_id=delivery,
        outcome_id=str(uuid.uuid4()),
        action_key=f"kanta:{payload['document']}",
        kind="social_care_document",
        payload=payload,
        document_version=version,
        previous_refs=previous,
        attempt=1,
    )


def example_documents(mappings: MappingSet) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in EXAMPLES:
        outcome = OutcomeV1.model_validate(json.loads(path.read_text(encoding="utf-8")))
        for document, payload in kanta_payloads(outcome, mappings).items():
            found.append((path.stem, document, payload))
    return found


def signed(
    payload: dict[str, Any], mappings: MappingSet, identity: signing.SigningIdentity, **kw: Any
) -> RenderedDocument:
    return render_work(
        work(payload, delivery=kw.pop("delivery", str(uuid.uuid4())), **kw),
        mappings,
        identity=identity,
        signed_at=SIGNED_AT,
    )


def message_of(rendered: RenderedDocument, mappings: MappingSet) -> etree._Element:
    return build_archive_message(
        rendered.document_bytes,
        rendered.metadata,
        message_id=str(uuid.uuid4()),
        created_at=SIGNED_AT,
        sender_oid=mappings.organisation.oid,
        settings=KantaSettings(),
    )


def names(element: etree._Element | None) -> list[str]:
    assert element is not None
    return [etree.QName(child).localname for child in element if isinstance(child.tag, str)]


# -- the schema: the references and every example --------------------------------------------------------


@pytest.mark.parametrize("name", [f"{i}-cda.xml" for i in INTERACTIONS])
def test_the_reference_documents_are_valid_against_the_copied_hl7fi_schema(name: str) -> None:
    assert validation.validate_document(reference(name)) == []


@pytest.mark.parametrize("name", [f"{i}.xml" for i in INTERACTIONS])
def test_the_reference_messages_are_valid_against_the_modelled_message_schema(name: str) -> None:
    assert validation.validate_xml(validation.message_schema(), reference(name)) == []


def test_the_examples_reach_every_document_kind(mappings: MappingSet) -> None:
    assert {document for _, document, _ in example_documents(mappings)} >= {
        "initiation",
        "guidance_record",
        "authority_contact",
        "child_welfare_notice",
    }


def test_every_document_of_every_example_is_valid_and_signed(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    documents = example_documents(mappings)
    assert documents
    for example, document, payload in documents:
        rendered = signed(payload, mappings, identity)
        assert validation.validate_document(rendered.document) == [], (example, document)
        reread = validation.parse_xml(rendered.document_bytes)
        assert validation.validate_document(reread) == [], (example, document)
        signing.verify_document(reread, [identity.cert_pem])
        assert len(rendered.ids.document_oid) <= MAX_OID_LENGTH


# -- the document header as the references carry it ------------------------------------------------------


def test_header_carries_kantas_confidentiality_and_the_register_keeper(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    (_, _, payload), *_ = example_documents(mappings)
    document = signed(payload, mappings, identity).document
    code = document.find("v3:confidentialityCode", NS)
    ref_code = reference("RCMR_IN100002FI01-cda.xml").find("v3:confidentialityCode", NS)
    assert code is not None and ref_code is not None
    assert code.get("codeSystem") == ref_code.get("codeSystem") == cs.CONFIDENTIALITY
    custodian = document.find("v3:custodian/v3:assignedCustodian/v3:representedCustodianOrganization/v3:id", NS)
    assert custodian is not None and custodian.get("root") == mappings.registers.social_care.keeper_oid


def test_local_header_fields_are_in_the_references_order(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    (_, _, payload), *_ = example_documents(mappings)
    ours = names(signed(payload, mappings, identity).document.find("hl7fi:localHeader", NS))
    theirs = names(reference("RCMR_IN100002FI01-cda.xml").find("hl7fi:localHeader", NS))
    assert ours == [
        "fileFormat",
        "softwareSupport",
        "functionCode",
        "recordStatus",
        "signatureCollection",
        "custodianTypeCode",
    ]
    assert [n for n in theirs if n in ours] == ours  # same fields, same order
    document = signed(payload, mappings, identity).document
    for field, system in (
        ("fileFormat", cs.FILE_FORMAT),
        ("recordStatus", cs.RECORD_STATUS),
        ("custodianTypeCode", cs.CUSTODIAN_TYPE),
    ):
        mine = document.find(f"hl7fi:localHeader/hl7fi:{field}", NS)
        real = reference("RCMR_IN100002FI01-cda.xml").find(f"hl7fi:localHeader/hl7fi:{field}", NS)
        assert mine is not None and real is not None
        assert (
            (mine.get("codeSystem"), mine.get("code"))
            == (real.get("codeSystem"), real.get("code"))
            == (
                system,
                real.get("code"),
            )
        )


# -- the signature ------------------------------------------------------------------------------------------


def signature_shape(document: etree._Element) -> dict[str, Any]:
    signature = document.find("hl7fi:localHeader/hl7fi:signatureCollection/hl7fi:signature", NS)
    assert signature is not None
    ds = signature.find("ds:Signature", NS)
    assert ds is not None
    description = signature.find("hl7fi:signatureDescription", NS)
    assert description is not None
    return {
        "children": names(signature),
        "description": (description.get("codeSystem"), description.get("code")),
        "signed_info": names(ds.find("ds:SignedInfo", NS)),
        "algorithms": [str(e.get("Algorithm")) for e in ds.iterfind("ds:SignedInfo//*[@Algorithm]", NS)],
        "key_info": names(ds.find("ds:KeyInfo/ds:X509Data", NS)),
        "references": [
            "timestamp" if ref.get("URI", "").startswith("#sigt_") else "body"
            for ref in ds.iterfind("ds:SignedInfo/ds:Reference", NS)
        ],
    }


def test_signature_has_the_references_shape(mappings: MappingSet, identity: signing.SigningIdentity) -> None:
    (_, _, payload), *_ = example_documents(mappings)
    ours = signed(payload, mappings, identity).document
    assert signature_shape(ours) == signature_shape(reference("RCMR_IN100002FI01-cda.xml"))
    body = ours.find("v3:component/v3:structuredBody", NS)
    oid = ours.find("v3:id", NS)
    assert body is not None and oid is not None and body.get("ID") == f"OID{oid.get('root')}.0"


def test_the_reference_documents_own_signature_verifies_with_our_verifier() -> None:
    document = reference("RCMR_IN100002FI01-cda.xml")
    cert = document.findtext(".//ds:X509Certificate", namespaces=NS)
    assert cert
    pem = "-----BEGIN CERTIFICATE-----\n" + "".join(cert.split()) + "\n-----END CERTIFICATE-----\n"
    stamp = document.findtext(".//hl7fi:signatureTimestamp", namespaces=NS)
    assert stamp
    # Its test certificate expired in 2021: checked at the document's own signing time.
    signing.verify_document(document, [pem.encode("ascii")], at=datetime.fromisoformat(stamp))


def test_a_changed_character_in_the_body_breaks_the_signature(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    (_, _, payload), *_ = example_documents(mappings)
    data = signed(payload, mappings, identity).document_bytes
    start = data.index(b"<caption>") + len(b"<caption>")
    tampered = data[:start] + bytes([data[start] ^ 0x20]) + data[start + 1 :]  # one letter's case
    with pytest.raises(signing.SignatureRefused, match="changed after signing"):
        signing.verify_document(validation.parse_xml(tampered), [identity.cert_pem])


def test_another_key_is_not_trusted(mappings: MappingSet, identity: signing.SigningIdentity, tmp_path: Path) -> None:
    (_, _, payload), *_ = example_documents(mappings)
    stranger = signing.development_identity(tmp_path)
    document = validation.parse_xml(signed(payload, mappings, stranger).document_bytes)
    with pytest.raises(signing.SignatureRefused, match="trusted certificate"):
        signing.verify_document(document, [identity.cert_pem])


def test_the_development_identity_is_made_once_and_reused(tmp_path: Path) -> None:
    first = signing.development_identity(tmp_path)
    assert signing.development_identity(tmp_path) == first
    assert b"PRIVATE KEY" in first.key_pem and b"CERTIFICATE" in first.cert_pem


# -- the message against the reference messages -----------------------------------------------------------


def first_and_new_version(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> tuple[etree._Element, etree._Element]:
    payload = next(p for _, d, p in example_documents(mappings) if d == "initiation")
    first = signed(payload, mappings, identity)
    second = signed(payload, mappings, identity, version=2, previous=first.references())
    return message_of(first, mappings), message_of(second, mappings)


@pytest.mark.parametrize("index", [0, 1])
def test_message_envelope_matches_the_reference_element_by_element(
    index: int, mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    ours = first_and_new_version(mappings, identity)[index]
    theirs = reference(f"{INTERACTIONS[index]}.xml")
    assert etree.QName(ours).localname == etree.QName(theirs).localname
    assert names(ours) == names(theirs)
    for path in ("v3:controlActProcess", "v3:receiver/v3:device", "v3:sender/v3:device"):
        assert names(ours.find(path, NS)) == names(theirs.find(path, NS)), path
    for path, attribute in (
        ("v3:controlActProcess", "moodCode"),
        ("v3:acceptAckCode", "code"),
        ("v3:versionCode", "code"),
        ("v3:processingModeCode", "code"),
        ("v3:controlActProcess/v3:code", "code"),
        ("v3:controlActProcess/v3:code", "codeSystem"),
        ("v3:controlActProcess/v3:reasonCode", "code"),
        ("v3:controlActProcess/v3:reasonCode", "codeSystem"),
        ("v3:controlActProcess/v3:authorOrPerformer", "typeCode"),
        ("v3:interactionId", "root"),
    ):
        mine, real = ours.find(path, NS), theirs.find(path, NS)
        assert mine is not None and real is not None, path
        assert mine.get(attribute) == real.get(attribute), (path, attribute)
    assert ours.findall("v3:profileId", NS) and len(ours.findall("v3:profileId", NS)) == len(
        theirs.findall("v3:profileId", NS)
    )
    receiver = ours.find("v3:receiver/v3:device/v3:id", NS)
    assert receiver is not None and receiver.get("root") == KantaSettings().archive_device_oid


@pytest.mark.parametrize("index", [0, 1])
def test_clinical_document_carries_the_references_elements_in_their_order(
    index: int, mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    path = "v3:controlActProcess/v3:subject/v3:clinicalDocument"
    ours = names(first_and_new_version(mappings, identity)[index].find(path, NS))
    theirs = names(reference(f"{INTERACTIONS[index]}.xml").find(path, NS))
    # Every element the reference carries, in its order (a new version: reasonCode and relatedDocument too);
    # how many times a repeatable one occurs (the new-version reference has two authors) may differ.
    assert collapsed(ours) == collapsed(theirs)
    for fixed, attribute, value in (
        ("statusCode", "code", "completed"),
        ("completionCode", "code", "LA"),
        ("storageCode", "code", "AC"),
        ("languageCode", "code", "fi"),
    ):
        element = first_and_new_version(mappings, identity)[index].find(f"{path}/v3:{fixed}", NS)
        real = reference(f"{INTERACTIONS[index]}.xml").find(f"{path}/v3:{fixed}", NS)
        assert element is not None and real is not None
        assert element.get(attribute) == real.get(attribute) == value


def collapsed(sequence: list[str]) -> list[str]:
    return [name for index, name in enumerate(sequence) if index == 0 or sequence[index - 1] != name]


def mime_of(message: etree._Element) -> email.message.Message:
    text = message.find("v3:controlActProcess/v3:subject/v3:clinicalDocument/v3:text", NS)
    assert text is not None and text.get("mediaType") == "multipart/related"
    return email.message_from_string((text.text or "").strip())


def test_document_travels_in_a_multipart_related_body_as_in_the_references(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    ours = first_and_new_version(mappings, identity)[0]
    theirs = reference("RCMR_IN100016FI01.xml")  # the reference whose headers are well-formed MIME
    mine, real = mime_of(ours), mime_of(theirs)
    assert sorted(mine.keys()) == sorted(real.keys()) == ["Content-Type", "MIME-Version", "Message-ID"]
    assert mine.get_content_type() == real.get_content_type() == "multipart/related"
    (our_part,), (their_part,) = mine.get_payload(), real.get_payload()
    assert isinstance(our_part, email.message.Message) and isinstance(their_part, email.message.Message)
    assert list(our_part.keys()) == list(their_part.keys())
    for header in ("Content-Type", "Content-Transfer-Encoding"):
        assert our_part[header] == their_part[header]
    document_id = ours.find("v3:controlActProcess/v3:subject/v3:clinicalDocument/v3:id", NS)
    assert document_id is not None and our_part["Content-ID"] == f"<{document_id.get('root')}>"
    decoded = our_part.get_payload(decode=True)
    assert isinstance(decoded, bytes)
    assert validation.validate_document(validation.parse_xml(decoded)) == []


# -- document OIDs ------------------------------------------------------------------------------------------


def test_document_oids_fit_in_64_characters_and_are_stable_across_resends(
    mappings: MappingSet, identity: signing.SigningIdentity
) -> None:
    root = mappings.gateway.document_oid_root
    for _ in range(200):
        delivery = str(uuid.uuid4())
        for version in (1, 2, 10, 999):
            oid = document_oid(root, delivery, version)
            assert len(oid) <= 64
            assert oid == document_oid(root, delivery, version)
            assert all(arc == "0" or not arc.startswith("0") for arc in oid.split("."))
    payload = next(p for _, d, p in example_documents(mappings) if d == "initiation")
    delivery = str(uuid.uuid4())
    resends = {signed(payload, mappings, identity, delivery=delivery).ids.document_oid for _ in range(3)}
    assert len(resends) == 1


def test_a_root_too_long_for_64_character_oids_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="root is too long"):
        document_oid("1.2.246.10.32219998.10.900.2.1.2.3.4.5.6.7.8.9.10.11.12", str(uuid.uuid4()), 1)
