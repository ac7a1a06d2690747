"""The deadlines view's pure rules: a deadline's state on a Finnish day, its family, why it is not open."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gateway.handovers.classify import due_bounds, finnish_today, not_open_because, state_of, tally
from gateway.handovers.families import KNOWN, family_of, rules_of
from gateway.mappings import MappingSet

DAY = date(2025, 11, 18)


def test_a_deadline_due_before_today_is_overdue() -> None:
    assert state_of(date(2025, 11, 17), DAY) == "overdue"


def test_a_deadline_due_today_is_due_today() -> None:
    assert state_of(DAY, DAY) == "due_today"


def test_a_deadline_due_after_today_is_upcoming() -> None:
    assert state_of(date(2025, 11, 19), DAY) == "upcoming"


def test_today_turns_at_finnish_midnight_in_winter() -> None:
    assert finnish_today(datetime(2025, 11, 17, 21, 59, 59, tzinfo=UTC)) == date(2025, 11, 17)
    assert finnish_today(datetime(2025, 11, 17, 22, 0, tzinfo=UTC)) == date(2025, 11, 18)


def test_today_turns_at_finnish_midnight_in_summer() -> None:
    assert finnish_today(datetime(2025, 6, 10, 20, 59, 59, tzinfo=UTC)) == date(2025, 6, 10)
    assert finnish_today(datetime(2025, 6, 10, 21, 0, tzinfo=UTC)) == date(2025, 6, 11)


def test_each_state_covers_its_own_due_dates() -> None:
    assert due_bounds("overdue", DAY) == (None, date(2025, 11, 17))
    assert due_bounds("due_today", DAY) == (DAY, DAY)
    assert due_bounds("upcoming", DAY) == (date(2025, 11, 19), None)


def test_every_shipped_deadline_rule_belongs_to_a_known_family(mappings: MappingSet) -> None:
    assert {rule.id: family_of(rule.id).key for rule in mappings.rules} == {
        "service-promise": "service-promise",
        "shl-36-needs-assessment": "shl-36",
        "lsl-26-decision": "lsl-26",
        "lsl-26-assessment": "lsl-26",
        "thl-51-hta-3-days": "thl-51",
        "thl-51-hta-same-day": "thl-51",
    }


def test_each_family_names_its_section_of_law() -> None:
    labels = {key: family_of(key).label for key in KNOWN}
    assert labels == {
        "shl-36": "SHL 36 §",
        "lsl-26": "LSL 26 §",
        "thl-51": "THL 51 §",
        "service-promise": "Palvelulupaus",
    }
    assert "36 §" in family_of("shl-36-needs-assessment").legal_basis


def test_a_rule_no_family_knows_is_a_family_of_its_own() -> None:
    family = family_of("vpl-15-assessment")
    assert (family.key, family.label) == ("vpl-15-assessment", "vpl-15-assessment")


def test_a_prefix_counts_only_at_a_word_boundary() -> None:
    assert family_of("shl-360-other").key == "shl-360-other"


def test_a_family_selects_its_own_rules() -> None:
    assert rules_of("lsl-26", ["lsl-26-decision", "shl-36-needs-assessment", "lsl-26-assessment"]) == [
        "lsl-26-decision",
        "lsl-26-assessment",
    ]


def test_an_earlier_revision_is_not_open_before_anything_else() -> None:
    assert not_open_because(current=False, withdrawn=True, delivery_cancelled=True) == "superseded"


def test_a_withdrawn_outcome_is_not_open() -> None:
    assert not_open_because(current=True, withdrawn=True, delivery_cancelled=False) == "withdrawn"


def test_a_cancelled_hand_over_is_not_open() -> None:
    assert not_open_because(current=True, withdrawn=False, delivery_cancelled=True) == "delivery_cancelled"


def test_a_current_uncancelled_deadline_is_open() -> None:
    assert not_open_because(current=True, withdrawn=False, delivery_cancelled=False) is None


def test_the_tally_counts_by_state_unit_family_and_both() -> None:
    rows = [
        ("A", "thl-51-hta-same-day", date(2025, 11, 17), 2),
        ("A", "service-promise", DAY, 1),
        ("B", "thl-51-hta-same-day", date(2025, 11, 20), 3),
    ]
    counted = tally(rows, DAY, {r[1]: family_of(r[1]).key for r in rows})
    assert (counted.all.overdue, counted.all.due_today, counted.all.upcoming, counted.all.total) == (2, 1, 3, 6)
    assert counted.by_unit["A"].total == 3 and counted.by_unit["B"].upcoming == 3
    assert counted.by_family["thl-51"].total == 5
    assert counted.by_group[("A", "service-promise")].due_today == 1
