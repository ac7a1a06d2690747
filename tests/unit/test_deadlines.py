"""Working days by the deadline act: weekends, public holidays, Midsummer Eve and Christmas Eve."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.deadlines import add_working_days, compute_deadline, deadlines_for, is_working_day
from gateway.mappings import DeadlineRule, MappingSet


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 21),
        date(2026, 11, 22),
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 6, 19),
        date(2026, 6, 20),
        date(2026, 4, 3),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 12, 6),
        date(2027, 1, 6),
        date(2026, 5, 14),
    ],
    ids=str,
)
def test_non_working_days(day: date) -> None:
    assert not is_working_day(day)


def test_an_ordinary_monday_is_a_working_day() -> None:
    assert is_working_day(date(2026, 11, 23))


def test_the_next_working_day_after_friday_is_monday() -> None:
    assert add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)


def test_christmas_is_skipped() -> None:
    assert add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 28)


def test_midsummer_eve_is_skipped() -> None:
    assert add_working_days(date(2026, 6, 18), 1) == date(2026, 6, 22)


def test_the_same_working_day_moves_off_a_weekend() -> None:
    assert add_working_days(date(2026, 11, 21), 0) == date(2026, 11, 23)
    assert add_working_days(date(2026, 11, 23), 0) == date(2026, 11, 23)


def test_seven_working_days_over_independence_day() -> None:
    assert add_working_days(date(2027, 12, 2), 7) == date(2027, 12, 14)  # 6.12.2027 is a Monday


def test_a_month_deadline_landing_on_a_holiday_moves_to_the_next_working_day(mappings: MappingSet) -> None:
    rule = next(r for r in mappings.rules if r.id == "lsl-26-assessment")
    assert compute_deadline(rule, date(2026, 9, 24)).due == date(2026, 12, 28)


def test_only_rules_in_force_on_the_day_apply(mappings: MappingSet) -> None:
    before = deadlines_for(mappings.rules, "health_care_handover", date(2023, 8, 31))
    after = deadlines_for(mappings.rules, "health_care_handover", date(2023, 9, 1))
    assert [d.rule_id for d in before] == ["thl-51-hta-3-days"]
    assert [d.rule_id for d in after] == ["thl-51-hta-same-day"]


def test_priority_group_rules_need_the_priority_group(mappings: MappingSet) -> None:
    assert deadlines_for(mappings.rules, "social_care_initiation", date(2026, 11, 23)) == []
    assert deadlines_for(mappings.rules, "social_care_initiation", date(2026, 11, 23), priority_group=True)


def test_a_rule_must_give_exactly_one_measure() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        DeadlineRule(
            id="x",
            applies_to="guidance_contact",
            working_days=1,
            months=1,
            description="d",
            legal_basis="b",
            valid_from=date(2020, 1, 1),
        )
