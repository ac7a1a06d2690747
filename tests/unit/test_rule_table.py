"""One table of rule ids and legal bases (``gateway.plan.bases``): every explanation comes from it."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.contract.outcome_v1 import OutcomeV1
from gateway.mappings import MappingSet
from gateway.plan import Action, Plan
from gateway.plan.bases import RULES
from gateway.plan.bookings import booking_action
from gateway.plan.consents import ConsentFacts, consent_actions, revocation_action
from gateway.plan.rules import plan_outcome
from tests.support.harness import example

EXAMPLES = [f"{n:02d}" for n in range(1, 11)]


def _variants() -> list[dict[str, Any]]:
    """The shipped examples, plus the rows no example reaches alone."""
    bodies = [example(name) for name in EXAMPLES]
    referral = example("02")
    referral["results"] = [{"kind": "third_sector_referral", "organisation": "Mielenterveysseura"}]
    notice = example("10")
    for result in notice["results"]:
        if result["kind"] == "social_care_initiation":
            result["made_with_consent"] = False
    return [*bodies, referral, notice]


def _plans(mappings: MappingSet) -> list[Plan]:
    return [plan_outcome(OutcomeV1.model_validate(body), mappings) for body in _variants()]


FACTS = ConsentFacts(
    consenter={"hetu": "010101-123N", "given_names": "Testi", "family_name": "Henkilö"},
    guardian=None,
    parties=("kela", "health_care"),
    purpose="Kelan asiointi",
    categories=("identity_and_contact", "health"),
    valid_from=date(2026, 12, 1),
    valid_until=None,
    form="y100",
    form_reference="Y100-1",
    unit="neuvonta",
    worker_id="w-1",
    given_at="2026-12-01T10:00:00+02:00",
)


def _api_actions() -> list[Action]:
    """Actions made outside an outcome: a booking through the booking API, consents and their revocations."""
    registrations = consent_actions(FACTS, suffix="1", consent_id="c-1")
    revocations = [revocation_action(a.kind, a.key, FACTS, "c-1", "peruttu") for a in registrations]
    return [booking_action({"topic": "KELA-ELAKE"}), *registrations, *revocations]


def test_every_planned_action_takes_its_legal_basis_from_the_table(mappings: MappingSet) -> None:
    for plan in _plans(mappings):
        for action in plan.actions:
            assert action.legal_basis == RULES[action.rule].legal_basis, action.key


def test_every_rule_hit_of_a_plan_takes_its_legal_basis_from_the_table(mappings: MappingSet) -> None:
    for plan in _plans(mappings):
        for hit in plan.rules:
            assert hit.legal_basis == RULES[hit.rule].legal_basis, hit.rule


def test_bookings_consents_and_revocations_outside_an_outcome_use_the_same_table() -> None:
    for action in _api_actions():
        assert action.legal_basis == RULES[action.rule].legal_basis, action.key


def test_every_row_of_the_table_is_reached_by_some_plan_or_api_action(mappings: MappingSet) -> None:
    reached = {hit.rule for plan in _plans(mappings) for hit in plan.rules}
    reached |= {action.rule for plan in _plans(mappings) for action in plan.actions}
    reached |= {action.rule for action in _api_actions()}
    assert reached == set(RULES)


def test_every_row_says_what_it_decides_and_names_a_law_or_guidance() -> None:
    for rule, row in RULES.items():
        assert row.decides and row.legal_basis, rule
        assert any(word in row.legal_basis for word in ("laki", "Laki", "THL", "Kela", "asetus")), rule
