"""Checking what a statistics request asks for: a date range, a period and maybe a unit. Pure.

Every problem is listed at once, each naming its parameter, never echoing a value back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from gateway.statistics.aggregate import Window
from gateway.statistics.periods import Period

MAX_DAYS = 3 * 365 + 1  # three years, a leap day included: long enough to compare year with year
MAX_DAYS_BY_DAY = 366  # a daily breakdown of more than a year is unreadable in a sheet or a chart
UNIT_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class WindowError(Exception):
    errors: tuple[dict[str, str], ...]


def _error(field: str, code: str, message: str) -> dict[str, str]:
    return {"field": f"query.{field}", "code": code, "message": message}


def check_window(start: date, end: date, period: Period, unit: str | None) -> Window:
    """The window asked for, or :class:`WindowError` listing every problem."""
    errors: list[dict[str, str]] = []
    days = (end - start).days + 1
    if days < 1:
        errors.append(_error("to", "before_from", "'to' must not be before 'from'"))
    elif days > MAX_DAYS:
        errors.append(_error("to", "range_too_long", f"at most {MAX_DAYS} days (three years) at a time"))
    elif period is Period.DAY and days > MAX_DAYS_BY_DAY:
        errors.append(_error("period", "too_many_days", f"by day at most {MAX_DAYS_BY_DAY} days; use week or month"))
    if unit is not None and not UNIT_PATTERN.match(unit):
        errors.append(_error("unit", "invalid_code", "a unit code: letters, digits, '_', '.', '-', at most 64"))
    if errors:
        raise WindowError(tuple(errors))
    return Window(start, end, period, unit)
