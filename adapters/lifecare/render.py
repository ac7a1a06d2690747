"""Render a patient-register delivery as one FHIR R4 transaction Bundle. Pure: no I/O.

Finnish conventions (HL7 Finland fi-base): the hetu is the Patient identifier under
``urn:oid:1.2.246.21``; organisations are referred to by their SOTE-organisation-register OIDs;
the home municipality uses fi-base's municipality-code extension. Every resource the gateway
creates carries a gateway identifier derived from the delivery, and every entry is a conditional
create on it (``ifNoneExist``), so a resend of the same delivery creates nothing new. Provenance
has no ``identifier`` element in R4, so it carries the key as a ``meta.tag`` and is conditional on
``_tag`` instead. A corrected revision (a later document version) updates the resources the
first version created, by id, and keeps their identifiers.

The bundle is validated with the ``fhir.resources`` R4B models before it leaves this module; R4B
is wire-compatible with R4 (4.0.1) for every resource used here.

The payload (``gateway.plan.payloads.patient_record``) carries exactly what this transaction shows, so
that a correction updates the resources only when they would change: a field read here must be in
the payload, and a field in the payload must show here (``tests/unit/test_payloads.py``). The
guidance summary (``payload.guidance.summary``, the notes and the appointment's comment) is already
the patient register's own text, chosen by the planner.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from gateway.contract.hetu import HETU_SYSTEM
from gateway.errors import RenderError
from gateway.mappings import MappingSet

MUNICIPALITY_EXTENSION = "https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/municipality-code"
MUNICIPALITY_SYSTEM = "urn:oid:1.2.246.537.6.21"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
OID_SYSTEM = "urn:ietf:rfc:3986"
FINNISH_TIME = ZoneInfo("Europe/Helsinki")
_NAMESPACE = uuid.UUID("6f0d5a52-6c1b-4c1e-9a55-0b3c1f1b8a10")


@dataclass(frozen=True, slots=True)
class RenderedBundle:
    bundle: dict[str, Any]
    roles: dict[str, str]  # fullUrl → role ("Patient", "Encounter", "ServiceRequest/0", ...)


def render_patient_record(
    payload: Mapping[str, Any],
    mappings: MappingSet,
    *,
    delivery_id: str,
    identifier_root: str | None = None,
    previous: Mapping[str, str] | None = None,
) -> RenderedBundle:
    """The transaction for one delivery. ``previous`` maps roles to ids created by an earlier version."""
    ctx = TransactionContext(payload, mappings, identifier_root or delivery_id, previous or {})
    ctx.add_patient()
    ctx.add_encounter()
    for i, handover in enumerate(payload.get("handovers", [])):
        ctx.add_handover(i, handover)
    for i, booking in enumerate(payload.get("bookings", [])):
        ctx.add_booking(i, booking)
    ctx.add_provenance()
    return ctx.bundle()


def oid_ref(oid: str, display: str, kind: str) -> dict[str, Any]:
    return {"type": kind, "identifier": {"system": OID_SYSTEM, "value": f"urn:oid:{oid}"}, "display": display}


def _deadline_end(due: str) -> str:
    """The last moment of the due day in Finnish time: a deadline lasts the whole working day."""
    return datetime.combine(date.fromisoformat(due), time(23, 59, 59), FINNISH_TIME).isoformat()


class TransactionContext:
    def __init__(self, payload: Mapping[str, Any], mappings: MappingSet, root: str, previous: Mapping[str, str]):
        self.p = payload
        self.m = mappings
        self.root = root
        self.previous = previous
        self.entries: list[dict[str, Any]] = []
        self.roles: dict[str, str] = {}
        self.system = mappings.gateway.identifier_system
        guidance = payload["guidance"]
        self.author = {
            "type": "Practitioner",
            "identifier": {"system": mappings.gateway.worker_identifier_system, "value": guidance["worker_id"]},
            "display": guidance["profession"],
        }
        unit = mappings.units[payload["unit"]]
        self.unit_ref = oid_ref(unit.oid, unit.name, "Organization")

    def full_url(self, role: str) -> str:
        return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{self.root}/{role}')}"

    def identifier(self, role: str) -> dict[str, str]:
        return {"system": self.system, "value": f"{self.root}/{role.lower()}"}

    def bundle(self) -> RenderedBundle:
        """The transaction of everything added, validated with the R4B models before it leaves."""
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}
        try:
            Bundle.model_validate(bundle)
        except ValidationError as exc:
            raise RenderError(
                f"rendered bundle is not valid FHIR R4: {exc.error_count()} problem(s), first at "
                f"{'.'.join(str(p) for p in exc.errors()[0]['loc'])}"
            ) from None
        return RenderedBundle(bundle, self.roles)

    def add(self, role: str, resource: dict[str, Any], condition: str) -> str:
        url = self.full_url(role)
        # The Patient is never overwritten: the register may hold more of them than we know.
        existing = self.previous.get(role) if role != "Patient" else None
        if existing is not None:
            resource = {**resource, "id": existing.split("/")[1]}
            request = {"method": "PUT", "url": existing}
        else:
            request = {"method": "POST", "url": resource["resourceType"], "ifNoneExist": condition}
        self.entries.append({"fullUrl": url, "resource": resource, "request": request})
        self.roles[url] = role
        return url

    def add_identified(self, role: str, resource: dict[str, Any]) -> str:
        ident = self.identifier(role)
        resource = {**resource, "identifier": [ident, *resource.get("identifier", [])]}
        return self.add(role, resource, f"identifier={ident['system']}|{ident['value']}")

    def add_patient(self) -> None:
        client = self.p["client"]
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"use": "official", "system": HETU_SYSTEM, "value": client["hetu"]}],
            "name": [{"use": "official", "family": client["family_name"], "given": client["given_names"].split()}],
        }
        if client.get("birth_date"):
            patient["birthDate"] = client["birth_date"]
        if client.get("phone"):
            patient["telecom"] = [{"system": "phone", "value": client["phone"], "use": "mobile"}]
        if client.get("language"):
            patient["communication"] = [
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": client["language"]}]}, "preferred": True}
            ]
        if client.get("municipality"):
            patient["extension"] = [
                {
                    "url": MUNICIPALITY_EXTENSION,
                    "valueCoding": {"system": MUNICIPALITY_SYSTEM, "code": client["municipality"]},
                }
            ]
        # The patient is matched by hetu, never by our identifier: the register may know them already.
        self.patient = self.add("Patient", patient, f"identifier={HETU_SYSTEM}|{client['hetu']}")

    def reason_codes(self) -> list[dict[str, Any]]:
        return [
            {
                "coding": [
                    {"system": self.m.gateway.local_code_system, "code": code, "display": self.m.reasons[code].display}
                ]
            }
            for code in self.p.get("reasons", [])
        ]

    def add_encounter(self) -> None:
        contact, guidance = self.p["contact"], self.p["guidance"]
        channel = self.m.channels[contact["channel"]]
        encounter: dict[str, Any] = {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": ACT_CODE, "code": channel.encounter_class},
            "type": [{"text": f"Asiakasohjaus ({channel.display})"}],
            "subject": {"reference": self.patient},
            "participant": [{"individual": self.author}],
            "period": {"start": guidance["started_at"], "end": guidance["ended_at"]},
            "serviceProvider": self.unit_ref,
        }
        reasons = self.reason_codes()
        if reasons:
            encounter["reasonCode"] = reasons
        self.encounter = self.add_identified("Encounter", encounter)

    def notes(self, own: str | None) -> list[dict[str, Any]]:
        guidance = self.p["guidance"]
        texts = [t for t in (own, guidance.get("summary")) if t]
        return [{"authorReference": self.author, "time": guidance["ended_at"], "text": t} for t in texts]

    def add_handover(self, i: int, handover: Mapping[str, Any]) -> None:
        receiving = self.m.health_units[handover["receiving"]]
        performer = oid_ref(receiving.oid, receiving.name, "Organization")
        deadlines = handover.get("deadlines", [])
        request: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "priority": "urgent" if handover["urgency"] == "urgent" else "routine",
            "code": {
                "text": "Hoidon tarpeen arviointi" if handover["receiving"] == "hta" else f"Ohjaus: {receiving.name}"
            },
            "subject": {"reference": self.patient},
            "encounter": {"reference": self.encounter},
            "authoredOn": self.p["guidance"]["ended_at"],
            "requester": self.author,
            "performer": [performer],
        }
        if deadlines:
            request["occurrencePeriod"] = {"end": _deadline_end(deadlines[0]["due"])}
        reasons = self.reason_codes()
        if reasons:
            request["reasonCode"] = reasons
        notes = self.notes(handover.get("note"))
        if notes:
            request["note"] = notes
        service_request = self.add_identified(f"ServiceRequest/{i}", request)
        task: dict[str, Any] = {
            "resourceType": "Task",
            "status": "requested",
            "intent": "order",
            "priority": request["priority"],
            "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
            "focus": {"reference": service_request},
            "for": {"reference": self.patient},
            "encounter": {"reference": self.encounter},
            "authoredOn": self.p["guidance"]["ended_at"],
            "requester": self.author,
            "owner": performer,
        }
        if deadlines:
            first = deadlines[0]
            task["restriction"] = {"period": {"end": _deadline_end(first["due"])}}
            task["description"] = f"{first['description']} ({first['legal_basis']}), viimeistään {first['due']}"
        self.add_identified(f"Task/{i}", task)

    def add_booking(self, i: int, booking: Mapping[str, Any]) -> None:
        unit = self.m.health_units[booking["unit"]]
        appointment: dict[str, Any] = {
            "resourceType": "Appointment",
            "status": "booked",
            "start": booking["starts_at"],
            "end": booking["ends_at"],
            "created": self.p["guidance"]["ended_at"][:10],
            "participant": [
                {"actor": {"reference": self.patient}, "status": "accepted", "required": "required"},
                {"actor": {**oid_ref(unit.oid, unit.name, "HealthcareService")}, "status": "accepted"},
            ],
            "supportingInformation": [{"reference": self.encounter}],
        }
        if booking.get("service_type"):
            appointment["serviceType"] = [{"text": booking["service_type"]}]
        if booking.get("booking_reference"):
            # The booking's own reference, in the namespace of the unit that issued it.
            appointment["identifier"] = [{"system": f"urn:oid:{unit.oid}", "value": booking["booking_reference"]}]
        comment = self.p["guidance"].get("summary")
        if comment:
            appointment["comment"] = comment
        self.add_identified(f"Appointment/{i}", appointment)

    def add_provenance(self) -> None:
        keeper = self.m.registers.patient
        tag = {"system": self.system, "code": f"{self.root}/provenance"}
        provenance = {
            "resourceType": "Provenance",
            "meta": {"tag": [tag]},
            "target": [{"reference": url} for url in list(self.roles)],
            "recorded": self.p["guidance"]["ended_at"],
            "reason": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}]}],
            "agent": [
                {
                    "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "author"}]},
                    "who": self.author,
                    "onBehalfOf": self.unit_ref,
                },
                {
                    "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "custodian"}]},
                    "who": oid_ref(keeper.keeper_oid, keeper.keeper_name, "Organization"),
                },
            ],
        }
        self.add("Provenance", provenance, f"_tag={tag['system']}|{tag['code']}")
