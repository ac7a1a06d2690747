"""The simulated archive's state and rules: what it accepts, what it refuses and why (no HTTP here).

An archive request is checked in the order a real archive would have to: the HL7 V3 message
against its schema and interaction, the message's structure as the published messages have it
(versionCode, profile ids, acceptAckCode, receiver = this archive, the control act's trigger event,
service request and requesting organisation, the document's status, completion and storage codes),
the ``multipart/related`` MIME body decoded and the document parsed safely, the CDA document against
the HL7 Finland CDA R2 schema, the document's signature (verified against the certificates the
archive trusts: a document changed after signing is refused), the header's rules (register, ids, hetu, function code,
metadata repeated in the message), every code system named anywhere in the document, the
structured content against the Sosmeta JSON Schema of the declared structure, and finally the
archive's own state: a document id is archived once; a new version must replace the latest
version of a known document set. Every refusal is an :class:`ArchiveFault` naming the element or
field (XPath or JSON pointer) and the rule, never the value.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.message
import email.policy
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lxml import etree

from adapters.kanta import structures as cs
from adapters.kanta import validation
from adapters.kanta.message import (
    ACCEPT_ACK,
    ARCHIVE_NEW,
    ARCHIVE_NEW_VERSION,
    HL7_VERSION,
    MULTIPART,
    TRIGGER_EVENTS,
)
from adapters.kanta.signing import SignatureRefused, verify_document
from gateway.contract.hetu import InvalidHetu, parse_hetu

V3 = "urn:hl7-org:v3"
HL7FI = "urn:hl7finland"
NS = {"v3": V3, "hl7fi": HL7FI}
MAX_OID_LENGTH = 64


class ArchiveFault(Exception):
    """A refusal, as the SOAP fault the service answers with."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        location: str | None = None,
        document_id: str | None = None,
        side: str = "Client",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.location = location
        self.document_id = document_id
        self.side = side


@dataclass
class ArchivedRecord:
    document_id: str
    set_id: str
    version: int
    structure: str
    function_code: str
    client_id: str
    content: bytes
    interaction: str
    message_id: str
    archived_at: datetime
    replaced_by: str | None = None
    structured: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Metadata only (no hetu, no content): what admin listings show."""
        return {
            "document_id": self.document_id,
            "set_id": self.set_id,
            "version": self.version,
            "structure": self.structure,
            "function_code": self.function_code,
            "interaction": self.interaction,
            "archived_at": self.archived_at.isoformat(),
            "replaced_by": self.replaced_by,
        }


@cache
def known_code_systems() -> frozenset[str]:
    """Code systems the archive knows: the header's and every classification THL's schemas name."""
    known = set(cs.CODE_SYSTEM_NAMES)
    for structure in cs.STRUCTURES.values():
        known.update(_classifications(validation.sosmeta_schema(structure.oid)))
    return frozenset(known)


def _classifications(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for entry in (
            node.get("sosmeta", {}).get("classificationOid", []) if isinstance(node.get("sosmeta"), dict) else []
        ):
            yield str(entry["value"])
        for value in node.values():
            yield from _classifications(value)
    elif isinstance(node, list):
        for value in node:
            yield from _classifications(value)


class SocialCareArchive:
    """The archive's documents, by id. One instance per simulator."""

    def __init__(self, *, trusted_certs: Sequence[bytes], device_oid: str, profile_ids: Sequence[str]) -> None:
        self.documents: dict[str, ArchivedRecord] = {}
        self.trusted_certs = list(trusted_certs)
        self.device_oid = device_oid
        self.profile_ids = tuple(profile_ids)

    def archive(self, message: etree._Element, *, new_version: bool) -> ArchivedRecord:
        expected = ARCHIVE_NEW_VERSION if new_version else ARCHIVE_NEW
        _check_message(message, expected)
        self._check_envelope(message, expected)
        meta = message.find("v3:controlActProcess/v3:subject/v3:clinicalDocument", NS)
        assert meta is not None  # the message schema requires it
        document = _decode(meta)
        _check_document_schema(document)
        try:
            verify_document(document, self.trusted_certs)
        except SignatureRefused as refused:
            raise ArchiveFault(
                "SignatureInvalid", str(refused), location="/ClinicalDocument/localHeader/signatureCollection"
            ) from None
        structure, structured = _check_document(document, meta)
        document_id = _root(document, "v3:id")
        set_id = _root(document, "v3:setId")
        version = int(_attr(document, "v3:versionNumber", "value"))
        if document_id in self.documents:
            raise ArchiveFault(
                "DocumentAlreadyArchived",
                "a document with this id is already archived",
                location="/ClinicalDocument/id",
                document_id=document_id,
            )
        parent = document.find("v3:relatedDocument/v3:parentDocument", NS)
        if new_version != (parent is not None):
            raise ArchiveFault(
                "MessageInvalid",
                f"{expected} {'requires' if new_version else 'must not carry'} relatedDocument typeCode RPLC",
                location="/ClinicalDocument/relatedDocument",
            )
        if parent is not None:
            self._check_replacement(parent, set_id=set_id, version=version)
        else:
            if set_id != document_id or version != 1:
                raise ArchiveFault(
                    "HeaderInvalid",
                    "a first version has versionNumber 1 and setId equal to its id",
                    location="/ClinicalDocument/setId",
                )
        record = ArchivedRecord(
            document_id=document_id,
            set_id=set_id,
            version=version,
            structure=structure.oid,
            function_code=_attr(document, "hl7fi:localHeader/hl7fi:functionCode", "code"),
            client_id=_attr(document, "v3:recordTarget/v3:patientRole/v3:id", "extension"),
            content=etree.tostring(document, xml_declaration=True, encoding="UTF-8"),
            interaction=expected,
            message_id=_root(message, "v3:id"),
            archived_at=datetime.now(UTC).replace(microsecond=0),
            structured=structured,
        )
        if parent is not None:
            self.documents[_root(parent, "v3:id")].replaced_by = document_id
        self.documents[document_id] = record
        return record

    def fetch(self, document_id: str) -> ArchivedRecord:
        if document_id not in self.documents:
            raise ArchiveFault("DocumentNotFound", "no document with this id is archived", location="documentId")
        return self.documents[document_id]

    def query(self, client_id: str) -> list[ArchivedRecord]:
        return [r for r in self.documents.values() if r.client_id == client_id]

    def _check_envelope(self, message: etree._Element, interaction: str) -> None:
        """The message's structure as the published messages have it; a fault names the element."""
        act = "controlActProcess"
        doc = f"{act}/subject/clinicalDocument"

        def at(path: str) -> str:
            return "/".join(f"v3:{step}" for step in path.split("/"))

        profiles = tuple(str(p.get("root", "")) for p in message.findall("v3:profileId", NS))
        performer = _root(message, at(f"{act}/authorOrPerformer/assignedPerson/representedOrganization/id"))
        sender = _root(message, "v3:sender/v3:device/v3:id")
        rules = (
            (
                _attr(message, "v3:versionCode", "code") == HL7_VERSION,
                f"versionCode must be {HL7_VERSION}",
                "versionCode",
            ),
            (profiles == self.profile_ids, "profileId must name this archive's message profiles", "profileId"),
            (
                _attr(message, "v3:acceptAckCode", "code") == ACCEPT_ACK,
                f"acceptAckCode must be {ACCEPT_ACK}",
                "acceptAckCode",
            ),
            (
                _root(message, "v3:receiver/v3:device/v3:id") == self.device_oid,
                "the receiver must be this archive's device id",
                "receiver/device/id",
            ),
            (
                _attr(message, at(f"{act}/code"), "code") == TRIGGER_EVENTS[interaction]
                and _attr(message, at(f"{act}/code"), "codeSystem") == cs.HL7_TRIGGER_EVENT,
                f"the trigger event of {interaction} is {TRIGGER_EVENTS[interaction]}",
                f"{act}/code",
            ),
            (
                _attr(message, at(f"{act}/reasonCode"), "codeSystem") == cs.SERVICE_REQUEST
                and _attr(message, at(f"{act}/reasonCode"), "code") == cs.ARCHIVE_OWN_DOCUMENTS[0],
                "reasonCode must be the archive service request PP1",
                f"{act}/reasonCode",
            ),
            (
                performer != "" and (sender == performer or sender.startswith(f"{performer}.")),
                "authorOrPerformer must name the organisation whose device sends",
                f"{act}/authorOrPerformer",
            ),
            (
                _attr(message, at(f"{doc}/statusCode"), "code") == "completed",
                "statusCode must be completed",
                f"{doc}/statusCode",
            ),
            (
                _attr(message, at(f"{doc}/completionCode"), "codeSystem") == cs.COMPLETION
                and _attr(message, at(f"{doc}/completionCode"), "code") == cs.LEGALLY_AUTHENTICATED[0],
                "completionCode must be LA: the archive takes signed documents only",
                f"{doc}/completionCode",
            ),
            (
                _attr(message, at(f"{doc}/storageCode"), "codeSystem") == cs.STORAGE
                and _attr(message, at(f"{doc}/storageCode"), "code") == cs.STORAGE_ACTIVE[0],
                "storageCode must be AC",
                f"{doc}/storageCode",
            ),
            (
                (message.find(at(f"{doc}/reasonCode"), NS) is not None) == (interaction == ARCHIVE_NEW_VERSION),
                "a new version, and only a new version, carries the reason for replacing (reasonCode)",
                f"{doc}/reasonCode",
            ),
        )
        for ok, rule, where in rules:
            if not ok:
                raise ArchiveFault("MessageInvalid", rule, location=f"/{interaction}/{where}")

    def _check_replacement(self, parent: etree._Element, *, set_id: str, version: int) -> None:
        where = "/ClinicalDocument/relatedDocument/parentDocument"
        previous = self.documents.get(_root(parent, "v3:id"))
        if previous is None:
            raise ArchiveFault(
                "PreviousVersionUnknown", "the replaced document is not archived", location=f"{where}/id"
            )
        if previous.replaced_by is not None:
            raise ArchiveFault(
                "PreviousVersionMismatch", "the replaced document is already replaced", location=f"{where}/id"
            )
        if previous.set_id != set_id or _root(parent, "v3:setId") != set_id:
            raise ArchiveFault(
                "PreviousVersionMismatch",
                "setId differs from the replaced document's set",
                location="/ClinicalDocument/setId",
            )
        if version <= previous.version:
            raise ArchiveFault(
                "PreviousVersionMismatch",
                "versionNumber must be greater than the replaced version's",
                location="/ClinicalDocument/versionNumber",
            )


def _check_message(message: etree._Element, expected: str) -> None:
    if etree.QName(message).localname != expected or etree.QName(message).namespace != V3:
        raise ArchiveFault("InteractionMismatch", f"this operation takes {expected}", location="/*")
    problems = validation.validate_xml(validation.message_schema(), message)
    if problems:
        raise ArchiveFault(
            "MessageInvalid", f"the message is not valid: {problems[0].message}", location=problems[0].location
        )
    if _attr(message, "v3:interactionId", "extension") != expected:
        raise ArchiveFault(
            "InteractionMismatch", f"interactionId must be {expected}", location=f"/{expected}/interactionId"
        )


def _decode(meta: etree._Element) -> etree._Element:
    """The CDA document out of clinicalDocument/text: a multipart/related MIME body, one base64 part."""
    where = "clinicalDocument/text"
    text = meta.find("v3:text", NS)
    assert text is not None  # the message schema requires it
    if text.get("mediaType") != MULTIPART:
        raise ArchiveFault("DocumentNotDecodable", f"the document travels as a {MULTIPART} MIME body", location=where)
    body = (text.text or "").strip().encode("utf-8")
    mime = email.message_from_bytes(body, policy=email.policy.compat32)
    parts = mime.get_payload() if mime.is_multipart() else None
    if mime.get_content_type() != MULTIPART or not isinstance(parts, list) or len(parts) != 1:
        raise ArchiveFault("DocumentNotDecodable", f"the {MULTIPART} body must hold exactly one part", location=where)
    part = parts[0]
    if not isinstance(part, email.message.Message):
        raise ArchiveFault("DocumentNotDecodable", "the part is not a MIME entity", location=f"{where}/part")
    if part.get_content_type() != "text/xml" or str(part.get("Content-Transfer-Encoding", "")).lower() != "base64":
        raise ArchiveFault("DocumentNotDecodable", "the part must be base64 text/xml", location=f"{where}/part")
    if str(part.get("Content-ID", "")).strip() != f"<{_root(meta, 'v3:id')}>":
        raise ArchiveFault(
            "DocumentNotDecodable", "the part's Content-ID must be the document id", location=f"{where}/Content-ID"
        )
    try:
        raw = base64.b64decode("".join(str(part.get_payload()).split()), validate=True)
        return validation.parse_xml(raw)
    except binascii.Error:
        raise ArchiveFault("DocumentNotDecodable", "the part is not base64", location=f"{where}/part") from None
    except validation.XmlTooLarge:
        raise ArchiveFault("DocumentTooLarge", "the document is over the size limit", location=where) from None
    except validation.UnsafeXml:
        raise ArchiveFault("DocumentUnsafe", "the document declares a DTD", location=where) from None
    except etree.XMLSyntaxError:
        raise ArchiveFault("DocumentNotDecodable", "the document is not well-formed XML", location=where) from None


def _check_document_schema(document: etree._Element) -> None:
    problems = validation.validate_document(document)
    if problems:
        first = problems[0]
        raise ArchiveFault(
            "DocumentInvalid",
            f"not valid against the HL7 Finland CDA R2 schema: {first.message}",
            location=first.location,
        )


def _check_document(document: etree._Element, meta: etree._Element) -> tuple[cs.Structure, dict[str, Any]]:
    structure = cs.BY_OID.get(_root(document, "v3:templateId"))
    if structure is None:
        raise ArchiveFault(
            "UnsupportedStructure",
            "templateId names no structure this archive takes",
            location="/ClinicalDocument/templateId",
        )
    _check_header(document, meta)
    _check_code_systems(document)
    structured = _structured(document, structure)
    tasks = {t["code"] for t in _codings(structured, cs.SERVICE_TASK)}
    if tasks and _attr(document, "hl7fi:localHeader/hl7fi:functionCode", "code") not in tasks:
        raise ArchiveFault(
            "HeaderMismatch",
            "functionCode is not the content's palvelutehtävä",
            location="/ClinicalDocument/localHeader/functionCode",
        )
    return structure, structured


def _check_header(document: etree._Element, meta: etree._Element) -> None:
    """The Finnish header's rules, and the message's metadata agreeing with the document's."""
    rules = (
        (_attr(document, "v3:realmCode", "code") == "FI", "realmCode must be FI", "realmCode"),
        (_attr(document, "v3:code", "codeSystem") == cs.REGISTER_TYPE, "code must be a register type", "code"),
        (
            _attr(document, "v3:code", "code") == cs.SOCIAL_CARE_REGISTER[0],
            "this archive holds the social care register",
            "code",
        ),
        (_attr(document, "v3:id", "extension") == "", "id is an OID in root only", "id"),
        (len(_root(document, "v3:id")) <= MAX_OID_LENGTH, f"id is at most {MAX_OID_LENGTH} characters", "id"),
        (
            _attr(document, "v3:confidentialityCode", "codeSystem") == cs.CONFIDENTIALITY,
            "confidentialityCode is from Kanta's code system",
            "confidentialityCode",
        ),
        (
            _attr(document, "v3:recordTarget/v3:patientRole/v3:id", "root") == cs.HETU,
            "the client is identified by hetu",
            "recordTarget",
        ),
        (
            _attr(document, "hl7fi:localHeader/hl7fi:functionCode", "codeSystem") == cs.SERVICE_TASK,
            "functionCode is a palvelutehtävä",
            "localHeader/functionCode",
        ),
    )
    for ok, rule, where in rules:
        if not ok:
            raise ArchiveFault("HeaderInvalid", rule, location=f"/ClinicalDocument/{where}")
    hetu = _attr(document, "v3:recordTarget/v3:patientRole/v3:id", "extension")
    try:
        parse_hetu(hetu)
    except InvalidHetu as exc:
        raise ArchiveFault(
            "HeaderInvalid", f"recordTarget hetu: {exc}", location="/ClinicalDocument/recordTarget/patientRole/id"
        ) from None
    for name, in_message, in_document in (
        ("id", _root(meta, "v3:id"), _root(document, "v3:id")),
        ("setId", _root(meta, "v3:setId"), _root(document, "v3:setId")),
        ("versionNumber", _attr(meta, "v3:versionNumber", "value"), _attr(document, "v3:versionNumber", "value")),
        ("recordTarget", _attr(meta, "v3:recordTarget/v3:patient/v3:id", "extension"), hetu),
        ("effectiveTime", _attr(meta, "v3:effectiveTime", "value"), _attr(document, "v3:effectiveTime", "value")),
        (
            "confidentialityCode",
            _attr(meta, "v3:confidentialityCode", "code"),
            _attr(document, "v3:confidentialityCode", "code"),
        ),
        (
            "custodian",
            _root(meta, "v3:custodian/v3:assignedCustodian/v3:representedOrganization/v3:id"),
            _root(document, "v3:custodian/v3:assignedCustodian/v3:representedCustodianOrganization/v3:id"),
        ),
    ):
        if in_message != in_document:
            raise ArchiveFault(
                "HeaderMismatch",
                f"the message's {name} differs from the document's",
                location=f"clinicalDocument/{name}",
            )


def _check_code_systems(document: etree._Element) -> None:
    """Every codeSystem anywhere in the document must be one the archive knows."""
    tree = document.getroottree()
    for element in document.iter():
        system = element.get("codeSystem") if isinstance(element.tag, str) else None
        if system is not None and system not in known_code_systems():
            raise ArchiveFault(
                "UnknownCodeSystem",
                "a code system this archive does not know",
                location=validation.readable_path(tree, tree.getpath(element), 0),
            )


def _structured(document: etree._Element, structure: cs.Structure) -> dict[str, Any]:
    where = "/ClinicalDocument/component/structuredBody/component/section/entry/observationMedia/value"
    values = [
        v for v in document.iterfind(".//v3:observationMedia/v3:value", NS) if v.get("mediaType") == "application/json"
    ]
    if len(values) != 1 or values[0].get("representation") != "B64":
        raise ArchiveFault(
            "ContentMissing", "one application/json B64 observationMedia carries the content", location=where
        )
    try:
        data = json.loads(base64.b64decode("".join((values[0].text or "").split()), validate=True))
    except (binascii.Error, ValueError):
        raise ArchiveFault("ContentNotDecodable", "the structured content is not base64 JSON", location=where) from None
    problems = validation.validate_content(structure.oid, data)
    if problems:
        raise ArchiveFault(
            "ContentInvalid", f"not valid {structure.title}: {problems[0].message}", location=problems[0].location
        )
    for pointer, system in _systems(data, ""):
        if cs.bare_oid(system) not in known_code_systems():
            raise ArchiveFault("UnknownCodeSystem", "a code system this archive does not know", location=pointer)
    return dict(data)


def _systems(node: Any, pointer: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if isinstance(node.get("system"), str):
            yield f"{pointer}/system", node["system"]
        for key, value in node.items():
            yield from _systems(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _systems(value, f"{pointer}/{index}")


def _codings(node: Any, system: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("system") == cs.urn(system):
            yield node
        for value in node.values():
            yield from _codings(value, system)
    elif isinstance(node, list):
        for value in node:
            yield from _codings(value, system)


def _root(element: etree._Element, path: str) -> str:
    return _attr(element, path, "root")


def _attr(element: etree._Element, path: str, name: str) -> str:
    found = element.find(path, NS)
    return str(found.get(name, "")) if found is not None else ""


def receipt_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def encode(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")
