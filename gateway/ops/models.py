"""The operators' API contract: which deliveries an action takes, and what it answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.ops.queries import DeliveryFilter
from gateway.outbox.states import Status

MAX_PAGE = 500
MAX_IDS = 1000
MAX_AGE_SECONDS = 100 * 365 * 86400
"""Older than a century is no filter; beyond it a date cannot be computed."""
BackendName = Literal["lifecare", "kanta", "kela"]


class FilterIn(BaseModel):
    """Deliveries by what they are and where they stand; every field narrows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    statuses: list[Status] = Field(default_factory=list, max_length=len(Status))
    backend: BackendName | None = None
    kind: str | None = Field(default=None, min_length=1, max_length=32)
    source_system: str | None = Field(default=None, min_length=1, max_length=64)
    outcome_id: str | None = Field(
        default=None, min_length=1, max_length=128, description="The gateway's outcome id or the source system's."
    )
    older_than_seconds: float | None = Field(
        default=None, gt=0, le=MAX_AGE_SECONDS, description="Created at least this long ago."
    )
    error_contains: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _narrows(self) -> FilterIn:
        if not self.model_dump(exclude_defaults=True):
            raise ValueError("an empty filter would take every delivery: name at least one condition")
        return self

    def to_filter(self) -> DeliveryFilter:
        return DeliveryFilter(
            statuses=tuple(s.value for s in self.statuses),
            backend=self.backend,
            kind=self.kind,
            source_system=self.source_system,
            outcome_id=self.outcome_id,
            older_than_seconds=self.older_than_seconds,
            error_contains=self.error_contains,
        )


class OpsActionIn(BaseModel):
    """Replay, release or cancel: the deliveries by id or by filter, why, and whether only to look."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    ids: list[Annotated[str, Field(min_length=1, max_length=36)]] | None = Field(
        default=None, min_length=1, max_length=MAX_IDS
    )
    filter: FilterIn | None = None
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="Required unless dry_run.")
    dry_run: bool = Field(default=False, description="List what would move, and why others would not; move nothing.")

    @model_validator(mode="after")
    def _complete(self) -> OpsActionIn:
        if (self.ids is None) == (self.filter is None):
            raise ValueError("name the deliveries either by 'ids' or by 'filter'")
        if not self.dry_run and not self.reason:
            raise ValueError("'reason' is required unless 'dry_run' is true: the action log keeps it")
        return self


class Refusal(BaseModel):
    id: str
    reason: str


class ActionOut(BaseModel):
    action: Literal["replay", "release", "cancel"]
    dry_run: bool
    matched: list[str] = Field(description="Deliveries the action takes (would take, on a dry run).")
    moved: list[str] = Field(description="Deliveries it moved (none on a dry run).")
    refused: list[Refusal] = Field(description="Deliveries it did not move, each with why.")
