"""The mapping set: local variation as data (reason codes, units, OIDs, channels, deadlines, Kela topics,
statistics codes).

Loaded from a folder of YAML files (``mappings/default`` ships with the product), validated with
pydantic at this boundary and handed around as one immutable :class:`MappingSet`. Its ``version``
is the declared version plus a hash of the content, so a plan can say exactly which set made it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.errors import ConfigurationError

DEFAULT_MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "mappings" / "default"
MAPPING_FILES = (
    "organisation.yaml",
    "units.yaml",
    "service_areas.yaml",
    "health_units.yaml",
    "reasons.yaml",
    "channels.yaml",
    "deadlines.yaml",
    "kela.yaml",
    "statistics.yaml",
)

Oid = str
Area = Literal["social_care", "health_care", "kela", "other"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Coding(_Frozen):
    code: str
    display: str


class Organisation(_Frozen):
    name: str
    business_id: str
    oid: Oid


class RegisterKeeper(_Frozen):
    keeper_oid: Oid
    keeper_name: str


class Registers(_Frozen):
    patient: RegisterKeeper
    social_care: RegisterKeeper


class GatewayIdentifiers(_Frozen):
    identifier_system: str
    document_oid_root: Oid
    local_code_system: str
    worker_identifier_system: str


class Unit(_Frozen):
    name: str
    oid: Oid
    municipality: str | None = None


class ServiceArea(_Frozen):
    name: str
    unit_oid: Oid
    service_task: Coding


class HealthUnit(_Frozen):
    name: str
    oid: Oid


class Reason(_Frozen):
    display: str
    area: Area
    support_need: str | None = Field(default=None, description="1.2.246.537.6.1282 code")


class ChannelMapping(_Frozen):
    display: str
    asiointitapa: str
    encounter_class: str


class KelaTopic(_Frozen):
    fi: str = Field(min_length=1)
    en: str = Field(min_length=1)


class KelaCodes(_Frozen):
    """Kela's code lists as the gateway knows them: the phone-service topics (modelled, see kela.yaml)."""

    topics_modelled: bool = True
    topics: dict[str, KelaTopic] = Field(min_length=1)


class StatisticsCodes(_Frozen):
    """Where each kind of result says the guidance ended, and the Finnish displays of the statistics' codes."""

    ended_how: dict[str, str] = Field(min_length=1)
    displays: dict[Literal["ended_how", "contacted_by", "authority_kind"], dict[str, str]]

    @model_validator(mode="after")
    def _every_code_displayed(self) -> StatisticsCodes:
        shown = self.displays.get("ended_how", {})
        missing = sorted({code for code in self.ended_how.values() if code not in shown})
        if missing:
            raise ValueError(f"statistics.displays.ended_how lacks a display for {', '.join(missing)}")
        return self


class DeadlineRule(_Frozen):
    id: str
    applies_to: Literal["guidance_contact", "social_care_initiation", "child_welfare_notice", "health_care_handover"]
    when: Literal["always", "priority_group"] = "always"
    working_days: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=1)
    description: str
    legal_basis: str
    valid_from: date
    valid_until: date | None = None

    @model_validator(mode="after")
    def _one_measure(self) -> DeadlineRule:
        if (self.working_days is None) == (self.months is None):
            raise ValueError(f"deadline rule {self.id}: give exactly one of working_days and months")
        return self

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class MappingSet(_Frozen):
    version: str
    organisation: Organisation
    registers: Registers
    gateway: GatewayIdentifiers
    units: dict[str, Unit]
    service_areas: dict[str, ServiceArea]
    child_welfare_area: str
    guidance_service_task: Coding
    health_units: dict[str, HealthUnit]
    reasons: dict[str, Reason]
    channels: dict[str, ChannelMapping]
    rules: tuple[DeadlineRule, ...]
    kela: KelaCodes
    statistics: StatisticsCodes

    @model_validator(mode="after")
    def _hta_present(self) -> MappingSet:
        if "hta" not in self.health_units:
            raise ValueError("health_units must define 'hta' (the care-needs assessment unit)")
        if self.child_welfare_area not in self.service_areas:
            raise ValueError(f"child_welfare_area {self.child_welfare_area!r} is not one of service_areas")
        return self


def load_mappings(directory: Path | None = None) -> MappingSet:
    """Read and validate the mapping folder; raise :class:`ConfigurationError` naming what is wrong."""
    folder = directory or DEFAULT_MAPPINGS_DIR
    merged: dict[str, object] = {}
    digest = hashlib.sha256()
    for name in MAPPING_FILES:
        path = folder / name
        try:
            text = path.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"mapping file {path} cannot be read: {exc.strerror}") from None
        digest.update(name.encode() + b"\0" + text)
        try:
            content = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"mapping file {path} is not valid YAML: {exc}") from None
        if not isinstance(content, dict):
            raise ConfigurationError(f"mapping file {path} must hold a mapping at the top level")
        merged.update(content)
    declared = merged.pop("version", "unversioned")
    merged["version"] = f"{declared}+{digest.hexdigest()[:12]}"
    try:
        return MappingSet.model_validate(merged)
    except ValidationError as exc:
        raise ConfigurationError(f"mappings in {folder} are invalid: {exc}") from None


def mappings_from_document(document: Mapping[str, Any]) -> MappingSet:
    """Validate a mapping document (the YAML files merged into one JSON object) as a :class:`MappingSet`.

    Its version is the declared version plus a hash of the canonical JSON, so the same content has
    the same version wherever it was stored from. Raises pydantic's ``ValidationError``.
    """
    content = dict(document)
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    declared = content.pop("version", "unversioned")
    content["version"] = f"{declared}+{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"
    return MappingSet.model_validate(content)
