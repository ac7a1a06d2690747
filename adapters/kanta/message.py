"""The HL7 V3 Medical Records archive request that carries a document to the archive. Pure.

``RCMR_IN100002FI01`` archives a first version; ``RCMR_IN100016FI01`` a new version, whose
clinicalDocument names the version it replaces (relatedDocument typeCode RPLC). The transmission
wrapper and control act follow HL7 V3 (MCCI_MT000100, MCAI_MT700201); the payload repeats the
document's identifying metadata and carries the CDA document itself base64 in ``text``.
The message schema is ``wsdl/hl7v3-rcmr.xsd`` (a modelled subset: Kanta's is not public here).

Assumptions written down: the sending device is identified by the organisation's OID (mapping
set) and the receiving device, the archive, by ``nullFlavor="UNK"`` because the archive's own
identifier is not in the mapping set.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from adapters.kanta import structures as cs

V3 = "urn:hl7-org:v3"
ARCHIVE_NEW = "RCMR_IN100002FI01"
ARCHIVE_NEW_VERSION = "RCMR_IN100016FI01"
INTERACTIONS = (ARCHIVE_NEW, ARCHIVE_NEW_VERSION)
DEFAULT_NS: dict[Any, str] = {None: V3}  # lxml-stubs cannot say "default namespace"


@dataclass(frozen=True, slots=True)
class DocumentMetadata:
    """What the message repeats from the CDA header, so the archive can file the document unopened."""

    document_oid: str
    set_id: str
    version: int
    effective_time: str
    client_hetu: str
    custodian_oid: str
    replaces: tuple[str, str, int] | None  # (document OID, set id, version) of the replaced version


def interaction_for(metadata: DocumentMetadata) -> str:
    return ARCHIVE_NEW if metadata.replaces is None else ARCHIVE_NEW_VERSION


def build_archive_message(
    document: bytes,
    metadata: DocumentMetadata,
    *,
    message_id: str,
    created_at: datetime,
    sender_oid: str,
) -> etree._Element:
    """The archive request for ``document`` (serialised CDA); ``message_id`` is a UUID, new per attempt."""
    interaction = interaction_for(metadata)
    message = etree.Element(f"{{{V3}}}{interaction}", nsmap=DEFAULT_NS, ITSVersion="XML_1.0")
    _sub(message, "id", root=message_id.upper())
    _sub(message, "creationTime", value=created_at.strftime("%Y%m%d%H%M%S%z"))
    _sub(message, "interactionId", root=cs.HL7_INTERACTION, extension=interaction)
    _sub(message, "processingCode", code="P")
    _sub(message, "processingModeCode", code="T")
    _sub(message, "acceptAckCode", code="AL")
    receiver = _sub(_sub(message, "receiver", typeCode="RCV"), "device", classCode="DEV", determinerCode="INSTANCE")
    _sub(receiver, "id", nullFlavor="UNK")
    sender = _sub(_sub(message, "sender", typeCode="SND"), "device", classCode="DEV", determinerCode="INSTANCE")
    _sub(sender, "id", root=sender_oid)
    subject = _sub(_sub(message, "controlActProcess", classCode="CACT", moodCode="EVN"), "subject", typeCode="SUBJ")
    doc = _sub(subject, "clinicalDocument", classCode="DOCCLIN", moodCode="EVN")
    _sub(doc, "id", root=metadata.document_oid)
    _sub(
        doc,
        "code",
        code=cs.SOCIAL_CARE_REGISTER[0],
        codeSystem=cs.REGISTER_TYPE,
        displayName=cs.SOCIAL_CARE_REGISTER[1],
    )
    text = _sub(doc, "text", mediaType="text/xml", representation="B64")
    text.text = base64.b64encode(document).decode("ascii")
    _sub(doc, "effectiveTime", value=metadata.effective_time)
    _sub(doc, "confidentialityCode", code=cs.RESTRICTED[0], codeSystem=cs.CONFIDENTIALITY)
    _sub(doc, "setId", root=metadata.set_id)
    _sub(doc, "versionNumber", value=str(metadata.version))
    patient = _sub(_sub(doc, "recordTarget", typeCode="RCT"), "patient", classCode="PAT")
    _sub(patient, "id", root=cs.HETU, extension=metadata.client_hetu)
    custodian = _sub(_sub(doc, "custodian", typeCode="CST"), "assignedCustodian", classCode="ASSIGNED")
    organisation = _sub(custodian, "representedCustodianOrganization", classCode="ORG", determinerCode="INSTANCE")
    _sub(organisation, "id", root=metadata.custodian_oid)
    if metadata.replaces is not None:
        replaced_oid, replaced_set, replaced_version = metadata.replaces
        parent = _sub(
            _sub(doc, "relatedDocument", typeCode="RPLC"), "parentDocument", classCode="DOCCLIN", moodCode="EVN"
        )
        _sub(parent, "id", root=replaced_oid)
        _sub(parent, "setId", root=replaced_set)
        _sub(parent, "versionNumber", value=str(replaced_version))
    return message


def _sub(parent: etree._Element, name: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{V3}}}{name}", attributes)
