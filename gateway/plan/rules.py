"""The register rules: a pure function from (outcome, mappings) to a plan that explains itself.

The table it implements is THL's *Kirjaaminen monialaisessa yhteistyössä* (2022) section 3.2.4:

| situation                                              | becomes                                  |
|--------------------------------------------------------|------------------------------------------|
| anonymous, or advice only / third-sector referral      | anonymous statistics only                |
| social care initiation (vireilletulo)                  | Kanta: initiation record + guidance record|
|   ... made by an authority or professional             |   + contact (with consent) or need notice |
| guidance about a pending social care matter            | Kanta: guidance record                   |
| child welfare concern                                  | Kanta: Lastensuojeluilmoitus + deadlines |
| health care hand-over or direct booking                | Lifecare: one FHIR transaction           |
| both registers                                         | both, each only its own data             |
| Kela phone-appointment request                         | Kela, under the client's consent         |
| a durable consent naming Kela; one covering health data| registered with Kela; FHIR Consent       |

Every action names the rule that produced it, with its legal basis from the one table
(``gateway.plan.bases``), and says which free text its record carries and why. Nothing here
does I/O.

**What a register receives never depends on whether another register is also involved.** Each
register's actions are planned from its own results and the outcome's common facts; the payloads
(``gateway.plan.payloads``) carry exactly what each record shows, and free text follows one rule: a
register receives its own summary (``guidance.social_care_summary`` / ``guidance.health_care_summary``)
if given, else the generic ``guidance.summary``, never the other register's. So a correction that
adds a hand-over to a social-care-only outcome leaves the Kanta documents as they were, and only
the new patient-register record is delivered.
"""

from __future__ import annotations

from datetime import date

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.contract.results import (
    ChildWelfareNotice,
    DirectHealthCareBooking,
    HealthCareHandover,
    KelaBookingRequest,
    PendingSocialCareMatter,
    SocialCareInitiation,
)
from gateway.contract.vocabulary import ContactedBy
from gateway.deadlines import Deadline, deadlines_for
from gateway.mappings import MappingSet
from gateway.plan import payloads
from gateway.plan.bases import basis
from gateway.plan.bookings import BOOKING_KEY, booking_action
from gateway.plan.consents import consent_actions, facts_from_outcome
from gateway.plan.days import contact_day
from gateway.plan.model import Action, Plan, PlannedDeadline, RuleHit
from gateway.plan.statistics import build_statistics

SOCIAL_KINDS = {"social_care_initiation", "pending_social_care_matter", "child_welfare_notice"}
HEALTH_KINDS = {"health_care_handover", "direct_health_care_booking"}


def _age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def plan_outcome(outcome: OutcomeV1, mappings: MappingSet) -> Plan:
    """Decide what ``outcome`` must become. Pure: same input, same plan."""
    day = contact_day(outcome)
    statistics = build_statistics(outcome, mappings, day)
    if outcome.client.anonymous:
        hit = RuleHit("anonymous", basis("anonymous"), "Anonymous guidance: anonymous statistics only.")
        return Plan((hit,), (), (), statistics, mappings.version)

    kinds = {r.kind for r in outcome.results}
    touches_social = bool(kinds & SOCIAL_KINDS)
    touches_health = bool(kinds & HEALTH_KINDS)
    rules: list[RuleHit] = []
    actions: list[Action] = []
    deadlines: list[PlannedDeadline] = []

    if touches_social and touches_health:
        rules.append(
            RuleHit(
                "both-registers",
                basis("both-registers"),
                "The outcome touches both registers: each receives only its own data, and of free text its "
                "own summary if given, else guidance.summary (a text about both sides belongs in "
                "guidance.social_care_summary and guidance.health_care_summary).",
            )
        )
    social = _social_care_actions(outcome, mappings, day)
    for action, action_deadlines in social:
        actions.append(action)
        deadlines.extend(_planned(action_deadlines, action.key))
    patient = _patient_register_action(outcome, mappings, day)
    if patient is not None:
        action, action_deadlines = patient
        actions.append(action)
        deadlines.extend(_planned(action_deadlines, action.key))
    actions.extend(_kela_and_consent_actions(outcome, day))

    if not actions:
        if "advice_only" in kinds:
            rules.append(
                RuleHit(
                    "advice-only",
                    basis("advice-only"),
                    "Advice only, nothing initiated or booked: anonymous statistics only.",
                )
            )
        if "third_sector_referral" in kinds:
            rules.append(
                RuleHit(
                    "third-sector-referral",
                    basis("third-sector-referral"),
                    "Referred to a third-sector service: anonymous statistics only.",
                )
            )
        return Plan(tuple(rules), (), (), statistics, mappings.version)
    deadlines.extend(_planned(deadlines_for(mappings.rules, "guidance_contact", day), None))
    seen: set[str] = set()
    for action in actions:
        if action.rule not in seen:
            seen.add(action.rule)
            rules.append(RuleHit(action.rule, action.legal_basis, action.explanation))
    return Plan(tuple(rules), tuple(actions), tuple(deadlines), statistics, mappings.version)


def _planned(deadlines: list[Deadline], action_key: str | None) -> list[PlannedDeadline]:
    return [
        PlannedDeadline(d.rule_id, d.applies_to, d.due, d.description, d.legal_basis, action_key) for d in deadlines
    ]


def _social_care_actions(outcome: OutcomeV1, mappings: MappingSet, day: date) -> list[tuple[Action, list[Deadline]]]:
    planned: list[tuple[Action, list[Deadline]]] = []
    by_authority = outcome.contact.contacted_by in (ContactedBy.AUTHORITY, ContactedBy.PROFESSIONAL)

    def add(
        key: str,
        rule: str,
        document: str,
        explanation: str,
        area: str | None,
        result: SocialCareInitiation | PendingSocialCareMatter | ChildWelfareNotice | None,
        action_deadlines: list[Deadline],
    ) -> None:
        payload = payloads.social_care_document(
            outcome,
            mappings,
            document=document,
            service_area=area,
            result=result,
            deadlines=action_deadlines,
        )
        free_text = payloads.document_free_text(document, outcome, result)
        explained = f"{explanation} {free_text.explain()}"
        action = Action(key, "kanta", "social_care_document", rule, basis(rule), explained, payload)
        planned.append((action, action_deadlines))

    counters: dict[str, int] = {}

    def key_for(document: str, area: str | None) -> str:
        base = f"kanta:{document}:{area}" if area else f"kanta:{document}"
        counters[base] = counters.get(base, 0) + 1
        return base if counters[base] == 1 else f"{base}:{counters[base]}"

    for result in outcome.results:
        if isinstance(result, SocialCareInitiation):
            area = result.service_area
            age = _age_on(outcome.client.birth, day)
            priority = (
                (age is not None and age >= 75) or result.highest_care_allowance or result.child_needs_special_support
            )
            initiation_deadlines = deadlines_for(mappings.rules, "social_care_initiation", day, priority_group=priority)
            add(
                key_for("initiation", area),
                "social-care-initiation",
                "initiation",
                f"Social care matter initiated (vireilletulo) for {area}: record of initiation.",
                area,
                result,
                initiation_deadlines,
            )
            add(
                key_for("guidance-record", area),
                "social-care-initiation",
                "guidance_record",
                f"Guidance and advice record of the contact that initiated the {area} matter.",
                area,
                result,
                [],
            )
            if by_authority:
                if result.made_with_consent:
                    add(
                        key_for("authority-contact", area),
                        "authority-contact",
                        "authority_contact",
                        "An authority or professional contacted social care with the person's consent.",
                        area,
                        result,
                        [],
                    )
                else:
                    add(
                        key_for("need-notice", area),
                        "need-notice",
                        "need_notice",
                        "A professional reported a need for social care without the person's consent.",
                        area,
                        result,
                        [],
                    )
        elif isinstance(result, PendingSocialCareMatter):
            add(
                key_for("guidance-record", result.service_area),
                "pending-social-care-matter",
                "guidance_record",
                f"Guidance about a pending {result.service_area} matter: guidance record.",
                result.service_area,
                result,
                [],
            )
        elif isinstance(result, ChildWelfareNotice):
            notice_deadlines = deadlines_for(mappings.rules, "child_welfare_notice", day)
            area = mappings.child_welfare_area
            add(
                key_for("child-welfare-notice", area),
                "child-welfare-notice",
                "child_welfare_notice",
                "Child welfare notice (lastensuojeluilmoitus): recorded in child welfare; the clock starts.",
                area,
                result,
                notice_deadlines,
            )
    return planned


def _patient_register_action(
    outcome: OutcomeV1, mappings: MappingSet, day: date
) -> tuple[Action, list[Deadline]] | None:
    handovers = [r for r in outcome.results if isinstance(r, HealthCareHandover)]
    bookings = [r for r in outcome.results if isinstance(r, DirectHealthCareBooking)]
    if not handovers and not bookings:
        return None
    with_deadlines = [(h, deadlines_for(mappings.rules, "health_care_handover", day)) for h in handovers]
    payload = payloads.patient_record(outcome, mappings, handovers=with_deadlines, bookings=bookings)
    parts = []
    if handovers:
        parts.append(f"{len(handovers)} hand-over(s) to health care")
    if bookings:
        parts.append(f"{len(bookings)} direct booking(s)")
    action = Action(
        "lifecare:patient-record",
        "lifecare",
        "patient_record",
        "patient-register",
        basis("patient-register"),
        "Guidance relates to the client's care: "
        + " and ".join(parts)
        + " recorded in the patient register. "
        + payloads.register_summary(outcome.guidance, "patient").explain(),
        payload,
    )
    return action, [d for _, ds in with_deadlines for d in ds]


def _kela_and_consent_actions(outcome: OutcomeV1, day: date) -> list[Action]:
    actions: list[Action] = []
    requests = [r for r in outcome.results if isinstance(r, KelaBookingRequest)]
    for i, request in enumerate(requests, start=1):
        key = f"{BOOKING_KEY}:{i}" if len(requests) > 1 else BOOKING_KEY
        actions.append(booking_action(payloads.kela_booking(outcome, request), key=key))
    for i, consent in enumerate(outcome.consents, start=1):
        actions.extend(consent_actions(facts_from_outcome(outcome, consent, day), suffix=str(i)))
    return actions
