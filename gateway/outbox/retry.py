"""Retry policy: a pure decision from (attempt, error, now, budget spent) to what happens next.

Capped exponential backoff with jitter; a back-end's ``Retry-After`` is honoured (capped, so a
confused back-end cannot park a delivery for a week); permanent errors fail at once; transient
errors are retried until the delivery has spent its budget, a horizon measured in time (not in
attempts, whose number says little: eight attempts from a 2 s base are gone in four minutes),
and then held for an operator. The worker only applies the decision.

The budget is spent only while the back-end's circuit is closed (:func:`charge`): a delivery that
waits behind an open circuit is waiting for the back-end, not failing on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gateway.errors import DeliveryError, TransientDeliveryError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    horizon: float = 24 * 3600.0
    base_delay: float = 2.0
    max_delay: float = 900.0
    max_retry_after: float = 3600.0

    def backoff(self, attempt: int, rand: float) -> float:
        """Delay after failed attempt number ``attempt`` (1-based): between half and all of the cap."""
        ceiling: float = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + rand / 2)


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Literal["retry", "hold", "fail"]
    not_before: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class Budget:
    """How much of its retry budget a delivery has spent, and since when the current stretch runs.

    ``failing_since`` is None before the first failure and while the budget is paused (the
    back-end's circuit opened: that wait is not the delivery's to pay).
    """

    failing_since: datetime | None
    spent_seconds: float


def charge(budget: Budget, *, now: datetime, counted: bool) -> Budget:
    """The budget after a transient failure at ``now``.

    ``counted`` is False for a failure made while the back-end's circuit was not closed.

    A counted failure adds the time since the last counted one (nothing for the first, or the
    first after a pause) and restarts the stretch; an uncounted one pauses the budget.
    """
    if not counted:
        return Budget(None, budget.spent_seconds)
    if budget.failing_since is None:
        return Budget(now, budget.spent_seconds)
    return Budget(now, budget.spent_seconds + max((now - budget.failing_since).total_seconds(), 0.0))


def decide(
    policy: RetryPolicy,
    *,
    attempt: int,
    error: DeliveryError,
    now: datetime,
    rand: Callable[[], float],
    spent: float = 0.0,
) -> Decision:
    """What follows failed attempt number ``attempt``, with ``spent`` seconds of the budget used, this failure's too."""
    if not isinstance(error, TransientDeliveryError):
        # The reason holds the gateway's words only: what the back-end said (which can name the
        # client) is kept in last_error and the attempts, which answers withhold without personal:read.
        return Decision("fail", None, "permanent: the back-end refused it; its answer is in last_error")
    if spent >= policy.horizon:
        hours = spent / 3600
        return Decision("hold", None, f"gave up after {hours:.1f} h of retrying ({attempt} attempts)")
    if error.retry_after is not None:
        delay = min(max(error.retry_after, 0.0), policy.max_retry_after) * (1 + rand() / 10)
    else:
        delay = policy.backoff(attempt, rand())
    return Decision("retry", now + timedelta(seconds=delay), "transient: retrying; the last answer is in last_error")
