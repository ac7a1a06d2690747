"""One word for an outcome, derived from its deliveries' states by one table. Pure.

The first row that matches wins:

| outcome state         | when                                                                        |
|-----------------------|-----------------------------------------------------------------------------|
| `statistics_only`     | the plan has no delivery: anonymous statistics only                         |
| `needs_attention`     | a delivery is `held` (retries exhausted) or `failed` (permanent error)      |
| `waiting`             | a delivery waits for something outside the gateway: a consent               |
|                       | (`held_for_consent`) or a back-end's adapter (`awaiting_adapter`)           |
| `delivering`          | a delivery is `pending` or `in_flight`                                      |
| `delivered`           | every delivery is `delivered`                                               |
| `partially_delivered` | every delivery is settled, some `delivered` and some `cancelled`            |
| `cancelled`           | every delivery is `cancelled` (e.g. its consent was revoked)                |

An `unchanged` delivery (a correction that did not re-send an action) counts as the delivery it
points at, so a correction is `delivered` only once what it relies on really is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from gateway.outbox.states import NEEDS_OPERATOR, OPEN, TERMINAL, Status

OutcomeState = Literal[
    "statistics_only", "needs_attention", "waiting", "delivering", "delivered", "partially_delivered", "cancelled"
]
OUTCOME_STATES: tuple[OutcomeState, ...] = (
    "statistics_only",
    "needs_attention",
    "waiting",
    "delivering",
    "delivered",
    "partially_delivered",
    "cancelled",
)

NEEDS_ATTENTION: frozenset[str] = NEEDS_OPERATOR
WAITING: frozenset[str] = frozenset({Status.HELD_FOR_CONSENT, Status.AWAITING_ADAPTER})
DELIVERING: frozenset[str] = OPEN - WAITING
SETTLED: frozenset[str] = TERMINAL


def outcome_state(delivery_states: Iterable[str]) -> OutcomeState:
    """The outcome's state from the (effective) states of its deliveries; see the module's table."""
    states = set(delivery_states)
    if not states:
        return "statistics_only"
    if states & NEEDS_ATTENTION:
        return "needs_attention"
    if states & WAITING:
        return "waiting"
    if states & DELIVERING or not states <= SETTLED:
        return "delivering"
    if states == {Status.DELIVERED}:
        return "delivered"
    if states == {Status.CANCELLED}:
        return "cancelled"
    return "partially_delivered"
