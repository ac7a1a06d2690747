"""A delivery rendered for the Kanta social care archive: ids, content, display form and header. Pure.

**Packing (an assumption, written down as the design brief asks).** The 2015 social care document
standard stores a structured document as XHTML + JSON with separate metadata; how the current
archive packs those parts into one archived file is not public here. This adapter packs all three
into ONE HL7 CDA R2 document:

1. the *structured content* - the Sosmeta JSON of the structure, valid against THL's JSON Schema of
   that structure version - as the section's entry ``observationMedia/value`` (``mediaType``
   application/json, ``representation`` B64, serialised with sorted keys so it is byte-stable);
2. the *display form* - the CDA narrative block (``section/text``), rendered from that same JSON;
3. the *metadata* - the Finnish CDA R2 header, with the HL7 Finland local header (``hl7fi:``).

The document must validate against the normative CDA R2 schema extended only by the local header
(``schemas/cda-fi/CDA_Fi.xsd``) and its JSON against the Sosmeta schema; :mod:`adapters.kanta.validation`
checks both before anything is sent.

**Identity.** A document's OID is derived from the delivery: ``{document_oid_root}.{uuid(delivery).int}
.{version}``, so a resend of the same delivery is the same document and the archive recognises it
(a duplicate archive request answers "already archived"). A new version is a new delivery: its own
OID, the set id of the first version, and ``replaces`` = the previous delivery's references.
The OID is about 70 characters with the default root; an archive that limits OIDs to 64 characters
would need a shorter derivation (e.g. a shorter root).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters.kanta.cda import DocumentIds, PreviousVersion, build_cda, ts
from adapters.kanta.content import Content, build_content
from adapters.kanta.message import DocumentMetadata, interaction_for
from adapters.kanta.narrative import render_narrative
from gateway.errors import RenderError
from gateway.mappings import MappingSet

REFERENCE_KEYS = ("document_oid", "set_id", "version_number", "structure", "interaction")


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """Everything the adapter sends and remembers for one delivery."""

    content: Content
    content_json: bytes
    document: etree._Element
    document_bytes: bytes
    ids: DocumentIds
    metadata: DocumentMetadata

    @property
    def interaction(self) -> str:
        return interaction_for(self.metadata)

    def references(self) -> dict[str, Any]:
        """What DeliveryResult.references carries; a later version reads these as ``previous_refs``."""
        return {
            "document_oid": self.ids.document_oid,
            "set_id": self.ids.set_id,
            "version_number": self.ids.version,
            "structure": self.content.structure.oid,
            "interaction": self.interaction,
        }


def document_oid(root: str, delivery_id: str, version: int) -> str:
    """The deterministic OID of ``delivery_id``'s document (version ``version``)."""
    try:
        number = uuid.UUID(delivery_id).int
    except ValueError:
        raise RenderError("the delivery id is not a UUID: no document OID can be derived from it") from None
    return f"{root}.{number}.{version}"


def document_ids(root: str, *, delivery_id: str, version: int, previous_refs: Mapping[str, Any] | None) -> DocumentIds:
    """Ids of a first version, or of a new version from the references its predecessor's delivery returned."""
    oid = document_oid(root, delivery_id, version)
    if version <= 1:
        return DocumentIds(document_oid=oid, set_id=oid, version=1)
    if not previous_refs:
        raise RenderError("a new version needs the references of the version it replaces")
    try:
        previous = PreviousVersion(
            document_oid=str(previous_refs["document_oid"]),
            set_id=str(previous_refs["set_id"]),
            version=int(previous_refs["version_number"]),
        )
    except (KeyError, TypeError, ValueError):
        raise RenderError("the replaced version's references lack document_oid, set_id or version_number") from None
    if previous.version >= version:
        raise RenderError(f"version {version} cannot replace version {previous.version}")
    return DocumentIds(document_oid=oid, set_id=previous.set_id, version=version, replaces=previous)


def render_document(
    payload: Mapping[str, Any], mappings: MappingSet, *, ids: DocumentIds, schema: Mapping[str, Any]
) -> RenderedDocument:
    """Content, narrative and header of one document; ``schema`` is its structure's Sosmeta JSON Schema."""
    content = build_content(payload, mappings)
    content_json = serialise_content(content.data)
    document = build_cda(
        content,
        payload=payload,
        mappings=mappings,
        ids=ids,
        narrative=render_narrative(content, schema),
        content_json=content_json,
    )
    client = payload.get("client") or {}
    guidance = payload.get("guidance") or {}
    replaces = ids.replaces
    metadata = DocumentMetadata(
        document_oid=ids.document_oid,
        set_id=ids.set_id,
        version=ids.version,
        effective_time=ts(str(guidance.get("ended_at"))),
        client_hetu=str(client.get("hetu") or ""),
        custodian_oid=mappings.registers.social_care.keeper_oid,
        replaces=(replaces.document_oid, replaces.set_id, replaces.version) if replaces else None,
    )
    return RenderedDocument(content, content_json, document, serialise_document(document), ids, metadata)


def serialise_content(data: Mapping[str, Any]) -> bytes:
    """The Sosmeta JSON as bytes: UTF-8, sorted keys, no insignificant whitespace (byte-stable)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def serialise_document(document: etree._Element) -> bytes:
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")
