"""What a running gateway holds: settings, engine, mappings, metrics, keys. Built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.registry import BACKENDS, build_adapters, configured_endpoints
from gateway.consents.service import refusal_for_delivery
from gateway.fingerprints import Fingerprinter, load_or_create_secret
from gateway.mappings import MappingSet, load_mappings
from gateway.metrics import Metrics
from gateway.outbox.worker import Worker
from gateway.problems import Problem
from gateway.security.oidc import OidcVerifier, build_verifier
from gateway.security.tokens import Principal
from gateway.settings import GatewaySettings
from gateway.store.engine import create_engine


class MappingHolder:
    """The active mapping set; replaced as a whole when an admin reloads mappings."""

    def __init__(self, mappings: MappingSet) -> None:
        self._current = mappings

    def current(self) -> MappingSet:
        return self._current

    def replace(self, mappings: MappingSet) -> None:
        """Swap in another set as one reference: whoever read ``current()`` keeps the set it read."""
        self._current = mappings

    def reload(self, settings: GatewaySettings) -> MappingSet:
        self._current = load_mappings(settings.mappings_dir)
        return self._current


@dataclass
class GatewayState:
    settings: GatewaySettings
    engine: AsyncEngine
    mappings: MappingHolder
    fingerprints: Fingerprinter
    backends: frozenset[str] = frozenset()
    endpoints: dict[str, str] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    _direct: dict[str, Worker] = field(default_factory=dict)
    # The identity provider's token verifier, when one is configured (settings.oidc.issuer).
    oidc: OidcVerifier | None = None
    # token hash → (trusted until (monotonic), principal or None): saves a database round trip per request
    tokens_seen: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)

    def enabled_backends(self) -> set[str]:
        """Back-ends with an adapter that is enabled: deliveries to others wait, visibly."""
        return set(self.backends)

    def direct(self, backend: str) -> Worker:
        """A worker of this process for synchronous first attempts (a booking answered while the caller waits).

        It records attempts and decides retries exactly as the background worker does; what it
        cannot finish in time, the background worker finishes from the outbox.
        """
        if backend not in self._direct:
            if backend not in self.endpoints or backend not in self.backends:
                raise Problem(
                    503,
                    "backend-not-configured",
                    "Back-end not configured",
                    f"The {backend} adapter has no endpoint configured in this process.",
                )
            self._direct[backend] = Worker(
                engine=self.engine,
                adapters=build_adapters(self.settings, {backend: self.endpoints[backend]}),
                mappings=self.mappings.current,
                settings=self.settings.worker,
                consent_check=refusal_for_delivery,
                metrics=self.metrics,
            )
        return self._direct[backend]

    async def aclose(self) -> None:
        for worker in self._direct.values():
            await worker.aclose()
        if self.oidc is not None:
            await self.oidc.aclose()
        await self.engine.dispose()

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def build_state(
    settings: GatewaySettings, *, mappings: MappingSet | None = None, endpoints: dict[str, str] | None = None
) -> GatewayState:
    secret = load_or_create_secret(
        settings.data_dir, settings.secret_key.get_secret_value() if settings.secret_key else None
    )
    return GatewayState(
        settings=settings,
        engine=create_engine(settings.resolved_database_url),
        mappings=MappingHolder(mappings or load_mappings(settings.mappings_dir)),
        fingerprints=Fingerprinter(secret),
        backends=frozenset(spec.name for spec in BACKENDS if spec.enabled(settings)),
        endpoints=endpoints if endpoints is not None else configured_endpoints(settings),
        oidc=build_verifier(settings.oidc),
    )


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]
