"""What a recorded consent must become: registration with Kela, a FHIR Consent in the patient register.

Pure, like the outcome planner. Kela must hold a consent itself before it discloses anything,
so a durable consent naming Kela is registered there; a verbal consent is not (it covers one
transaction on our side only). A consent covering health data is also recorded on the patient
side as a FHIR Consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.contract.outcome_v1 import ConsentGiven, OutcomeV1
from gateway.plan.bases import basis
from gateway.plan.consent_validity import consent_problems
from gateway.plan.model import Action


@dataclass(frozen=True, slots=True)
class ConsentFacts:
    """A consent as the gateway records it, whichever way it arrived (outcome or consent API)."""

    consenter: dict[str, str]
    guardian: dict[str, Any] | None
    parties: tuple[str, ...]
    purpose: str
    categories: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    form: str
    form_reference: str | None
    unit: str
    worker_id: str
    given_at: str

    def payload(self, *, status: str = "active", consent_id: str | None = None) -> dict[str, Any]:
        return {
            "client": dict(self.consenter),
            "guardian": self.guardian,
            "unit": self.unit,
            "worker_id": self.worker_id,
            "given_at": self.given_at,
            "consent_id": consent_id,
            "status": status,
            "consent": {
                "form": self.form,
                "parties": list(self.parties),
                "purpose": self.purpose,
                "data_categories": list(self.categories),
                "valid_from": self.valid_from.isoformat(),
                "valid_until": self.valid_until.isoformat() if self.valid_until else None,
                "form_reference": self.form_reference,
                "given_by_guardian": self.guardian is not None,
            },
        }


def consent_actions(facts: ConsentFacts, *, suffix: str, consent_id: str | None = None) -> list[Action]:
    actions = []
    if "kela" in facts.parties and facts.form != "verbal":
        actions.append(
            Action(
                f"kela:consent:{suffix}",
                "kela",
                "kela_consent",
                "kela-consent",
                basis("kela-consent"),
                f"Register the client's {facts.form} consent with Kela: Kela must hold it itself.",
                facts.payload(consent_id=consent_id),
            )
        )
    if "health" in facts.categories:
        actions.append(
            Action(
                f"lifecare:consent:{suffix}",
                "lifecare",
                "fhir_consent",
                "health-consent",
                basis("health-consent"),
                "The consent covers health data: recorded in the patient register as a FHIR Consent.",
                facts.payload(consent_id=consent_id),
            )
        )
    return actions


def revocation_action(kind: str, action_key: str, facts: ConsentFacts, consent_id: str, reason: str) -> Action:
    """What a delivered registration becomes when the client revokes the consent: a new version of it.

    ``kind`` and ``action_key`` are the delivered registration's; the revocation supersedes it.
    """
    payload = {**facts.payload(status="inactive", consent_id=consent_id), "revocation_reason": reason}
    if kind == "kela_consent":
        return Action(
            f"{action_key}:revocation",
            "kela",
            "kela_consent_revocation",
            "kela-consent",
            basis("kela-consent"),
            "The client revoked the consent: Kela is told.",
            payload,
        )
    return Action(
        f"{action_key}:revocation",
        "lifecare",
        "fhir_consent",
        "health-consent",
        basis("health-consent"),
        "The client revoked the consent: the FHIR Consent becomes inactive.",
        payload,
    )


def facts_from_outcome(outcome: OutcomeV1, consent: ConsentGiven, day: date) -> ConsentFacts:
    """A consent given during a guidance contact, valid from the contact day."""
    client = outcome.client
    guardian = client.guardian.model_dump(mode="json") if consent.given_by_guardian and client.guardian else None
    return ConsentFacts(
        consenter={
            "hetu": client.hetu or "",
            "given_names": client.given_names or "",
            "family_name": client.family_name or "",
        },
        guardian=guardian,
        parties=tuple(p.value for p in consent.parties),
        purpose=consent.purpose,
        categories=tuple(c.value for c in consent.data_categories),
        valid_from=day,
        valid_until=consent.valid_until,
        form=consent.form.value,
        form_reference=consent.form_reference,
        unit=outcome.unit,
        worker_id=outcome.guidance.worker.id,
        given_at=outcome.guidance.ended_at.isoformat(),
    )


def outcome_consent_problems(outcome: OutcomeV1, day: date) -> list[dict[str, str]]:
    """The consents an outcome carries, checked as the consent API checks them (fields named in the outcome).

    The consenter is the client, or the client's guardian when ``given_by_guardian``; either way the
    consent is the client's and is found by the client's hetu.
    """
    fields = {"consenter": "client.hetu", "guardian": "client.guardian.hetu"}
    errors: list[dict[str, str]] = []
    guardian = outcome.client.guardian
    for i, given in enumerate(outcome.consents):
        for problem in consent_problems(
            form=given.form.value,
            form_reference=given.form_reference,
            consenter_hetu=outcome.client.hetu,
            given_by_guardian=given.given_by_guardian,
            guardian_hetu=guardian.hetu if guardian else None,
            valid_from=day,
            valid_until=given.valid_until,
        ):
            field = fields.get(problem.part, f"consents[{i}].{problem.part}")
            errors.append({"field": field, "code": problem.code, "message": f"consents[{i}]: {problem.message}"})
    return errors
