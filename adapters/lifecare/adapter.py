"""The Lifecare adapter: patient-register deliveries (patient records, consents) as FHIR R4 transactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from adapters.lifecare.client import FhirClient
from adapters.lifecare.render import RenderedBundle, render_patient_record
from adapters.lifecare.render_consent import render_consent
from adapters.lifecare.settings import LifecareSettings
from gateway.errors import BackendUnavailable, RenderError
from gateway.mappings import MappingSet
from gateway.outbox.adapter import DeliveryResult, DeliveryWork
from gateway.redaction import personal_values


class _Render(Protocol):
    def __call__(
        self,
        payload: Mapping[str, Any],
        mappings: MappingSet,
        *,
        delivery_id: str,
        identifier_root: str | None = None,
        previous: Mapping[str, str] | None = None,
    ) -> RenderedBundle: ...


RENDERERS: dict[str, _Render] = {"patient_record": render_patient_record, "fhir_consent": render_consent}
"""What each delivery kind becomes: one transaction Bundle."""


class LifecareAdapter:
    name = "lifecare"

    def __init__(self, settings: LifecareSettings, *, base_url: str, client: FhirClient | None = None) -> None:
        self.client = client or FhirClient(settings, base_url)

    async def deliver(self, work: DeliveryWork, mappings: MappingSet) -> DeliveryResult:
        render = RENDERERS.get(work.kind)
        if render is None:
            raise RenderError(f"the Lifecare adapter cannot deliver {work.kind!r}")
        previous = dict(work.previous_refs or {})
        rendered = render(
            work.payload,
            mappings,
            delivery_id=work.delivery_id,
            identifier_root=previous.get("identifier_root"),
            previous=previous.get("resources"),
        )
        # What the server says about the patient is redacted with this delivery's own values.
        reply = await self.client.transaction(rendered.bundle, personal=personal_values(work.payload))
        resources, statuses = _locations(reply, rendered.roles, rendered.bundle)
        created = sum(1 for s in statuses if s.startswith("201"))
        return DeliveryResult(
            references={"identifier_root": previous.get("identifier_root") or work.delivery_id, "resources": resources},
            backend_status="200",
            message=f"transaction: {created} created, {len(statuses) - created} matched or updated",
        )

    async def aclose(self) -> None:
        await self.client.aclose()


def _locations(
    reply: dict[str, Any], roles: dict[str, str], bundle: dict[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """Map each role to the id the server gave it (``Patient/123``) from the transaction-response."""
    entries = reply.get("entry")
    if reply.get("resourceType") != "Bundle" or not isinstance(entries, list) or len(entries) != len(bundle["entry"]):
        raise BackendUnavailable("the transaction-response does not answer every entry", backend_status="200")
    resources: dict[str, str] = {}
    statuses: list[str] = []
    for sent, answered in zip(bundle["entry"], entries, strict=True):
        response = answered.get("response") or {}
        resources[roles[sent["fullUrl"]]] = _relative_id(str(response.get("location", "")))
        statuses.append(str(response.get("status", "")))
    return resources, statuses


def _relative_id(location: str) -> str:
    """``Patient/123`` from ``Patient/123/_history/2`` or ``https://host/fhir/Patient/123``."""
    segments = [s for s in location.split("/") if s]
    if "_history" in segments:
        segments = segments[: segments.index("_history")]
    if len(segments) < 2:
        raise BackendUnavailable("a transaction-response entry has no location", backend_status="200")
    return f"{segments[-2]}/{segments[-1]}"
