"""A clock for the worker under test: it stands still until the test moves it.

With it a test proves that something has not happened *yet* by running the worker at a chosen
moment (just before a Retry-After ends, just before a lease expires) and seeing that nothing was
due, instead of sleeping and hoping the moment has passed. The API in the harness keeps the wall
clock, so a delivery it queues is stamped with real time: :meth:`ManualClock.catch_up` after
posting makes it due for the worker.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """``now`` for a :class:`gateway.outbox.worker.Worker` (``clock=``), moved only by the test."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds``; returns the new now."""
        self._now += timedelta(seconds=seconds)
        return self._now

    def catch_up(self) -> datetime:
        """Move to the wall clock if it is ahead (never back): what the API queued until now is due."""
        self._now = max(self._now, datetime.now(UTC))
        return self._now


def no_jitter() -> float:
    """The worker's ``rand``: retry delays exactly as asked (no random spread), so a test can name them."""
    return 0.0
