"""The delivery state machine: every move it allows, and none it does not."""

from __future__ import annotations

import pytest

from gateway.outbox.states import (
    NEEDS_OPERATOR,
    NEVER_DELIVERED,
    OPEN,
    TERMINAL,
    TRANSITIONS,
    Event,
    Status,
    TransitionError,
    transition,
)

ALLOWED = [(source, event, target) for event, (sources, target) in TRANSITIONS.items() for source in sources]
FORBIDDEN = [
    (source, event)
    for event, (sources, _) in TRANSITIONS.items()
    for source in [None, *Status]
    if source not in sources
]


@pytest.mark.parametrize(("source", "event", "target"), ALLOWED, ids=lambda v: str(v))
def test_every_allowed_move_leads_where_the_table_says(source: Status | None, event: Event, target: Status) -> None:
    assert transition(source, event) is target


@pytest.mark.parametrize(("source", "event"), FORBIDDEN, ids=lambda v: str(v))
def test_every_other_move_is_refused(source: Status | None, event: Event) -> None:
    with pytest.raises(TransitionError):
        transition(source, event)


def test_the_sets_are_derived_from_the_table() -> None:
    assert {Status.DELIVERED, Status.CANCELLED} == TERMINAL
    assert {Status.HELD, Status.FAILED} == NEEDS_OPERATOR
    assert {Status.PENDING, Status.IN_FLIGHT, Status.AWAITING_ADAPTER, Status.HELD_FOR_CONSENT} == OPEN


def test_every_status_but_the_correction_pointer_is_in_exactly_one_set() -> None:
    for status in Status:
        memberships = [status in group for group in (TERMINAL, NEEDS_OPERATOR, OPEN)]
        assert memberships.count(True) == (0 if status is Status.UNCHANGED else 1), status


def test_what_was_never_sent_can_still_be_stopped_but_not_what_is_in_flight() -> None:
    assert Status.IN_FLIGHT not in NEVER_DELIVERED and Status.DELIVERED not in NEVER_DELIVERED
    assert all(transition(s, Event.CANCEL) is Status.CANCELLED for s in NEVER_DELIVERED)


def test_every_status_can_be_reached_from_a_new_delivery() -> None:
    reached: set[Status | None] = {None}
    while True:
        more = {target for sources, target in TRANSITIONS.values() if sources & reached} - reached
        if not more:
            break
        reached |= more
    assert reached - {None} == set(Status)
