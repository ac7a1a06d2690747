"""Calendar buckets of the statistics: a day, an ISO week (Monday to Sunday) or a calendar month. Pure."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket(day: date, period: Period) -> str:
    """The label of the bucket ``day`` falls in: ``2026-12-31``, ``2026-W53`` or ``2026-12``.

    Weeks are ISO weeks, as Finnish calendars number them: 2026-12-31 is in week 53 of 2026, and
    week 1 of 2027 starts on Monday 2027-01-04, so the first days of January 2027 belong to 2026-W53.
    """
    if period is Period.DAY:
        return day.isoformat()
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def buckets(start: date, end: date, period: Period) -> tuple[str, ...]:
    """Every bucket from ``start`` to ``end`` (both included) in order, those without events too."""
    labels: dict[str, None] = {}
    step = timedelta(days=1)
    day = start
    while day <= end:
        labels[bucket(day, period)] = None
        day += step
    return tuple(labels)
