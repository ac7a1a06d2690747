"""Retry policy: a pure decision from (attempt, error, now) to what happens next.

Capped exponential backoff with jitter; a back-end's ``Retry-After`` is honoured (capped, so a
confused back-end cannot park a delivery for a week); permanent errors fail at once; transient
errors past the attempt limit are held for an operator. The worker only applies the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gateway.errors import DeliveryError, TransientDeliveryError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
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


def decide(
    policy: RetryPolicy, *, attempt: int, error: DeliveryError, now: datetime, rand: Callable[[], float]
) -> Decision:
    if not isinstance(error, TransientDeliveryError):
        return Decision("fail", None, f"permanent: {error.message}")
    if attempt >= policy.max_attempts:
        return Decision("hold", None, f"gave up after {attempt} attempts: {error.message}")
    if error.retry_after is not None:
        delay = min(max(error.retry_after, 0.0), policy.max_retry_after) * (1 + rand() / 10)
    else:
        delay = policy.backoff(attempt, rand())
    return Decision("retry", now + timedelta(seconds=delay), f"transient: {error.message}")
