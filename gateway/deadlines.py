"""Deadlines in Finnish working days (Laki säädettyjen määräaikain laskemisesta 150/1930).

A working day is not a Saturday, a Sunday or a public holiday; Midsummer Eve and Christmas Eve
count as holidays. A deadline that falls on a non-working day moves to the next working day.
Which rule applies is data (``deadlines.yaml``); the rule in force on the contact date is used,
so an outcome about a contact before 1.9.2023 still gets the three-day HTA deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from dateutil.relativedelta import relativedelta

from gateway.mappings import DeadlineRule


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    days = set(holidays.country_holidays("FI", years=year))
    # Both eves are in the package's Finnish calendar today; added here because the deadline act
    # treats them as holidays and a change in the package must not silently drop them.
    days.update((date(year, 12, 24), _midsummer_eve(year)))
    return frozenset(days)


def _midsummer_eve(year: int) -> date:
    """Juhannusaatto: the Friday between 19 and 25 June."""
    day = date(year, 6, 19)
    return day + timedelta(days=(4 - day.weekday()) % 7)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def next_working_day_on_or_after(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, count: int) -> date:
    """The ``count``-th working day after ``start``; ``count == 0`` is ``start`` itself if it is one."""
    if count == 0:
        return next_working_day_on_or_after(start)
    day = start
    remaining = count
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        if is_working_day(day):
            yield day
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline and the rule that set it."""

    rule_id: str
    applies_to: str
    due: date
    description: str
    legal_basis: str


def compute_deadline(rule: DeadlineRule, start: date) -> Deadline:
    if rule.working_days is not None:
        due = add_working_days(start, rule.working_days)
    else:
        assert rule.months is not None
        due = next_working_day_on_or_after(start + relativedelta(months=rule.months))
    return Deadline(rule.id, rule.applies_to, due, rule.description, rule.legal_basis)


def deadlines_for(
    rules: Iterable[DeadlineRule], applies_to: str, start: date, *, priority_group: bool = False
) -> list[Deadline]:
    """All deadlines of rules in force on ``start`` for ``applies_to``."""
    return [
        compute_deadline(rule, start)
        for rule in rules
        if rule.applies_to == applies_to
        and rule.in_force_on(start)
        and (rule.when == "always" or (rule.when == "priority_group" and priority_group))
    ]
