"""The HL7 V3 Medical Records archive request that carries a document to the archive. Pure.

``RCMR_IN100002FI01`` archives a first version; ``RCMR_IN100016FI01`` a new version, whose
clinicalDocument names the version it replaces (relatedDocument typeCode RPLC) and the reason
(reasonCode "Korjaus"). The message follows, element by element and in the same order, the real
messages a public integration sent to the Kanta archive's test environment
(``tests/fixtures/kanta-rcmr/``, see the README there):

* the transmission wrapper: id, creationTime, versionCode ``V3-2006``, interactionId, the message
  profile ids, processingCode, processingModeCode ``T``, acceptAckCode ``ER`` (acknowledge errors
  only), the receiver device (the archive) and the sender device (the organisation);
* the control act in request mood (``moodCode="RQO"``) with the trigger event code
  (``RCMR_TE000102UV01`` / ``RCMR_TE000910UV01``), the archive service request as ``reasonCode``
  (PP1 "Arkistoi palvelujen antajan omia asiakirjoja") and the requesting organisation
  (``authorOrPerformer``);
* clinicalDocument: the document's metadata repeated from its CDA header (templateId = the first
  profile id, id, code, statusCode, effectiveTime, confidentialityCode, languageCode, setId,
  versionNumber, completionCode LA, storageCode AC, recordTarget, author, custodian,
  relatedDocument, componentOf and the local header without its signatures), and the CDA document
  itself base64 in a ``multipart/related`` MIME body in ``text``, its part's Content-ID the document
  OID.

Published and modelled: the structure, the HL7 codes and Kanta's code systems are published (the
references). The social welfare archive's device id and profile ids are not public here: they come
from :class:`adapters.kanta.settings.KantaSettings`, whose defaults are modelled. The message schema
``wsdl/hl7v3-rcmr.xsd`` is this product's model of the message (Kanta's is not public here); the
reference messages validate against it.
"""

from __future__ import annotations

import base64
import copy
import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from adapters.kanta import structures as cs
from adapters.kanta.cda import coded
from adapters.kanta.settings import KantaSettings

V3 = "urn:hl7-org:v3"
HL7FI = "urn:hl7finland"
ARCHIVE_NEW = "RCMR_IN100002FI01"
ARCHIVE_NEW_VERSION = "RCMR_IN100016FI01"
INTERACTIONS = (ARCHIVE_NEW, ARCHIVE_NEW_VERSION)
TRIGGER_EVENTS = {ARCHIVE_NEW: "RCMR_TE000102UV01", ARCHIVE_NEW_VERSION: "RCMR_TE000910UV01"}
HL7_VERSION = "V3-2006"
ACCEPT_ACK = "ER"
MULTIPART = "multipart/related"
DEFAULT_NS: dict[Any, str] = {None: V3}  # lxml-stubs cannot say "default namespace"
NS = {"v3": V3, "hl7fi": HL7FI}


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
    settings: KantaSettings | None = None,
) -> etree._Element:
    """The archive request for ``document`` (serialised CDA); ``message_id`` is a UUID, new per attempt.

    The repeated metadata is copied from the document itself, so the two cannot disagree.
    """
    settings = settings or KantaSettings()
    cda = etree.fromstring(document, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    interaction = interaction_for(metadata)
    message = etree.Element(f"{{{V3}}}{interaction}", nsmap=DEFAULT_NS, ITSVersion="XML_1.0")
    _sub(message, "id", root=message_id.upper())
    _sub(message, "creationTime", value=created_at.strftime("%Y%m%d%H%M%S%z"))
    _sub(message, "versionCode", code=HL7_VERSION)
    _sub(message, "interactionId", extension=interaction, root=cs.HL7_INTERACTION)
    for profile in settings.profile_ids:
        _sub(message, "profileId", root=profile)
    _sub(message, "processingCode", code=settings.processing_code)
    _sub(message, "processingModeCode", code="T")
    _sub(message, "acceptAckCode", code=ACCEPT_ACK)
    _sub(_sub(_sub(message, "receiver", typeCode="RCV"), "device"), "id", root=settings.archive_device_oid)
    _sub(_sub(_sub(message, "sender", typeCode="SND"), "device"), "id", root=sender_oid)
    act = _sub(message, "controlActProcess", moodCode="RQO")
    _sub(act, "code", code=TRIGGER_EVENTS[interaction], codeSystem=cs.HL7_TRIGGER_EVENT)
    coded(act, "reasonCode", cs.SERVICE_REQUEST, cs.ARCHIVE_OWN_DOCUMENTS)
    performer = _sub(_sub(act, "authorOrPerformer", typeCode="PRF"), "assignedPerson")
    _sub(_sub(performer, "representedOrganization"), "id", root=sender_oid)
    doc = _sub(_sub(act, "subject", typeCode="SUBJ"), "clinicalDocument")
    _sub(doc, "templateId", root=settings.profile_ids[0])
    _copy(cda, doc, "id")
    _copy(cda, doc, "code")
    text = _sub(doc, "text", mediaType=MULTIPART)
    text.text = mime_body(document, document_oid=metadata.document_oid, message_id=message_id)
    _sub(doc, "statusCode", code="completed")
    _copy(cda, doc, "effectiveTime")
    _copy(cda, doc, "confidentialityCode")
    if metadata.replaces is not None:
        coded(doc, "reasonCode", cs.REPLACEMENT_REASON, cs.CORRECTION)
    _copy(cda, doc, "languageCode")
    _copy(cda, doc, "setId")
    _copy(cda, doc, "versionNumber")
    coded(doc, "completionCode", cs.COMPLETION, cs.LEGALLY_AUTHENTICATED)
    coded(doc, "storageCode", cs.STORAGE, cs.STORAGE_ACTIVE)
    _record_target(cda, doc)
    _author(cda, doc)
    _custodian(cda, doc)
    related = cda.find("v3:relatedDocument", NS)
    if related is not None:
        doc.append(copy.deepcopy(related))
    _encounter(cda, doc)
    header = cda.find("hl7fi:localHeader", NS)
    if header is not None:
        # The local header is repeated as the references repeat it: without the signatures, which
        # sign the document, not the message.
        repeated = copy.deepcopy(header)
        for signatures in repeated.findall("hl7fi:signatureCollection", NS):
            repeated.remove(signatures)
        # The archive's message schema spells this one element differently from the CDA header's
        # (both reference messages write custodianTypecode).
        for custodian_type in repeated.findall("hl7fi:custodianTypeCode", NS):
            custodian_type.tag = f"{{{HL7FI}}}custodianTypecode"
        doc.append(repeated)
    return message


def mime_body(document: bytes, *, document_oid: str, message_id: str) -> str:
    """The document as a ``multipart/related`` MIME body of one base64 ``text/xml`` part, as the references.

    The Content-Type header is on one line as in ``RCMR_IN100016FI01``: ``RCMR_IN100002FI01`` breaks
    it before ``boundary=`` without the leading white space that RFC 5322 folding needs.
    """
    boundary = f"----=_Part_{message_id.replace('-', '')}"
    encoded = "\n".join(textwrap.wrap(base64.b64encode(document).decode("ascii"), 76))
    return (
        f"Message-ID: <{message_id}@asiakasohjaus-gateway>\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/related; boundary="{boundary}"\n\n'
        f"--{boundary}\n"
        "Content-Type: text/xml; charset=UTF-8\n"
        "Content-Transfer-Encoding: BASE64\n"
        f"Content-ID: <{document_oid}>\n\n"
        f"{encoded}\n\n"
        f"--{boundary}--\n"
    )


def _record_target(cda: etree._Element, doc: etree._Element) -> None:
    """recordTarget/patientRole of the CDA header as the message's recordTarget/patient."""
    patient = _sub(_sub(doc, "recordTarget"), "patient")
    role = cda.find("v3:recordTarget/v3:patientRole", NS)
    if role is None:
        return
    client_id = role.find("v3:id", NS)
    if client_id is not None:
        patient.append(copy.deepcopy(client_id))
    _sub(patient, "statusCode", code="active")
    person = role.find("v3:patient", NS)
    if person is not None:
        repeated = _sub(patient, "patientPerson")
        for name in ("name", "administrativeGenderCode", "birthTime"):
            found = person.find(f"v3:{name}", NS)
            if found is not None:
                repeated.append(copy.deepcopy(found))


def _author(cda: etree._Element, doc: etree._Element) -> None:
    for author in cda.findall("v3:author", NS):
        repeated = _sub(doc, "author")
        _sub(repeated, "time", nullFlavor="NA")
        assigned = _sub(repeated, "assignedAuthor")
        for author_id in author.findall("v3:assignedAuthor/v3:id", NS):
            assigned.append(copy.deepcopy(author_id))


def _custodian(cda: etree._Element, doc: etree._Element) -> None:
    """The register keeper: the header's representedCustodianOrganization as representedOrganization."""
    organisation = _sub(_sub(_sub(doc, "custodian"), "assignedCustodian"), "representedOrganization")
    keeper = cda.find("v3:custodian/v3:assignedCustodian/v3:representedCustodianOrganization", NS)
    for name in ("id", "name"):
        found = keeper.find(f"v3:{name}", NS) if keeper is not None else None
        if found is not None:
            organisation.append(copy.deepcopy(found))


def _encounter(cda: etree._Element, doc: etree._Element) -> None:
    """componentOf/encompassingEncounter's period as the message's componentOf/encounterEvent."""
    period = cda.find("v3:componentOf/v3:encompassingEncounter/v3:effectiveTime", NS)
    if period is not None:
        _sub(_sub(doc, "componentOf"), "encounterEvent").append(copy.deepcopy(period))


def _copy(source: etree._Element, target: etree._Element, name: str) -> None:
    found = source.find(f"v3:{name}", NS)
    if found is not None:
        target.append(copy.deepcopy(found))


def _sub(parent: etree._Element, name: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{V3}}}{name}", attributes)
