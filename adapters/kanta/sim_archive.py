"""The simulated archive's state and rules: what it accepts, what it refuses and why (no HTTP here).

An archive request is checked in the order a real archive would have to: the HL7 V3 message
against its schema and interaction, the document decoded and parsed safely, the CDA R2 document
against CDA R2 + the Finnish local header, the header's rules (register, ids, hetu, function code,
metadata repeated in the message), every code system named anywhere in the document, the
structured content against the Sosmeta JSON Schema of the declared structure, and finally the
archive's own state: a document id is archived once; a new version must replace the latest
version of a known document set. Every refusal is an :class:`ArchiveFault` naming the element or
field (XPath or JSON pointer) and the rule, never the value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lxml import etree

from adapters.kanta import structures as cs
from adapters.kanta import validation
from adapters.kanta.message import ARCHIVE_NEW, ARCHIVE_NEW_VERSION
from gateway.contract.hetu import InvalidHetu, parse_hetu

V3 = "urn:hl7-org:v3"
HL7FI = "urn:hl7finland"
NS = {"v3": V3, "hl7fi": HL7FI}


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

    def __init__(self) -> None:
        self.documents: dict[str, ArchivedRecord] = {}

    def archive(self, message: etree._Element, *, new_version: bool) -> ArchivedRecord:
        expected = ARCHIVE_NEW_VERSION if new_version else ARCHIVE_NEW
        _check_message(message, expected)
        meta = message.find("v3:controlActProcess/v3:subject/v3:clinicalDocument", NS)
        assert meta is not None  # the message schema requires it
        document = _decode(meta)
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
    text = meta.find("v3:text", NS)
    assert text is not None  # the message schema requires it
    if text.get("representation") != "B64" or text.get("mediaType") != "text/xml":
        raise ArchiveFault(
            "DocumentNotDecodable", "the document travels as text/xml in B64", location="clinicalDocument/text"
        )
    try:
        raw = base64.b64decode("".join((text.text or "").split()), validate=True)
        return validation.parse_xml(raw)
    except binascii.Error:
        raise ArchiveFault(
            "DocumentNotDecodable", "clinicalDocument/text is not base64", location="clinicalDocument/text"
        ) from None
    except validation.XmlTooLarge:
        raise ArchiveFault(
            "DocumentTooLarge", "the document is over the size limit", location="clinicalDocument/text"
        ) from None
    except validation.UnsafeXml:
        raise ArchiveFault("DocumentUnsafe", "the document declares a DTD", location="clinicalDocument/text") from None
    except etree.XMLSyntaxError:
        raise ArchiveFault(
            "DocumentNotDecodable", "the document is not well-formed XML", location="clinicalDocument/text"
        ) from None


def _check_document(document: etree._Element, meta: etree._Element) -> tuple[cs.Structure, dict[str, Any]]:
    problems = validation.validate_document(document)
    if problems:
        first = problems[0]
        raise ArchiveFault(
            "DocumentInvalid",
            f"not valid CDA R2 with the Finnish local header: {first.message}",
            location=first.location,
        )
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
