"""Kanta rendering: the five structures as CDA R2 documents, checked against both schemas and golden files.

The golden documents live in tests/contract/golden/kanta/ (``<document>.xml`` the CDA document,
``<document>.json`` its structured content). After an intended change, regenerate them with
``KANTA_UPDATE_GOLDEN=1 pytest tests/unit/test_kanta_render.py`` and review the diff.
"""

from __future__ import annotations

import base64
import email
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.kanta import validation
from adapters.kanta.adapter import render_work
from adapters.kanta.message import build_archive_message
from adapters.kanta.render import RenderedDocument, document_ids, render_document
from adapters.kanta.structures import STRUCTURES, structure_for
from gateway.errors import RenderError, TransientDeliveryError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryWork
from tests.support.kanta_outcomes import (
    ADULT_HETU,
    CHILD_HETU,
    DELIVERY_IDS,
    YOUNG_ADULT_HETU,
    authority_outcome,
    golden_payloads,
    initiation_outcome,
    kanta_payloads,
)

GOLDEN = Path(__file__).resolve().parent.parent / "contract" / "golden" / "kanta"
NS = {"v3": "urn:hl7-org:v3", "hl7fi": "urn:hl7finland"}
DOCUMENTS = sorted(STRUCTURES)


@pytest.fixture(scope="module")
def payloads(mappings: MappingSet) -> dict[str, dict[str, Any]]:
    return golden_payloads(mappings)


def render(payload: dict[str, Any], mappings: MappingSet, **ids: Any) -> RenderedDocument:
    oid = structure_for(payload["document"]).oid
    document = ids.pop("delivery_id", DELIVERY_IDS[payload["document"]])
    made = document_ids(
        mappings.gateway.document_oid_root,
        delivery_id=document,
        version=ids.get("version", 1),
        previous_refs=ids.get("previous"),
    )
    return render_document(payload, mappings, ids=made, schema=validation.sosmeta_schema(oid))


def structured(document: etree._Element) -> Any:
    """The JSON as the archive sees it: decoded from the document, not taken from the renderer."""
    value = document.find(".//v3:observationMedia/v3:value", NS)
    assert value is not None and value.get("mediaType") == "application/json"
    return json.loads(base64.b64decode(value.text or ""))


def pointer(data: Any, path: str) -> Any:
    for part in path.strip("/").split("/"):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def xpath_value(document: etree._Element, path: str) -> str:
    found = document.xpath(path, namespaces=NS)
    assert isinstance(found, list) and len(found) == 1, f"{path} found {found!r}"
    return str(found[0])


def canonical(xml: bytes) -> str:
    """C14N 2.0 with insignificant whitespace stripped: pretty-printed golden files compare equal."""
    return str(etree.canonicalize(etree.ElementTree(etree.fromstring(xml)), strip_text=True))


# -- golden documents, both schemas -------------------------------------------------------------------


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_matches_its_golden_file(name: str, payloads: dict[str, Any], mappings: MappingSet) -> None:
    rendered = render(payloads[name], mappings)
    golden_xml, golden_json = GOLDEN / f"{name}.xml", GOLDEN / f"{name}.json"
    if os.environ.get("KANTA_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(parents=True, exist_ok=True)
        golden_xml.write_bytes(
            etree.tostring(rendered.document, pretty_print=True, xml_declaration=True, encoding="UTF-8")
        )
        golden_json.write_text(json.dumps(rendered.content.data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert canonical(rendered.document_bytes) == canonical(golden_xml.read_bytes())
    assert structured(rendered.document) == json.loads(golden_json.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_is_valid_cda_r2_with_the_finnish_local_header(
    name: str, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    assert validation.validate_document(render(payloads[name], mappings).document) == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_structured_content_is_valid_against_its_sosmeta_schema(
    name: str, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    document = render(payloads[name], mappings).document
    structure = xpath_value(document, "/v3:ClinicalDocument/v3:templateId/@root")
    assert structure == STRUCTURES[name].oid
    assert validation.validate_content(structure, structured(document)) == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_without_the_finnish_extensions_the_document_is_plain_normative_cda_r2(
    name: str, payloads: dict[str, Any], mappings: MappingSet
) -> None:
    document = render(payloads[name], mappings).document
    header = document.find("hl7fi:localHeader", NS)
    body = document.find("v3:component/v3:structuredBody", NS)
    assert header is not None and body is not None
    document.remove(header)
    del body.attrib["ID"]  # HL7 Finland's schema adds ID to structuredBody (the signature references it)
    assert validation.validate_xml(validation.normative_cda_schema(), document) == []


# The HL7 Finland schema as published (tests/fixtures/kanta-rcmr/README.md says where from), byte for
# byte: the documents are validated against it unchanged.
HL7FI_SCHEMA_SHA256 = {
    "CDA.xsd": "eedb18548c905534233252144dbc86d5aa64e22ff77aa8d25cc78e8d2a31afac",
    "CDA_Fi.xsd": "2d22f2decdf2e254449ef052eef8189b24ad6d2f8c67cbc898ee91695f321640",
    "NarrativeBlock.xsd": "8f02813bd43e0e1f383543dc22da1880ab8d93868116ee511888241cb8ebdfac",
    "POCD_MT000040.xsd": "d96cdd99e17a5f8547a50ed48f44ddff4ad1a5590e57a8217ba50685c294d451",
    "POCD_MT000040_Fi.xsd": "ca7003d28fd48e9c90da3ffeac0022767fc5c8a2739f6d01dcd851f800956c60",
    "datatypes-base.xsd": "0c7dd69c07d41e18b02ece1aaf8a7a49d7f41bf1c2fa2b09e0932dd9446a3826",
    "datatypes.xsd": "e3ced45f77a48478e7db3b50cb753b50eb0f39fd2c3228e2faebde1945f6045f",
    "hl7fi_extensions_cdar2header.xsd": "e196bb55710712271969555de45a5b9f37950e1c43458df6405959080063012c",
    "infrastructureRoot.xsd": "60278e897f0e0d63dcce3f470b9ef3a09271c51b28861c5b05c2f3844ffe8df1",
    "voc.xsd": "22970695278df249ead5aacced0cdf9a77b731bd249d7f2234dd3f79511e4b6b",
}


def test_the_hl7_finland_schema_is_the_published_one_unchanged() -> None:
    folder = validation.CDA_FI_XSD.parent
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}
    assert found == HL7FI_SCHEMA_SHA256
    assert not (validation.SCHEMAS / "cda-fi").exists()  # the home-made extension schema is gone


# -- key values, by XPath and JSON pointer ------------------------------------------------------------


def test_client_hetu_is_the_record_target_and_in_the_content(payloads: dict[str, Any], mappings: MappingSet) -> None:
    document = render(payloads["initiation"], mappings).document
    assert xpath_value(document, "//v3:recordTarget/v3:patientRole/v3:id[@root='1.2.246.21']/@extension") == ADULT_HETU
    assert pointer(structured(document), "/merkinta_asian_vireilletulosta/asiakas/0/henkilotunnus/value") == ADULT_HETU


def test_service_task_of_the_receiving_area_is_the_function_code(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    document = render(payloads["initiation"], mappings).document
    expected = mappings.service_areas["AIKUISSOSTYO"].service_task.code
    assert xpath_value(document, "/v3:ClinicalDocument/hl7fi:localHeader/hl7fi:functionCode/@code") == expected
    assert xpath_value(document, "//hl7fi:functionCode/@codeSystem") == "1.2.246.537.6.1221"
    assert pointer(structured(document), "/merkinta_asian_vireilletulosta/palvelutehtava/0/code") == expected


def test_guidance_record_uses_the_guidance_units_own_service_task(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    document = render(payloads["guidance_record"], mappings).document
    entry = "/merkinta_ohjauksesta_ja_neuvonnasta/asiakaskertomusmerkinta"
    assert pointer(structured(document), f"{entry}/palvelutehtava/code") == mappings.guidance_service_task.code
    assert (
        pointer(structured(document), f"{entry}/tapahtuma/asiointitapa/0/code")
        == mappings.channels["chat"].asiointitapa
    )


def test_first_version_is_its_own_set_with_version_number_one(payloads: dict[str, Any], mappings: MappingSet) -> None:
    rendered = render(payloads["need_notice"], mappings)
    document_id = xpath_value(rendered.document, "/v3:ClinicalDocument/v3:id/@root")
    assert xpath_value(rendered.document, "/v3:ClinicalDocument/v3:setId/@root") == document_id
    assert xpath_value(rendered.document, "/v3:ClinicalDocument/v3:versionNumber/@value") == "1"
    assert rendered.document.find("v3:relatedDocument", NS) is None


def test_document_oid_is_derived_from_the_delivery(payloads: dict[str, Any], mappings: MappingSet) -> None:
    rendered = render(payloads["need_notice"], mappings)
    root = mappings.gateway.document_oid_root
    digest = hashlib.sha256(uuid.UUID(DELIVERY_IDS["need_notice"]).bytes).digest()
    number = int.from_bytes(digest, "big") % 10 ** (64 - len(root) - 3)
    assert rendered.ids.document_oid == f"{root}.{number}.1"
    assert xpath_value(
        rendered.document, "/v3:ClinicalDocument/v3:id/@extension | /v3:ClinicalDocument/v3:id/@root"
    ) == (rendered.ids.document_oid)


def test_rendering_the_same_delivery_twice_gives_the_same_bytes(payloads: dict[str, Any], mappings: MappingSet) -> None:
    assert render(payloads["child_welfare_notice"], mappings).document_bytes == (
        render(payloads["child_welfare_notice"], mappings).document_bytes
    )


def test_new_version_replaces_the_previous_one_by_rplc(payloads: dict[str, Any], mappings: MappingSet) -> None:
    first = render(payloads["guidance_record"], mappings)
    second = render(
        payloads["guidance_record"],
        mappings,
        delivery_id="0a0b0c0d-0000-4000-8000-000000000002",
        version=2,
        previous=first.references(),
    )
    document = second.document
    assert xpath_value(document, "/v3:ClinicalDocument/v3:setId/@root") == first.ids.document_oid
    assert xpath_value(document, "/v3:ClinicalDocument/v3:versionNumber/@value") == "2"
    related = "/v3:ClinicalDocument/v3:relatedDocument[@typeCode='RPLC']/v3:parentDocument"
    assert xpath_value(document, f"{related}/v3:id/@root") == first.ids.document_oid
    assert xpath_value(document, f"{related}/v3:versionNumber/@value") == "1"
    assert validation.validate_document(document) == []


def test_child_welfare_notice_carries_its_seven_working_day_decision_deadline(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    document = render(payloads["child_welfare_notice"], mappings).document
    act = "//v3:act[@moodCode='INT'][v3:code/v3:originalText='lsl-26-decision']"
    # Contact on Thursday 15.1.2026: seven working days later is Monday 26.1.2026.
    assert xpath_value(document, f"{act}/v3:effectiveTime/v3:high/@value") == "20260126"
    assert xpath_value(document, f"{act}/v3:priorityCode/@code") == "UR"
    assert "viimeistään 26.1.2026" in "".join(document.find(".//v3:section/v3:text", NS).itertext())  # type: ignore[union-attr]


def test_child_welfare_notice_is_about_the_child(payloads: dict[str, Any], mappings: MappingSet) -> None:
    document = render(payloads["child_welfare_notice"], mappings).document
    assert xpath_value(document, "//v3:recordTarget/v3:patientRole/v3:id/@extension") == CHILD_HETU
    assert pointer(structured(document), "/lastensuojeluilmoitus/asiakas/henkilotunnus/value") == CHILD_HETU
    assert ADULT_HETU not in etree.tostring(document).decode()


def test_initiation_of_a_priority_client_carries_the_needs_assessment_deadline(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    document = render(payloads["initiation"], mappings).document
    act = "//v3:act[v3:code/v3:originalText='shl-36-needs-assessment']"
    assert xpath_value(document, f"{act}/v3:effectiveTime/v3:high/@value") == "20260126"


def test_initiation_without_a_deadline_carries_no_deadline_act(mappings: MappingSet) -> None:
    payload = kanta_payloads(initiation_outcome(highest_care_allowance=False), mappings)["initiation"]
    assert render(payload, mappings).document.find(".//v3:act", NS) is None


def test_authority_contact_records_that_it_was_made_with_consent(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    data = structured(render(payloads["authority_contact"], mappings).document)
    root = "/yhteydenotto_sosiaalihuollosta_vastaavaan_viranomaiseen"
    assert pointer(data, f"{root}/yhteydenotto_on_tehty_henkilon_suostumuksella") is True
    assert pointer(data, f"{root}/asiakas/0/henkilotunnus/value") == YOUNG_ADULT_HETU
    assert pointer(data, f"{root}/asiasisalto/0/code") == mappings.reasons["PAIHTEET"].support_need


def test_contact_without_consent_becomes_a_need_notice(mappings: MappingSet) -> None:
    documents = kanta_payloads(authority_outcome(with_consent=False), mappings)
    assert "need_notice" in documents and "authority_contact" not in documents
    data = structured(render(documents["need_notice"], mappings).document)
    assert pointer(data, "/ilmoitus_sosiaalihuollon_tarpeesta/ilmoittaja/0/kuvaus") == (
        "Terveydenhuolto, Keskustan terveysasema"
    )


def test_narrative_is_labelled_with_thl_field_names(payloads: dict[str, Any], mappings: MappingSet) -> None:
    text = render(payloads["initiation"], mappings).document.find(".//v3:section/v3:text", NS)
    assert text is not None
    captions = [c.text for c in text.iterfind(".//v3:caption", NS)]
    assert "Vireilletulopäivä" in captions and "Palvelutehtävä" in captions
    assert "15.1.2026" in "".join(text.itertext())


# -- the message ------------------------------------------------------------------------------------


def test_first_version_travels_in_rcmr_in100002fi01(payloads: dict[str, Any], mappings: MappingSet) -> None:
    rendered = render(payloads["initiation"], mappings)
    message = build_archive_message(
        rendered.document_bytes,
        rendered.metadata,
        message_id="9e0c3a54-1111-4222-8333-444455556666",
        created_at=_moment(),
        sender_oid=mappings.organisation.oid,
    )
    assert etree.QName(message).localname == "RCMR_IN100002FI01"
    assert validation.validate_xml(validation.message_schema(), message) == []
    text = message.find(".//v3:clinicalDocument/v3:text", NS)
    assert text is not None and text.get("mediaType") == "multipart/related"
    mime = email.message_from_string(text.text or "")
    assert mime.get_content_type() == "multipart/related"
    (part,) = mime.get_payload()
    assert part["Content-ID"] == f"<{rendered.ids.document_oid}>"
    assert part.get_payload(decode=True) == rendered.document_bytes


def test_new_version_travels_in_rcmr_in100016fi01_naming_the_replaced_one(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    first = render(payloads["initiation"], mappings)
    second = render(
        payloads["initiation"], mappings, delivery_id=str(uuid.uuid4()), version=2, previous=first.references()
    )
    message = build_archive_message(
        second.document_bytes, second.metadata, message_id=str(uuid.uuid4()), created_at=_moment(), sender_oid="1.2.3"
    )
    assert etree.QName(message).localname == "RCMR_IN100016FI01"
    assert validation.validate_xml(validation.message_schema(), message) == []
    assert xpath_value(message, "//v3:relatedDocument[@typeCode='RPLC']/v3:parentDocument/v3:id/@root") == (
        first.ids.document_oid
    )


def _moment() -> datetime:
    return datetime(2026, 1, 15, 8, 0, tzinfo=UTC)


# -- what cannot be rendered --------------------------------------------------------------------------


def test_unknown_document_kind_is_a_render_error(payloads: dict[str, Any], mappings: MappingSet) -> None:
    with pytest.raises(RenderError, match=r"payload\.document"):
        render({**payloads["initiation"], "document": "care_plan"}, mappings)


def test_unmapped_unit_is_a_render_error_naming_the_field(payloads: dict[str, Any], mappings: MappingSet) -> None:
    with pytest.raises(RenderError, match=r"payload\.unit"):
        render({**payloads["guidance_record"], "unit": "NO-SUCH-UNIT"}, mappings)


def test_authority_contact_without_a_support_need_is_a_render_error(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    payload = {
        **payloads["authority_contact"],
        "reasons": ["TYO"],
        "result": {**payloads["authority_contact"]["result"], "reasons": []},
    }
    with pytest.raises(RenderError, match="support need") as raised:
        render(payload, mappings)
    assert YOUNG_ADULT_HETU not in str(raised.value)


def test_new_version_without_usable_previous_references_is_a_render_error(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    with pytest.raises(RenderError, match="references"):
        render(payloads["initiation"], mappings, version=2, previous={"document_oid": "1.2.3"})


def test_validation_problems_name_the_place_not_the_value(payloads: dict[str, Any], mappings: MappingSet) -> None:
    rendered = render(payloads["initiation"], mappings)
    data = json.loads(json.dumps(rendered.content.data))
    data["merkinta_asian_vireilletulosta"]["vireilletulopaiva"] = ADULT_HETU
    content_problems = validation.validate_content(rendered.content.structure.oid, data)
    rendered.document.find("v3:id", NS).set("root", ADULT_HETU)  # type: ignore[union-attr]
    document_problems = validation.validate_document(rendered.document)
    assert [p.location for p in content_problems] == ["/merkinta_asian_vireilletulosta/vireilletulopaiva"]
    assert [p.location for p in document_problems] == ["/ClinicalDocument/id"]
    assert all(ADULT_HETU not in str(p) for p in content_problems + document_problems)


def test_a_new_version_waits_while_the_replaced_one_has_no_references(
    payloads: dict[str, Any], mappings: MappingSet
) -> None:
    work = DeliveryWork(
        delivery_id=str(uuid.uuid4()),
        outcome_id="outcome-1",
        action_key="kanta:initiation",
        kind="social_care_document",
        payload=payloads["initiation"],
        attempt=1,
        document_version=2,
        supersedes=str(uuid.uuid4()),
        previous_refs=None,
    )
    with pytest.raises(TransientDeliveryError):
        render_work(work, mappings)


def test_the_adapter_refuses_other_delivery_kinds(payloads: dict[str, Any], mappings: MappingSet) -> None:
    work = DeliveryWork(str(uuid.uuid4()), "outcome-1", "x", "patient_record", payloads["initiation"], attempt=1)
    with pytest.raises(RenderError, match="social_care_document"):
        render_work(work, mappings)
