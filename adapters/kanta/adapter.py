"""The Kanta adapter: social care documents archived in the Kanta social care client data archive.

One delivery is one document (``payload["document"]`` names its THL structure). The adapter
renders it (:mod:`adapters.kanta.render`), signs it with the organisation's key
(:mod:`adapters.kanta.signing`), checks it against the HL7 Finland CDA R2 schema and the Sosmeta
JSON Schema before anything leaves (a document we cannot make valid is a RenderError,
never the archive's problem), wraps it in the HL7 V3 archive request and sends it. An archive that
already holds the document (a resend after a lost answer) counts as delivered.

``DeliveryResult.references`` carries ``document_oid``, ``set_id``, ``version_number``,
``structure``, ``interaction``, ``message_id`` and ``archived_at`` (None when the archive already
held the document). A new version of the same document reads the first five back from
``DeliveryWork.previous_refs``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from adapters.kanta import validation
from adapters.kanta.client import KantaClient, Receipt
from adapters.kanta.errors import HANDLED, AlreadyArchived, translate
from adapters.kanta.message import build_archive_message
from adapters.kanta.render import RenderedDocument, document_ids, render_document, sign_rendered
from adapters.kanta.settings import KantaSettings
from adapters.kanta.signing import SigningIdentity, load_identity
from adapters.kanta.structures import structure_for
from gateway.errors import (
    BackendRejected,
    BackendUnavailable,
    ConfigurationError,
    RenderError,
    TransientDeliveryError,
)
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from gateway.redaction import personal_values, redact

KIND = "social_care_document"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class KantaAdapter:
    name = "kanta"

    def __init__(
        self,
        settings: KantaSettings,
        *,
        wsdl_url: str,
        client: KantaClient | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client or KantaClient(settings, wsdl_url=wsdl_url)
        self.clock = clock
        self.settings = settings
        self._identity: SigningIdentity | None = None

    async def identity(self) -> SigningIdentity:
        """The signing key and certificate, read (or, for development, generated) on first use."""
        if self._identity is None:
            try:
                # Off the event loop: generating the development key takes a noticeable moment.
                self._identity = await asyncio.to_thread(load_identity, self.settings)
            except (OSError, ValueError) as exc:
                raise ConfigurationError(f"the Kanta signing key or certificate cannot be read: {exc}") from None
        return self._identity

    async def deliver(self, work: DeliveryWork, mappings: MappingSet) -> DeliveryResult:
        personal = personal_values(work.payload)
        now = self.clock()
        rendered = render_work(work, mappings, identity=await self.identity(), signed_at=now)
        message = build_archive_message(
            rendered.document_bytes,
            rendered.metadata,
            message_id=str(uuid.uuid4()),
            created_at=now,
            sender_oid=mappings.organisation.oid,
            settings=self.settings,
        )
        _require_valid("the archive request", validation.validate_xml(validation.message_schema(), message), personal)
        try:
            receipt = await self.client.archive(message, new_version=rendered.ids.replaces is not None)
        except HANDLED as exc:
            # What the archive says about the client is redacted with this delivery's own values.
            outcome = translate(exc, document_oid=rendered.ids.document_oid, personal=personal)
            if isinstance(outcome, AlreadyArchived):
                return DeliveryResult(
                    references={**rendered.references(), "message_id": None, "archived_at": None},
                    backend_status=outcome.backend_status,
                    message=f"{outcome.message}: delivered before (version {rendered.ids.version})",
                )
            raise outcome from None
        _check_receipt(receipt, rendered)
        return DeliveryResult(
            references={
                **rendered.references(),
                "message_id": receipt.message_id,
                "archived_at": receipt.archived_at.isoformat() if receipt.archived_at else None,
            },
            backend_status=receipt.acknowledgement,
            message=f"archived: {rendered.content.structure.title}, version {rendered.ids.version}",
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def render_work(
    work: DeliveryWork,
    mappings: MappingSet,
    *,
    identity: SigningIdentity | None = None,
    signed_at: datetime | None = None,
) -> RenderedDocument:
    """The checked document of one delivery, signed by ``identity`` when given; RenderError if it cannot be valid."""
    if work.kind != KIND:
        raise RenderError(f"the Kanta adapter delivers {KIND}, not {work.kind!r}")
    if work.document_version > 1 and not work.previous_refs:
        # The version this one replaces has not been archived yet (or its references were lost):
        # worth waiting for, not a reason to give up on this version.
        raise TransientDeliveryError("the replaced version has no archive references yet; waiting for it")
    structure = structure_for(work.payload.get("document"))
    ids = document_ids(
        mappings.gateway.document_oid_root,
        delivery_id=work.delivery_id,
        version=work.document_version,
        previous_refs=work.previous_refs,
    )
    rendered = render_document(work.payload, mappings, ids=ids, schema=validation.sosmeta_schema(structure.oid))
    if identity is not None:
        rendered = sign_rendered(rendered, identity, signed_at=signed_at or _utcnow())
    personal = personal_values(work.payload)
    _require_valid(structure.title, validation.validate_content(structure.oid, rendered.content.data), personal)
    _require_valid("the CDA document", validation.validate_document(rendered.document), personal)
    return rendered


def _require_valid(what: str, problems: list[validation.Problem], personal: frozenset[str]) -> None:
    """A RenderError naming the first problems; a schema's message may quote the document's values."""
    if problems:
        shown = redact("; ".join(str(p) for p in problems[:3]), personal)
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise RenderError(f"{what} would not be valid: {shown}{more}")


def _check_receipt(receipt: Receipt, rendered: RenderedDocument) -> None:
    status = receipt.acknowledgement
    if status == "AR":
        raise BackendRejected("the archive rejected the document (acknowledgement AR)", backend_status=status)
    if status != "AA":
        raise BackendUnavailable(
            f"the archive did not accept the document (acknowledgement {status})", backend_status=status
        )
    if receipt.document_id != rendered.ids.document_oid:
        # The reply is about some other document: it says nothing about ours. A resend is safe
        # (the archive answers "already archived" if it did keep ours).
        raise BackendUnavailable("the archive's receipt names another document", backend_status=status)
