"""A record's payload changes if and only if the record it renders changes.

Corrections compare payload digests, so a payload that carries a field its record does not show
would re-version the record for nothing, and a payload that lacks one could not be rendered. Each
case below changes one fact of an outcome that touches every record kind, plans both, renders
every Kanta document and the Lifecare transaction of both, and holds payload equality and
rendered equality to each other, record by record.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from adapters.kanta import validation
from adapters.kanta.render import document_ids, render_document
from adapters.kanta.structures import structure_for
from adapters.lifecare.render import render_patient_record
from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan import Action
from gateway.plan.rules import plan_outcome

DELIVERY = "2a6c0f4e-7b1d-4e2f-9a3b-5c6d7e8f9012"

Change = Callable[[dict[str, Any]], None]


def outcome(*, with_consent: bool = True) -> dict[str, Any]:
    """An authority's contact that touches every record kind: both registers, all five Kanta structures but one."""
    return {
        "source": {"system": "test-crm", "outcome_id": "P-1", "revision": 1},
        "unit": "ASOHJ-KESKITETTY",
        "contact": {
            "received_at": "2026-03-10T09:05:00+02:00",
            "channel": "phone",
            "contacted_by": "authority",
            "authority": {"kind": "police", "organisation": "Sisä-Suomen poliisilaitos"},
        },
        "guidance": {
            "started_at": "2026-03-10T09:05:00+02:00",
            "ended_at": "2026-03-10T09:40:00+02:00",
            "worker": {"id": "T-2001", "profession": "social_worker"},
            "summary": "Yhteinen kuvaus tilanteesta.",
        },
        "client": {
            "hetu": "131052-308T",
            "given_names": "Maija Liisa",
            "family_name": "Meikäläinen",
            "municipality": "179",
            "language": "fi",
            "phone": "+358401234567",
            "guardian": {"given_names": "Pekka", "family_name": "Meikäläinen", "phone": "+358401234599"},
        },
        "reasons": {"main": "ARKI", "additional": ["ASUMINEN", "MIELI", "KELA-ETUUS"]},
        "results": [
            {
                "kind": "social_care_initiation",
                "service_area": "AIKUISSOSTYO",
                "urgency": "non_urgent",
                "reasons": ["ASUMINEN"],
                "description": "Asunto vaarassa.",
                "highest_care_allowance": True,
                "made_with_consent": with_consent,
            },
            {
                "kind": "pending_social_care_matter",
                "service_area": "IKAANTYNEET",
                "matter_reference": "SOS-2026-1001",
                "note": "Kysyi hakemuksen tilaa.",
            },
            {
                "kind": "child_welfare_notice",
                "child": {"hetu": "020516C903K", "given_names": "Eetu", "family_name": "Esimerkki"},
                "reporter_type": "police",
                "reporter_name": "Vanhempi konstaapeli",
                "concern": "Lapsi yksin kotona.",
                "urgent": True,
            },
            {"kind": "health_care_handover", "receiving": "hta", "urgency": "non_urgent", "note": "Univaikeuksia."},
            {
                "kind": "direct_health_care_booking",
                "unit": "TA-KESKUSTA",
                "starts_at": "2026-03-12T13:00:00+02:00",
                "ends_at": "2026-03-12T13:30:00+02:00",
                "service_type": "Sairaanhoitajan vastaanotto",
                "booking_reference": "AJ-1",
            },
        ],
    }


def without_description_anonymous_reporter(body: dict[str, Any]) -> None:
    """A need notice that falls back to the summary, and a notice whose reporter stays anonymous."""
    del body["results"][0]["description"]
    body["results"][2]["reporter_type"] = "anonymous"


BASES: dict[str, Callable[[], dict[str, Any]]] = {
    "authority-contact": lambda: outcome(with_consent=True),
    "need-notice": lambda: outcome(with_consent=False),
    "need-notice-on-the-summary": lambda: _changed(outcome(with_consent=False), without_description_anonymous_reporter),
}


def at(path: str, value: Any) -> Change:
    """Set the value at a dotted path (list items by index); ``None`` deletes it."""

    def change(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return change


CHANGES: dict[str, Change] = {
    # the client
    "client.given_names": at("client.given_names", "Maija"),
    "client.phone": at("client.phone", "+358409999999"),
    "client.municipality": at("client.municipality", "180"),
    "client.language": at("client.language", "sv"),
    "client.guardian.phone": at("client.guardian.phone", "+358408888888"),
    "client.guardian.hetu": at("client.guardian.hetu", "010594Y9032"),
    # the contact
    "contact.received_at": at("contact.received_at", "2026-03-09T16:00:00+02:00"),
    "contact.channel": at("contact.channel", "chat"),
    "contact.contacted_by": at("contact.contacted_by", "professional"),
    "contact.authority.organisation": at("contact.authority.organisation", "Itä-Suomen poliisilaitos"),
    # the guidance
    "guidance.started_at": at("guidance.started_at", "2026-03-10T09:00:00+02:00"),
    "guidance.worker.id": at("guidance.worker.id", "T-2002"),
    "guidance.worker.profession": at("guidance.worker.profession", "service_coordinator"),
    "guidance.summary": at("guidance.summary", "Toinen yhteinen kuvaus."),
    "guidance.social_care_summary": at("guidance.social_care_summary", "Sosiaalihuollon kuvaus."),
    "guidance.health_care_summary": at("guidance.health_care_summary", "Terveydenhuollon kuvaus."),
    # the reasons: a social care support need, a health care reason, a Kela reason
    "reasons: + OSALLISUUS": at("reasons.additional", ["ASUMINEN", "MIELI", "KELA-ETUUS", "OSALLISUUS"]),
    "reasons: + TERVEYS": at("reasons.additional", ["ASUMINEN", "MIELI", "KELA-ETUUS", "TERVEYS"]),
    "reasons: - KELA-ETUUS": at("reasons.additional", ["ASUMINEN", "MIELI"]),
    "reasons: ASUMINEN twice": at("reasons.additional", ["ASUMINEN", "MIELI", "KELA-ETUUS", "ASUMINEN"]),
    # the initiation
    "initiation.urgency": at("results.0.urgency", "urgent"),
    "initiation.reasons": at("results.0.reasons", ["TALOUS"]),
    "initiation.description": at("results.0.description", "Toinen kuvaus."),
    "initiation.highest_care_allowance": at("results.0.highest_care_allowance", False),
    "initiation.child_welfare_concern": at("results.0.child_welfare_concern", True),
    # the pending matter
    "pending.note": at("results.1.note", "Toinen viesti."),
    "pending.matter_reference": at("results.1.matter_reference", "SOS-2026-1002"),
    # the child welfare notice
    "notice.concern": at("results.2.concern", "Lapsi yksin kotona usein."),
    "notice.reporter_name": at("results.2.reporter_name", "Ylikonstaapeli"),
    "notice.urgent": at("results.2.urgent", False),
    "notice.child_informed": at("results.2.child_informed", True),
    "notice.child.municipality": at("results.2.child.municipality", "179"),
    # the hand-over and the booking
    "handover.note": at("results.3.note", "Univaikeuksia kuukauden ajan."),
    "handover.urgency": at("results.3.urgency", "urgent"),
    "booking.starts_at": at("results.4.starts_at", "2026-03-12T12:30:00+02:00"),
    "booking.service_type": at("results.4.service_type", "Lääkärin vastaanotto"),
    # what no record shows
    "source.revision": at("source.revision", 2),
    "led_to_client_relationship": at("led_to_client_relationship", True),
}


def _changed(body: dict[str, Any], change: Change) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    change(changed)
    return changed


def records(body: dict[str, Any], mappings: MappingSet) -> dict[str, Action]:
    """The Kanta documents and the Lifecare transaction an outcome becomes, by action key."""
    plan = plan_outcome(OutcomeV1.model_validate(body), mappings)
    return {a.key: a for a in plan.actions if a.kind in ("social_care_document", "patient_record")}


def rendered(action: Action, mappings: MappingSet) -> Any:
    """What the back-end would receive for a first delivery of ``action`` (fixed ids)."""
    if action.backend == "lifecare":
        return render_patient_record(action.payload, mappings, delivery_id=DELIVERY).bundle
    ids = document_ids(mappings.gateway.document_oid_root, delivery_id=DELIVERY, version=1, previous_refs=None)
    schema = validation.sosmeta_schema(structure_for(action.payload["document"]).oid)
    return render_document(action.payload, mappings, ids=ids, schema=schema).document_bytes


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_payload_changes_exactly_when_its_rendered_record_does(base: str, change: str, mappings: MappingSet) -> None:
    before = BASES[base]()
    first, second = records(before, mappings), records(_changed(before, CHANGES[change]), mappings)
    mismatched = [
        key
        for key in first.keys() & second.keys()
        if (first[key].payload == second[key].payload)
        != (rendered(first[key], mappings) == rendered(second[key], mappings))
    ]
    assert mismatched == []


def test_the_outcome_reaches_every_record_kind_the_cases_compare(mappings: MappingSet) -> None:
    documents = {
        a.payload.get("document", a.kind) for base in BASES.values() for a in records(base(), mappings).values()
    }
    assert documents == {
        "initiation",
        "guidance_record",
        "authority_contact",
        "need_notice",
        "child_welfare_notice",
        "patient_record",
    }


def test_the_cases_change_some_records_and_leave_others(mappings: MappingSet) -> None:
    """Not vacuous: over all cases, every record kind both changes and stays the same at least once."""
    seen: dict[str, set[bool]] = {}
    for base in BASES.values():
        before = base()
        first = records(before, mappings)
        for change in CHANGES.values():
            second = records(_changed(before, change), mappings)
            for key in first.keys() & second.keys():
                kind = first[key].payload.get("document", first[key].kind)
                seen.setdefault(kind, set()).add(first[key].payload == second[key].payload)
    assert all(outcomes == {True, False} for outcomes in seen.values()), seen
