"""What each register may receive from an outcome: the minimised, JSON-ready delivery payloads.

The two registers are legally separate (sosiaalihuollon asiakasrekisteri and potilasrekisteri),
so each payload is built from the outcome afresh and carries only its own side's data. A
free-text summary goes to a register only when the outcome touches that register alone: it
may speak of both sides and must not cross.
"""

from __future__ import annotations

from typing import Any

from gateway.contract.outcome_v1 import Client, OutcomeV1
from gateway.contract.results import (
    ChildWelfareNotice,
    DirectHealthCareBooking,
    HealthCareHandover,
    KelaBookingRequest,
    PendingSocialCareMatter,
    SocialCareInitiation,
)
from gateway.deadlines import Deadline
from gateway.mappings import MappingSet


def client_part(client: Client) -> dict[str, Any]:
    return {
        "hetu": client.hetu,
        "given_names": client.given_names,
        "family_name": client.family_name,
        "birth_date": client.birth.isoformat() if client.birth else None,
        "municipality": client.municipality,
        "language": client.language,
        "phone": client.phone,
        "guardian": client.guardian.model_dump(mode="json") if client.guardian else None,
    }


def contact_part(outcome: OutcomeV1) -> dict[str, Any]:
    return {
        "received_at": outcome.contact.received_at.isoformat(),
        "channel": outcome.contact.channel.value,
        "contacted_by": outcome.contact.contacted_by.value,
        "authority": outcome.contact.authority.model_dump(mode="json") if outcome.contact.authority else None,
    }


def guidance_part(outcome: OutcomeV1, *, with_summary: bool) -> dict[str, Any]:
    g = outcome.guidance
    return {
        "started_at": g.started_at.isoformat(),
        "ended_at": g.ended_at.isoformat(),
        "worker_id": g.worker.id,
        "profession": g.worker.profession.value,
        "summary": g.summary if with_summary else None,
    }


def reasons_of(outcome: OutcomeV1, mappings: MappingSet, areas: set[str]) -> list[str]:
    """The outcome's reason codes that belong to ``areas`` (main reason first)."""
    codes = [outcome.reasons.main, *outcome.reasons.additional]
    return [code for code in dict.fromkeys(codes) if mappings.reasons[code].area in areas]


def deadline_part(deadline: Deadline) -> dict[str, Any]:
    return {
        "rule": deadline.rule_id,
        "due": deadline.due.isoformat(),
        "description": deadline.description,
        "legal_basis": deadline.legal_basis,
    }


def patient_record(
    outcome: OutcomeV1,
    mappings: MappingSet,
    *,
    handovers: list[tuple[HealthCareHandover, list[Deadline]]],
    bookings: list[DirectHealthCareBooking],
    with_summary: bool,
) -> dict[str, Any]:
    """The patient-register side: one FHIR transaction's worth of data."""
    return {
        "client": client_part(outcome.client),
        "unit": outcome.unit,
        "contact": contact_part(outcome),
        "guidance": guidance_part(outcome, with_summary=with_summary),
        "reasons": reasons_of(outcome, mappings, {"health_care", "kela", "other"}),
        "handovers": [
            {
                "receiving": h.receiving,
                "urgency": h.urgency.value,
                "note": h.note,
                "deadlines": [deadline_part(d) for d in deadlines],
            }
            for h, deadlines in handovers
        ],
        "bookings": [
            {
                "unit": b.unit,
                "starts_at": b.starts_at.isoformat(),
                "ends_at": b.ends_at.isoformat(),
                "service_type": b.service_type,
                "booking_reference": b.booking_reference,
            }
            for b in bookings
        ],
    }


# What of the result each document shows. Only that goes into its payload: a correction compares
# payloads, and a document must not count as changed because of a field it does not carry.
RESULT_FIELDS: dict[str, tuple[str, ...] | None] = {
    "guidance_record": ("kind", "service_area", "urgency", "note", "matter_reference"),
}


def _result_part(
    document: str, result: SocialCareInitiation | PendingSocialCareMatter | ChildWelfareNotice | None
) -> dict[str, Any] | None:
    if result is None:
        return None
    fields = RESULT_FIELDS.get(document)
    dumped = result.model_dump(mode="json")
    return dumped if fields is None else {k: v for k, v in dumped.items() if k in fields}


def social_care_document(
    outcome: OutcomeV1,
    mappings: MappingSet,
    *,
    document: str,
    service_area: str | None,
    result: SocialCareInitiation | PendingSocialCareMatter | ChildWelfareNotice | None,
    deadlines: list[Deadline],
    with_summary: bool,
) -> dict[str, Any]:
    """One social care document (Kanta). ``document`` names the THL structure to render."""
    payload: dict[str, Any] = {
        "document": document,
        "client": client_part(outcome.client),
        "unit": outcome.unit,
        "service_area": service_area,
        "contact": contact_part(outcome),
        "guidance": guidance_part(outcome, with_summary=with_summary),
        "reasons": reasons_of(outcome, mappings, {"social_care", "kela", "other"}),
        "deadlines": [deadline_part(d) for d in deadlines],
        "result": _result_part(document, result),
    }
    if isinstance(result, ChildWelfareNotice):
        # The notice is about the child; the caller (client) is recorded only as the reporter.
        payload["client"] = {**result.child.model_dump(mode="json"), "birth_date": None}
    return payload


def kela_booking(outcome: OutcomeV1, request: KelaBookingRequest) -> dict[str, Any]:
    """A booking an outcome asks for; the booking API builds the same shape with ``kela_booking_payload``."""
    client = outcome.client
    return kela_booking_payload(
        client={
            "hetu": client.hetu,
            "given_names": client.given_names,
            "family_name": client.family_name,
            "phone": client.phone,
            "municipality": client.municipality,
        },
        unit=outcome.unit,
        worker_id=outcome.guidance.worker.id,
        request=request.model_dump(mode="json"),
    )


def kela_booking_payload(
    *, client: dict[str, Any], unit: str, worker_id: str, request: dict[str, Any]
) -> dict[str, Any]:
    """The ``kela_booking`` payload: who, for whom, and the request (topic, window, contact, slot)."""
    return {"client": client, "unit": unit, "worker_id": worker_id, "request": request}
