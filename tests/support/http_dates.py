"""``Retry-After`` as an HTTP-date, and what a client read from it, for the clients' error tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime


def http_date_in(seconds: int) -> tuple[str, datetime]:
    """An HTTP-date ``seconds`` from now (whole seconds, as the header carries them), and that instant."""
    when = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    return format_datetime(when, usegmt=True), when


@dataclass
class Span:
    """The wall-clock interval a block of code ran in."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None

    def seconds_until(self, when: datetime) -> tuple[float, float]:
        """The least and the most seconds to ``when`` that anything computed inside the block can have seen."""
        assert self.ended is not None, "the block has not ended"
        return (when - self.ended).total_seconds(), (when - self.started).total_seconds()


@asynccontextmanager
async def measured() -> AsyncIterator[Span]:
    """Measure a block, so that a delay computed from "now" inside it can be checked exactly."""
    span = Span()
    try:
        yield span
    finally:
        span.ended = datetime.now(UTC)
