"""The outcome states, as the table in gateway/outcomes/states.py defines them."""

from __future__ import annotations

import pytest

from gateway.outcomes.states import OUTCOME_STATES, outcome_state


@pytest.mark.parametrize(
    ("deliveries", "state"),
    [
        ([], "statistics_only"),
        (["delivered"], "delivered"),
        (["delivered", "delivered"], "delivered"),
        (["cancelled"], "cancelled"),
        (["cancelled", "cancelled"], "cancelled"),
        (["delivered", "cancelled"], "partially_delivered"),
        (["pending"], "delivering"),
        (["in_flight", "delivered"], "delivering"),
        (["held_for_consent", "delivered"], "waiting"),
        (["awaiting_adapter", "pending"], "waiting"),
        (["held", "delivered"], "needs_attention"),
        (["failed", "held_for_consent", "pending"], "needs_attention"),
    ],
)
def test_an_outcome_state_follows_from_its_deliveries(deliveries: list[str], state: str) -> None:
    assert outcome_state(deliveries) == state


def test_an_outcome_whose_only_delivery_was_cancelled_is_cancelled_not_delivered() -> None:
    assert outcome_state(["cancelled"]) == "cancelled"


def test_a_delivery_state_the_table_does_not_know_never_reads_as_settled() -> None:
    assert outcome_state(["delivered", "unchanged"]) == "delivering"


def test_every_state_of_the_table_is_reachable() -> None:
    samples = [
        [],
        ["held"],
        ["held_for_consent"],
        ["pending"],
        ["delivered"],
        ["delivered", "cancelled"],
        ["cancelled"],
    ]
    assert {outcome_state(s) for s in samples} == set(OUTCOME_STATES)
