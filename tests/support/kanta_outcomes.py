"""Realistic Kanta payloads for tests: outcomes run through the real planner, the kanta actions taken out.

Fixed dates and ids, so documents rendered from them are byte-stable (golden files). The hetus are
the valid example codes of the design brief; names and phones are invented.
"""

from __future__ import annotations

from typing import Any

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan.rules import plan_outcome

ADULT_HETU = "131052-308T"
YOUNG_ADULT_HETU = "010594Y9032"
CHILD_HETU = "020516C903K"

# One delivery id per golden document (the OID is derived from it).
DELIVERY_IDS = {
    "initiation": "5b7c3f0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
    "guidance_record": "6c8d4f1f-2b3c-4d4e-9fa0-1b2c3d4e5f60",
    "authority_contact": "7d9e5a2a-3c4d-4e5f-a0b1-2c3d4e5f6071",
    "need_notice": "8eaf6b3b-4d5e-4f60-b1c2-3d4e5f607182",
    "child_welfare_notice": "9fb07c4c-5e6f-4071-c2d3-4e5f60718293",
}


def _outcome(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": {"system": "test-crm", "outcome_id": "T-1", "revision": 1},
        "unit": "ASOHJ-KESKITETTY",
        "contact": {"received_at": "2026-01-15T09:05:00+02:00", "channel": "phone", "contacted_by": "client"},
        "guidance": {
            "started_at": "2026-01-15T09:05:00+02:00",
            "ended_at": "2026-01-15T09:32:00+02:00",
            "worker": {"id": "T-1042", "profession": "social_instructor"},
            "summary": "Asiakas kertoi arjen vaikeuksista ja asumisen huolista.",
        },
        "client": {
            "hetu": ADULT_HETU,
            "given_names": "Maija Liisa",
            "family_name": "Meikäläinen",
            "municipality": "179",
            "language": "fi",
            "phone": "+358401234567",
        },
        "reasons": {"main": "ARKI", "additional": ["ASUMINEN"]},
        "results": [],
    }
    body.update(overrides)
    return body


def initiation_outcome(**result: Any) -> OutcomeV1:
    """A client asks for adult social work; highest care allowance, so the SHL 36 § deadline applies."""
    initiation = {
        "kind": "social_care_initiation",
        "service_area": "AIKUISSOSTYO",
        "urgency": "non_urgent",
        "reasons": ["ASUMINEN"],
        "description": "Asiakas hakee tukea asumiseen ja arjessa selviytymiseen.",
        "highest_care_allowance": True,
        **result,
    }
    return OutcomeV1.model_validate(_outcome(results=[initiation]))


def authority_outcome(*, with_consent: bool) -> OutcomeV1:
    """The police (with consent) or a health care professional (without) contacted the guidance unit."""
    contact = {
        "received_at": "2026-01-15T09:05:00+02:00",
        "channel": "phone",
        "contacted_by": "authority" if with_consent else "professional",
        "authority": {"kind": "police", "organisation": "Sisä-Suomen poliisilaitos"}
        if with_consent
        else {"kind": "health_care", "organisation": "Keskustan terveysasema"},
    }
    client = {
        "hetu": YOUNG_ADULT_HETU,
        "given_names": "Ville",
        "family_name": "Virtanen",
        "municipality": "179",
        "phone": "+358401234568",
    }
    initiation = {
        "kind": "social_care_initiation",
        "service_area": "PAIHDE-MIELI",
        "urgency": "urgent",
        "reasons": ["PAIHTEET"],
        "description": "Päihteiden käyttö on lisääntynyt ja asunto on vaarassa.",
        "made_with_consent": with_consent,
    }
    return OutcomeV1.model_validate(
        _outcome(contact=contact, client=client, reasons={"main": "PAIHTEET", "additional": []}, results=[initiation])
    )


def child_welfare_outcome() -> OutcomeV1:
    client = {"hetu": ADULT_HETU, "given_names": "Maija Liisa", "family_name": "Meikäläinen"}
    notice = {
        "kind": "child_welfare_notice",
        "child": {"hetu": CHILD_HETU, "given_names": "Eetu Onni", "family_name": "Esimerkki", "municipality": "179"},
        "reporter_type": "private_person",
        "reporter_name": "Maija Meikäläinen",
        "concern": "Naapurin lapsi on usein yksin kotona myöhään illalla.",
        "urgent": True,
        "child_informed": False,
        "guardian_informed": True,
    }
    return OutcomeV1.model_validate(
        _outcome(unit="PEKE-ASOHJ", client=client, reasons={"main": "LAPSI", "additional": []}, results=[notice])
    )


def pending_matter_outcome() -> OutcomeV1:
    pending = {
        "kind": "pending_social_care_matter",
        "service_area": "IKAANTYNEET",
        "matter_reference": "SOS-2025-4411",
        "note": "Asiakas kysyi omaishoidon tuen hakemuksen käsittelyaikaa.",
    }
    contact = {"received_at": "2026-01-15T09:05:00+02:00", "channel": "chat", "contacted_by": "client"}
    return OutcomeV1.model_validate(
        _outcome(contact=contact, reasons={"main": "OMAINEN", "additional": []}, results=[pending])
    )


def kanta_payloads(outcome: OutcomeV1, mappings: MappingSet) -> dict[str, dict[str, Any]]:
    """The kanta deliveries the planner makes of ``outcome``, by payload["document"]."""
    plan = plan_outcome(outcome, mappings)
    return {a.payload["document"]: a.payload for a in plan.actions if a.backend == "kanta"}


def golden_payloads(mappings: MappingSet) -> dict[str, dict[str, Any]]:
    """One payload per structure: the five golden documents."""
    return {
        "initiation": kanta_payloads(initiation_outcome(), mappings)["initiation"],
        "guidance_record": kanta_payloads(pending_matter_outcome(), mappings)["guidance_record"],
        "authority_contact": kanta_payloads(authority_outcome(with_consent=True), mappings)["authority_contact"],
        "need_notice": kanta_payloads(authority_outcome(with_consent=False), mappings)["need_notice"],
        "child_welfare_notice": kanta_payloads(child_welfare_outcome(), mappings)["child_welfare_notice"],
    }
