"""A consent needs someone who consented: the one check both the consent API and outcomes use."""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.plan.consent_validity import consent_problems

DAY = date(2026, 12, 2)


def problems(**changes: Any) -> list[tuple[str, str]]:
    given: dict[str, Any] = {
        "form": "signed_y100",
        "form_reference": "Y100-2026-3311",
        "consenter_hetu": "091285-9192",
        "given_by_guardian": False,
        "guardian_hetu": None,
        "valid_from": DAY,
        "valid_until": date(2027, 5, 31),
        **changes,
    }
    return [(p.part, p.code) for p in consent_problems(**given)]


def test_a_signed_y100_of_an_identified_client_can_be_recorded() -> None:
    assert problems() == []


def test_a_consent_without_an_identified_client_cannot_be_recorded() -> None:
    assert problems(consenter_hetu=None) == [("consenter", "consenter_not_identified")]
    assert problems(consenter_hetu="") == [("consenter", "consenter_not_identified")]


def test_a_consent_given_by_a_guardian_needs_the_identified_guardian() -> None:
    assert problems(given_by_guardian=True) == [("guardian", "guardian_not_identified")]
    assert problems(given_by_guardian=True, guardian_hetu="010594Y9032") == []


def test_a_signed_y100_needs_the_reference_of_its_form() -> None:
    assert problems(form_reference=None) == [("form_reference", "form_reference_missing")]


def test_verbal_and_electronic_consents_need_no_form_reference() -> None:
    assert problems(form="verbal", form_reference=None) == []
    assert problems(form="electronic", form_reference=None) == []


def test_a_consent_cannot_end_before_it_starts() -> None:
    assert problems(valid_until=date(2026, 12, 1)) == [("valid_until", "valid_until_before_from")]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(consenter_hetu=None, form_reference=None, valid_until=date(2026, 1, 1))
    assert [part for part, _ in found] == ["consenter", "form_reference", "valid_until"]
