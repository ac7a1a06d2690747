"""What a running gateway holds: settings, engine, mappings, metrics, keys. Built once per app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.fingerprints import Fingerprinter
from gateway.mappings import MappingSet, load_mappings
from gateway.metrics import Metrics
from gateway.settings import GatewaySettings


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
    metrics: Metrics = field(default_factory=Metrics)

    def enabled_backends(self) -> set[str]:
        s = self.settings
        return {name for name, cfg in (("lifecare", s.lifecare), ("kanta", s.kanta), ("kela", s.kela)) if cfg.enabled}

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)


def get_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.gateway
    return state


State = Annotated[GatewayState, Depends(get_state)]
