"""The figures a supervisor reads: tables per dimension and a summary per unit and period, small cells hidden. Pure.

A hidden (suppressed) figure is ``None`` in a table row and named in ``Summary.suppressed``; the
rule is :mod:`gateway.statistics.suppression`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.statistics.aggregate import ALL_UNITS, WHOLE_RANGE, Aggregate, Key, Window, median
from gateway.statistics.suppression import Line, complementary, primary
from gateway.statistics.tally import DIMENSIONS, YES, Dimension

EVENTS = "\x00events"  # the event-count row's category: no code can be this


@dataclass(frozen=True, slots=True)
class Row:
    unit: str
    category: str
    values: tuple[int | None, ...]  # one per column of the report; None: suppressed


@dataclass(frozen=True, slots=True)
class Table:
    dimension: Dimension
    rows: tuple[Row, ...]

    def row(self, unit: str, category: str) -> Row:
        return next(row for row in self.rows if row.unit == unit and row.category == category)


@dataclass(frozen=True, slots=True)
class Summary:
    """One unit's (or all units') totals and shares in one period; a field in ``suppressed`` is None for that."""

    unit: str
    period: str
    events: int | None
    client_relationship: int | None
    client_relationship_share: float | None
    anonymous: int | None
    anonymous_share: float | None
    median_minutes: float | None
    suppressed: frozenset[str]


@dataclass(frozen=True, slots=True)
class Report:
    window: Window
    k: int
    columns: tuple[str, ...]  # the periods, then WHOLE_RANGE
    units: tuple[str, ...]
    events: tuple[Row, ...]  # one per unit
    tables: tuple[Table, ...]
    summary: tuple[Summary, ...]

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.dimension.key == key)

    def value(self, key: str, unit: str, category: str, period: str) -> int | None:
        return self.table(key).row(unit, category).values[self.columns.index(period)]

    def summary_of(self, unit: str, period: str) -> Summary:
        return next(s for s in self.summary if s.unit == unit and s.period == period)


def _real_units(units: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(u for u in units if u != ALL_UNITS)


def _unit_lines(aggregate: Aggregate, categories: Iterable[str]) -> list[Line[Key]]:
    """Units add up to "all units" (only when the report has both)."""
    real = _real_units(aggregate.units)
    if ALL_UNITS not in aggregate.units or not real:
        return []
    return [Line((ALL_UNITS, c, p), tuple((u, c, p) for u in real)) for c in categories for p in aggregate.columns]


def _period_lines(aggregate: Aggregate, categories: Iterable[str]) -> list[Line[Key]]:
    """Periods add up to the whole range."""
    return [
        Line((u, c, WHOLE_RANGE), tuple((u, c, p) for p in aggregate.periods))
        for u in aggregate.units
        for c in categories
    ]


def _order(aggregate: Aggregate, categories: tuple[str, ...]) -> dict[Key, int]:
    """Reading order of the cells: ties among candidates for complementary suppression go to the first."""
    keys = [(u, c, p) for u in aggregate.units for c in categories for p in aggregate.columns]
    return {key: i for i, key in enumerate(keys)}


def _rows(aggregate: Aggregate, counts: Mapping[Key, int], hidden: set[Key], categories: Iterable[str]) -> list[Row]:
    return [
        Row(u, c, tuple(None if (u, c, p) in hidden else counts.get((u, c, p), 0) for p in aggregate.columns))
        for u in aggregate.units
        for c in categories
    ]


def build_report(aggregate: Aggregate, k: int) -> Report:
    """Suppress ``aggregate``'s small cells (k: the smallest count shown) and compute shares and medians."""
    events: dict[Key, int] = {
        (u, EVENTS, p): aggregate.events.get((u, p), 0) for u in aggregate.units for p in aggregate.columns
    }
    event_lines = _period_lines(aggregate, (EVENTS,)) + _unit_lines(aggregate, (EVENTS,))
    hidden_events = complementary(events, primary(events, k), event_lines, order=_order(aggregate, (EVENTS,)))
    locked = frozenset(events)

    tables: list[Table] = []
    hidden_by_dimension: dict[str, set[Key]] = {}
    for dimension in DIMENSIONS:
        categories = aggregate.categories.get(dimension.key, ())
        figures = dict(aggregate.counts.get(dimension.key, {}))
        lines = _period_lines(aggregate, categories) + _unit_lines(aggregate, categories)
        if dimension.partition:
            lines += [
                Line((u, EVENTS, p), tuple((u, c, p) for c in categories))
                for u in aggregate.units
                for p in aggregate.columns
            ]
        hidden = complementary(
            {**figures, **events},
            primary(figures, k) | hidden_events,
            lines,
            locked=locked,
            order=_order(aggregate, categories),
        )
        hidden_by_dimension[dimension.key] = hidden
        tables.append(Table(dimension, tuple(_rows(aggregate, figures, hidden, categories))))

    summary = [
        _summary(aggregate, k, u, p, events, hidden_events, hidden_by_dimension)
        for u in aggregate.units
        for p in aggregate.columns
    ]
    return Report(
        window=aggregate.window,
        k=k,
        columns=aggregate.columns,
        units=aggregate.units,
        events=tuple(_rows(aggregate, events, hidden_events, (EVENTS,))),
        tables=tuple(tables),
        summary=tuple(summary),
    )


def _summary(
    aggregate: Aggregate,
    k: int,
    unit: str,
    period: str,
    events: Mapping[Key, int],
    hidden_events: set[Key],
    hidden: Mapping[str, set[Key]],
) -> Summary:
    total = events[(unit, EVENTS, period)]
    total_shown = (unit, EVENTS, period) not in hidden_events
    # Shares and a median rest on the event count: fewer than k events and none is shown.
    enough = total_shown and total >= k
    suppressed: set[str] = set() if total_shown else {"events"}
    figures: dict[str, int | None] = {}
    shares: dict[str, float | None] = {}
    for key in ("client_relationship", "anonymous"):
        cell = (unit, YES, period)
        count = aggregate.counts.get(key, {}).get(cell, 0)
        shown = cell not in hidden[key]
        figures[key] = count if shown else None
        if not shown:
            suppressed.add(key)
        if total == 0:
            shares[key] = None  # no events: no share, nothing hidden
        elif enough and shown:
            shares[key] = count / total
        else:
            shares[key] = None
            suppressed.add(f"{key}_share")
    middle: float | None = None
    if total and enough:
        middle = median(aggregate.minutes.get((unit, period), {}))
    elif total:
        suppressed.add("median_minutes")
    return Summary(
        unit=unit,
        period=period,
        events=total if total_shown else None,
        client_relationship=figures["client_relationship"],
        client_relationship_share=shares["client_relationship"],
        anonymous=figures["anonymous"],
        anonymous_share=shares["anonymous"],
        median_minutes=middle,
        suppressed=frozenset(suppressed),
    )
