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

The document must validate against the HL7 Finland CDA R2 schema, unchanged
(``schemas/hl7fi-cda/CDA_Fi.xsd``), and its JSON against the Sosmeta schema;
:mod:`adapters.kanta.validation` checks both before anything is sent.

**Identity.** A document's OID is derived from the delivery, deterministically, so a resend of
the same delivery is the same document and the archive recognises it (a duplicate archive request
answers "already archived"): ``{document_oid_root}.{n}.{version}``, where ``n`` is the SHA-256 of
the delivery id reduced to as many decimal digits as keep the whole OID within 64 characters (the
limit Kanta's OIDs follow). With the default root that is 31 digits (about 103 bits), so two
deliveries meeting on one OID is not a practical concern; a root so long that fewer than 20 digits
(66 bits) remain is refused. A new version is a new delivery: its own OID, the set id of the first
version, and ``replaces`` = the previous delivery's references.

**Signature.** :func:`sign_rendered` adds the organisation's signature
(:mod:`adapters.kanta.signing`) to a rendered document; rendering itself stays pure.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from adapters.kanta.cda import DocumentIds, PreviousVersion, build_cda, ts
from adapters.kanta.content import Content, build_content
from adapters.kanta.message import DocumentMetadata, interaction_for
from adapters.kanta.narrative import render_narrative
from adapters.kanta.signing import SigningIdentity, sign_document
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


MAX_OID_LENGTH = 64
MIN_OID_DIGITS = 20


def document_oid(root: str, delivery_id: str, version: int) -> str:
    """The deterministic OID (at most 64 characters) of ``delivery_id``'s document, version ``version``."""
    try:
        identity = uuid.UUID(delivery_id).bytes
    except ValueError:
        raise RenderError("the delivery id is not a UUID: no document OID can be derived from it") from None
    digits = MAX_OID_LENGTH - len(root) - len(str(version)) - 2
    if digits < MIN_OID_DIGITS:
        raise RenderError(
            f"the document OID root is too long: {MAX_OID_LENGTH}-character OIDs leave it {digits} digits, "
            f"fewer than {MIN_OID_DIGITS}"
        )
    # An OID arc has no leading zeros: the number is written as is, so it may be shorter than `digits`.
    number = int.from_bytes(hashlib.sha256(identity).digest(), "big") % 10**digits
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


def sign_rendered(rendered: RenderedDocument, identity: SigningIdentity, *, signed_at: datetime) -> RenderedDocument:
    """The same document signed by ``identity`` at ``signed_at`` (the rendered one is left as it was)."""
    document = copy.deepcopy(rendered.document)
    sign_document(document, identity, signed_at=signed_at)
    signed = serialise_document(document)
    # Read back from the bytes: signxml builds the ds: elements namespace-less in memory and lets
    # serialisation put them in the xmldsig namespace, so the bytes, not the tree, are the document.
    reread = etree.fromstring(signed, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    return dataclasses.replace(rendered, document=reread, document_bytes=signed)


def serialise_content(data: Mapping[str, Any]) -> bytes:
    """The Sosmeta JSON as bytes: UTF-8, sorted keys, no insignificant whitespace (byte-stable)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def serialise_document(document: etree._Element) -> bytes:
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")
