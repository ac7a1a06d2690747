"""What a running gateway holds: settings, engine, mappings, metrics, keys. Built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.registry import BACKENDS
from gateway.fingerprints import Fingerprinter, load_or_create_secret
from gateway.mappings import MappingSet, load_mappings
from gateway.metrics import Metrics
from gateway.settings import GatewaySettings
from gateway.store.engine import create_engine


class MappingHolder:
    """The active mapping set; replaced as a whole when an admin reloads mappings."""

    def __init__(self, mappings: MappingSet) -> None:
        self._current = mappings

    def current(self) -> MappingSet:
        return self._current

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
    metrics: Metrics = field(default_factory=Metrics)

    def enabled_backends(self) -> set[str]:
        """Back-ends with an adapter that is enabled: deliveries to others wait, visibly."""
        return set(self.backends)

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def build_state(settings: GatewaySettings, *, mappings: MappingSet | None = None) -> GatewayState:
    secret = load_or_create_secret(
        settings.data_dir, settings.secret_key.get_secret_value() if settings.secret_key else None
    )
    return GatewayState(
        settings=settings,
        engine=create_engine(settings.resolved_database_url),
        mappings=MappingHolder(mappings or load_mappings(settings.mappings_dir)),
        fingerprints=Fingerprinter(secret),
        backends=frozenset(spec.name for spec in BACKENDS if spec.enabled(settings)),
    )


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]
