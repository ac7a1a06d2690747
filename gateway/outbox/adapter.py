"""The one seam between the worker and the back-ends.

The worker knows this protocol and nothing of FHIR, SOAP or lxml. An adapter renders a delivery
(pure, in its ``render`` module), sends it (its ``client``), and reports either a
:class:`DeliveryResult` or raises a :class:`gateway.errors.DeliveryError` subclass, which decides
whether the outbox retries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.mappings import MappingSet


@dataclass(frozen=True, slots=True)
class DeliveryWork:
    """One claimed delivery, as an adapter sees it."""

    delivery_id: str
    outcome_id: str | None  # None for a delivery about a consent recorded through the consent API
    action_key: str
    kind: str
    payload: Mapping[str, Any] = field(repr=False)
    attempt: int
    document_version: int = 1
    supersedes: str | None = None
    previous_refs: Mapping[str, Any] | None = None
    consent_id: str | None = None

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and resends: what lets a back-end recognise a repeat."""
        return f"{self.delivery_id}"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """A successful delivery: what the back-end now holds, and what it said."""

    references: dict[str, Any]
    backend_status: str
    message: str = ""


class Adapter(Protocol):
    """A back-end the worker can deliver to."""

    name: str

    async def deliver(self, work: DeliveryWork, mappings: MappingSet) -> DeliveryResult:
        """Render and send ``work``; raise a ``DeliveryError`` subclass on failure."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
