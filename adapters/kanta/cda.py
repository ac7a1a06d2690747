"""The archived document: one CDA R2 document with a Finnish header, built with lxml. Pure.

Layout (an assumption of this project; see :mod:`adapters.kanta.render` for the packing):

* **Header** (HL7 Finland CDA R2 conventions): realmCode FI; typeId POCD_HD000040; templateId = the
  Sosmeta structure OID (its version included) the document follows; ``id`` = the document OID
  (root only); ``code`` = register type 1.2.246.537.6.1264 code 1, sosiaalihuollon asiakasrekisteri
  (where a Finnish CDA header carries the register, "potilasrekisteritunnus" on the patient side);
  effectiveTime = the end of the guidance contact; confidentialityCode from Kanta's code system;
  languageCode fi; setId = the first version's OID; versionNumber; recordTarget = the client (child, for a child welfare
  notice) by hetu (root 1.2.246.21); author = the guidance worker (id under the mapping set's
  worker identifier system) of the guidance unit; custodian = the register keeper; a new version
  names the version it replaces (relatedDocument RPLC); componentOf = the guidance contact's period.
* **hl7fi:localHeader** between componentOf and component, with the fields the reference documents
  carry, in the HL7 Finland schema's order: fileFormat (CDA R2), softwareSupport, functionCode = the
  document's service task (palvelutehtävä, 1.2.246.537.6.1221), recordStatus (ready for archiving),
  signatureCollection (added by :mod:`adapters.kanta.signing`) and custodianTypeCode (public).
  documentType, retentionPeriodClass and patientHomeMunicipality are left out: their social welfare
  values are not public here (the references carry the patient archive's).
* **Body**: one section titled with the structure's name whose text is the narrative (display form)
  and whose entries are the structured content (observationMedia, application/json, base64) and
  each statutory deadline as an intended act with its due date (``effectiveTime/high``). The entries
  are ``DRIV``: the narrative is derived from them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from adapters.kanta import structures as cs
from adapters.kanta.content import FINNISH_TIME, Content, Deadline
from adapters.kanta.signing import body_id
from gateway.errors import RenderError
from gateway.mappings import MappingSet

V3 = "urn:hl7-org:v3"
HL7FI = "urn:hl7finland"
NSMAP: dict[Any, str] = {None: V3, "hl7fi": HL7FI}  # lxml-stubs cannot say "default namespace"
SOFTWARE = ("asiakasohjaus-gateway", "1")
JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class DocumentIds:
    """Who the document is: its OID, its set's OID, its version, and the version it replaces."""

    document_oid: str
    set_id: str
    version: int
    replaces: PreviousVersion | None = None


@dataclass(frozen=True, slots=True)
class PreviousVersion:
    document_oid: str
    set_id: str
    version: int


def build_cda(
    content: Content,
    *,
    payload: Mapping[str, Any],
    mappings: MappingSet,
    ids: DocumentIds,
    narrative: etree._Element,
    content_json: bytes,
) -> etree._Element:
    """The ClinicalDocument element of one delivery."""
    unit = mappings.units.get(str(payload.get("unit")))
    if unit is None:
        raise RenderError(f"payload.unit {payload.get('unit')!r} is not one of the mapping set's units")
    client = payload.get("client") or {}
    guidance = payload.get("guidance") or {}
    keeper = mappings.registers.social_care

    doc = etree.Element(f"{{{V3}}}ClinicalDocument", nsmap=NSMAP)
    _sub(doc, "realmCode", code="FI")
    _sub(doc, "typeId", root=cs.CDA_TYPE_ID, extension="POCD_HD000040")
    _sub(doc, "templateId", root=content.structure.oid)
    _sub(doc, "id", root=ids.document_oid)
    coded(doc, "code", cs.REGISTER_TYPE, cs.SOCIAL_CARE_REGISTER)
    _sub(doc, "title", text=content.structure.title)
    _sub(doc, "effectiveTime", value=ts(str(guidance.get("ended_at"))))
    coded(doc, "confidentialityCode", cs.CONFIDENTIALITY, cs.RESTRICTED)
    _sub(doc, "languageCode", code="fi")
    _sub(doc, "setId", root=ids.set_id)
    _sub(doc, "versionNumber", value=str(ids.version))
    _record_target(doc, client)
    _author(
        doc, guidance, unit_oid=unit.oid, unit_name=unit.name, worker_system=mappings.gateway.worker_identifier_system
    )
    custodian = _sub(_sub(_sub(doc, "custodian"), "assignedCustodian"), "representedCustodianOrganization")
    _sub(custodian, "id", root=keeper.keeper_oid)
    _sub(custodian, "name", text=keeper.keeper_name)
    if ids.replaces is not None:
        parent = _sub(_sub(doc, "relatedDocument", typeCode="RPLC"), "parentDocument")
        _sub(parent, "id", root=ids.replaces.document_oid)
        _sub(parent, "setId", root=ids.replaces.set_id)
        _sub(parent, "versionNumber", value=str(ids.replaces.version))
    period = _sub(_sub(_sub(doc, "componentOf"), "encompassingEncounter"), "effectiveTime")
    _sub(period, "low", value=ts(str(guidance.get("started_at"))))
    _sub(period, "high", value=ts(str(guidance.get("ended_at"))))
    _local_header(doc, content)
    _body(doc, content, narrative, content_json, document_oid=ids.document_oid)
    return doc


def _record_target(doc: etree._Element, client: Mapping[str, Any]) -> None:
    role = _sub(_sub(doc, "recordTarget"), "patientRole")
    if not client.get("hetu"):
        raise RenderError("payload.client.hetu is required: the archive files documents by the client's hetu")
    _sub(role, "id", root=cs.HETU, extension=str(client["hetu"]))
    patient = _sub(role, "patient")
    name = _sub(patient, "name")
    for given in str(client.get("given_names") or "").split():
        _sub(name, "given", text=given)
    _sub(name, "family", text=str(client.get("family_name") or ""))
    if client.get("birth_date"):
        _sub(patient, "birthTime", value=str(client["birth_date"]).replace("-", ""))


def _author(
    doc: etree._Element, guidance: Mapping[str, Any], *, unit_oid: str, unit_name: str, worker_system: str
) -> None:
    author = _sub(doc, "author")
    _sub(author, "time", value=ts(str(guidance.get("ended_at"))))
    assigned = _sub(author, "assignedAuthor")
    _sub(assigned, "id", root=cs.bare_oid(worker_system), extension=str(guidance.get("worker_id") or ""))
    organisation = _sub(assigned, "representedOrganization")
    _sub(organisation, "id", root=unit_oid)
    _sub(organisation, "name", text=unit_name)


def _local_header(doc: etree._Element, content: Content) -> None:
    header = etree.SubElement(doc, f"{{{HL7FI}}}localHeader")
    _fi_code(header, "fileFormat", cs.FILE_FORMAT, cs.FILE_FORMAT_CDA)
    software = etree.SubElement(header, f"{{{HL7FI}}}softwareSupport", product=SOFTWARE[0], version=SOFTWARE[1])
    software.text = "asiakasohjaus gateway"
    _fi_code(header, "functionCode", cs.SERVICE_TASK, (content.service_task.code, content.service_task.display))
    _fi_code(header, "recordStatus", cs.RECORD_STATUS, cs.RECORD_READY)
    _fi_code(header, "custodianTypeCode", cs.CUSTODIAN_TYPE, cs.CUSTODIAN_PUBLIC)


def _fi_code(header: etree._Element, name: str, system: str, coding: tuple[str, str]) -> None:
    etree.SubElement(
        header,
        f"{{{HL7FI}}}{name}",
        code=coding[0],
        codeSystem=system,
        codeSystemName=cs.CODE_SYSTEM_NAMES[system],
        displayName=coding[1],
    )


def _body(
    doc: etree._Element, content: Content, narrative: etree._Element, content_json: bytes, *, document_oid: str
) -> None:
    body = _sub(_sub(doc, "component"), "structuredBody")
    # The ID the signature references (signing.body_id), as the reference documents carry it.
    body.set("ID", body_id(document_oid))
    section = _sub(_sub(body, "component"), "section")
    _sub(section, "templateId", root=content.structure.oid)
    _sub(section, "title", text=content.structure.title)
    section.append(narrative)
    media = _sub(_sub(section, "entry", typeCode="DRIV"), "observationMedia", classCode="OBS", moodCode="EVN")
    media.set("ID", "sosmeta-json")
    value = _sub(media, "value", mediaType=JSON_MEDIA_TYPE, representation="B64")
    value.text = base64.b64encode(content_json).decode("ascii")
    for deadline in content.deadlines:
        _deadline_act(section, deadline, urgent=content.urgent)


def _deadline_act(section: etree._Element, deadline: Deadline, *, urgent: bool) -> None:
    # Assumption: no code system for the gateway's deadline rules is mapped, so the act's code is
    # nullFlavor OTH with the rule id as its original text; the due date is the upper bound.
    act = _sub(_sub(section, "entry", typeCode="DRIV"), "act", classCode="ACT", moodCode="INT")
    code = _sub(act, "code", nullFlavor="OTH")
    _sub(code, "originalText", text=deadline.rule)
    _sub(act, "text", text=f"{deadline.description} ({deadline.legal_basis})")
    _sub(_sub(act, "effectiveTime"), "high", value=deadline.due.strftime("%Y%m%d"))
    if urgent:
        coded(act, "priorityCode", cs.ACT_PRIORITY, ("UR", "urgent"))


def ts(iso: str) -> str:
    """An HL7 TS (``YYYYMMDDHHMMSS+ZZZZ``) in Finnish time from an ISO 8601 timestamp."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise RenderError("a timestamp of the payload is not ISO 8601") from None
    if moment.tzinfo is None:
        raise RenderError("a timestamp of the payload has no time zone")
    return moment.astimezone(FINNISH_TIME).strftime("%Y%m%d%H%M%S%z")


def coded(parent: etree._Element, name: str, system: str, coding: tuple[str, str]) -> etree._Element:
    """A coded HL7 V3 element (code, system, system name, display): the CDA header and the message use it."""
    return _sub(
        parent,
        name,
        code=coding[0],
        codeSystem=system,
        codeSystemName=cs.CODE_SYSTEM_NAMES[system],
        displayName=coding[1],
    )


def _sub(parent: etree._Element, name: str, *, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{V3}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element
