"""A mapping set's code translations as FHIR R4 ConceptMap resources (built and checked with fhir.resources).

Pure. The FHIR R4B models are used: R4B is R4's technical correction and its ConceptMap is R4's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhir.resources.R4B.conceptmap import ConceptMap

from gateway.contract.vocabulary import Channel
from gateway.mappings import MappingSet

SUPPORT_NEED = "urn:oid:1.2.246.537.6.1282"  # THL Sosiaalihuolto - Tuen tarve
ASIOINTITAPA = "urn:oid:1.2.246.537.6.1250"  # THL Sosiaalihuolto - Asiointitapa
SERVICE_TASK = "urn:oid:1.2.246.537.6.1221"  # THL Sosiaalihuolto - Palvelutehtävä
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONTRACT_CHANNEL = "urn:asiakasohjaus-gateway:contract:v1:channel"


def concept_maps(mappings: MappingSet, *, status: str = "active") -> list[dict[str, Any]]:
    """The set's translations, one ConceptMap each; every resource is validated before it is returned."""
    local = mappings.gateway.local_code_system
    built = [
        _concept_map(
            mappings,
            status,
            "reasons-support-need",
            "Local reason codes to THL support need (tuen tarve)",
            local,
            SUPPORT_NEED,
            (
                (code, reason.display, reason.support_need, None)
                for code, reason in mappings.reasons.items()
                if reason.support_need is not None
            ),
        ),
        _concept_map(
            mappings,
            status,
            "channels-asiointitapa",
            "Contact channels to THL asiointitapa",
            CONTRACT_CHANNEL,
            ASIOINTITAPA,
            ((code, c.display, c.asiointitapa, None) for code, c in _channels(mappings)),
        ),
        _concept_map(
            mappings,
            status,
            "channels-encounter-class",
            "Contact channels to FHIR Encounter.class (v3 ActCode)",
            CONTRACT_CHANNEL,
            ENCOUNTER_CLASS,
            ((code, c.display, c.encounter_class, None) for code, c in _channels(mappings)),
        ),
        _concept_map(
            mappings,
            status,
            "service-areas-service-task",
            "Receiving social care service areas to THL palvelutehtävä",
            local,
            SERVICE_TASK,
            (
                (code, area.name, area.service_task.code, area.service_task.display)
                for code, area in mappings.service_areas.items()
            ),
        ),
    ]
    return built


def _channels(mappings: MappingSet) -> list[tuple[str, Any]]:
    order = [c.value for c in Channel]
    return sorted(mappings.channels.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))


def _concept_map(
    mappings: MappingSet,
    status: str,
    name: str,
    title: str,
    source: str,
    target: str,
    pairs: Iterable[tuple[str, str, str | None, str | None]],
) -> dict[str, Any]:
    listed = list(pairs)
    shared = [to for _, _, to, _ in listed]
    # Several local codes translated to one target code: the target is wider than each of them.
    elements = [
        {
            "code": code,
            "display": display,
            "target": [
                {
                    "code": to,
                    **({"display": shown} if shown else {}),
                    "equivalence": "wider" if shared.count(to) > 1 else "equivalent",
                }
            ],
        }
        for code, display, to, shown in listed
    ]
    resource = {
        "resourceType": "ConceptMap",
        "id": name,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "title": title,
        "version": mappings.version,
        "status": status,
        "publisher": mappings.organisation.name,
        "group": [{"source": source, "target": target, "element": elements}],
    }
    # Raises on anything FHIR R4 would refuse: the export is checked, not only shaped.
    checked = ConceptMap.model_validate(resource)
    dumped: dict[str, Any] = checked.model_dump(mode="json", exclude_none=True)
    return dumped
