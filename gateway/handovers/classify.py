"""Where a deadline stands on a given day, and why one is no longer open. Pure.

"Today" is the Finnish calendar day (Europe/Helsinki) of the caller's clock: a deadline due on
the 5th is due today from 00:00 Finnish time on the 5th, which is 22:00 or 21:00 UTC on the 4th.

| state       | when            |
|-------------|-----------------|
| `overdue`   | due < today     |
| `due_today` | due == today    |
| `upcoming`  | due > today     |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from gateway.plan.days import FINNISH_TIME

DeadlineState = Literal["overdue", "due_today", "upcoming"]
STATES: tuple[DeadlineState, ...] = ("overdue", "due_today", "upcoming")

# Why a deadline is not open (the 409 of a mark, and the reason a list leaves it out).
NotOpen = Literal["superseded", "withdrawn", "delivery_cancelled"]
NOT_OPEN_REASONS: dict[NotOpen, str] = {
    "superseded": "it belongs to an earlier revision of the outcome: a correction replaced it",
    "withdrawn": "every delivery of the outcome has been cancelled: nothing is handed over",
    "delivery_cancelled": "the delivery of its hand-over has been cancelled",
}


def finnish_today(now: datetime) -> date:
    """The Finnish calendar day of an aware moment."""
    return now.astimezone(FINNISH_TIME).date()


def state_of(due: date, today: date) -> DeadlineState:
    if due < today:
        return "overdue"
    if due == today:
        return "due_today"
    return "upcoming"


def due_bounds(state: DeadlineState, today: date) -> tuple[date | None, date | None]:
    """The due dates (first, last; None = open-ended) a state covers on ``today``."""
    if state == "overdue":
        return None, today - timedelta(days=1)
    if state == "due_today":
        return today, today
    return today + timedelta(days=1), None


def not_open_because(*, current: bool, withdrawn: bool, delivery_cancelled: bool) -> NotOpen | None:
    """Why a deadline that is not marked met is still not open; None if it is open."""
    if not current:
        return "superseded"
    if withdrawn:
        return "withdrawn"
    if delivery_cancelled:
        return "delivery_cancelled"
    return None


@dataclass
class Counts:
    overdue: int = 0
    due_today: int = 0
    upcoming: int = 0

    @property
    def total(self) -> int:
        return self.overdue + self.due_today + self.upcoming

    def add(self, state: DeadlineState, n: int) -> None:
        setattr(self, state, getattr(self, state) + n)


@dataclass
class Tally:
    """Open deadlines counted by state: in all, per unit, per family, and per unit and family."""

    all: Counts = field(default_factory=Counts)
    by_unit: dict[str, Counts] = field(default_factory=dict)
    by_family: dict[str, Counts] = field(default_factory=dict)
    by_group: dict[tuple[str, str], Counts] = field(default_factory=dict)


def tally(rows: Iterable[tuple[str, str, date, int]], today: date, family: dict[str, str]) -> Tally:
    """Count ``(unit, rule_id, due, n)`` rows; ``family`` maps each rule id to its family key."""
    found = Tally()
    for unit, rule_id, due, n in rows:
        state = state_of(due, today)
        fam = family[rule_id]
        found.all.add(state, n)
        found.by_unit.setdefault(unit, Counts()).add(state, n)
        found.by_family.setdefault(fam, Counts()).add(state, n)
        found.by_group.setdefault((unit, fam), Counts()).add(state, n)
    return found
