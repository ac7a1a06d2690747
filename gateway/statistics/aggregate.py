"""A tally summed into period buckets and unit groups: the raw figures, before any suppression. Pure.

Every figure is keyed ``(unit, category, period)``. ``unit`` is a unit code or :data:`ALL_UNITS`
(every unit of the report together), ``period`` a bucket label of :mod:`gateway.statistics.periods`
or :data:`WHOLE_RANGE` (the report's whole date range).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from gateway.statistics.periods import Period, bucket, buckets
from gateway.statistics.tally import DIMENSIONS, Tally

ALL_UNITS = "*"
WHOLE_RANGE = "total"

Key = tuple[str, str, str]  # (unit, category, period)


@dataclass(frozen=True, slots=True)
class Window:
    """What a report covers: days ``start``..``end`` (both included, Finnish calendar days), bucketed by ``period``."""

    start: date
    end: date
    period: Period
    unit: str | None = None  # one unit only; None: every unit, and all of them together


@dataclass(frozen=True, slots=True)
class Aggregate:
    window: Window
    periods: tuple[str, ...]  # bucket labels in order; WHOLE_RANGE is not among them
    units: tuple[str, ...]  # ALL_UNITS first when the report is not about one unit
    events: Mapping[tuple[str, str], int]  # (unit, period) -> events
    counts: Mapping[str, Mapping[Key, int]]  # dimension -> figures
    categories: Mapping[str, tuple[str, ...]]  # dimension -> its rows, in order
    minutes: Mapping[tuple[str, str], Mapping[int, int]]  # (unit, period) -> minutes -> events

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.periods, WHOLE_RANGE)


def _groups(unit: str, day: date, window: Window) -> tuple[tuple[str, str], ...]:
    """The (unit, period) cells one day's figure of one unit adds to."""
    units = (unit,) if window.unit is not None else (unit, ALL_UNITS)
    periods = (bucket(day, window.period), WHOLE_RANGE)
    return tuple((u, p) for u in units for p in periods)


def _in_window(day: date, unit: str, window: Window) -> bool:
    return window.start <= day <= window.end and (window.unit is None or unit == window.unit)


def aggregate(tally: Tally, window: Window, known: Mapping[str, Sequence[str]] | None = None) -> Aggregate:
    """Sum ``tally`` into the window's buckets; ``known`` categories get a row even without events (zeros)."""
    known = known or {}
    events: Counter[tuple[str, str]] = Counter()
    seen_units: set[str] = set()
    for (day, unit), n in tally.events.items():
        if _in_window(day, unit, window):
            seen_units.add(unit)
            for cell in _groups(unit, day, window):
                events[cell] += n
    counts: dict[str, Counter[Key]] = {}
    categories: dict[str, tuple[str, ...]] = {}
    for dimension in DIMENSIONS:
        figures: Counter[Key] = Counter()
        seen: dict[str, None] = dict.fromkeys(known.get(dimension.key, ()))
        for (day, unit, category), n in tally.categories.get(dimension.key, {}).items():
            if _in_window(day, unit, window):
                seen.setdefault(category, None)
                for u, p in _groups(unit, day, window):
                    figures[(u, category, p)] += n
        counts[dimension.key] = figures
        categories[dimension.key] = tuple(seen)
    minutes: dict[tuple[str, str], Counter[int]] = {}
    for (day, unit, length), n in tally.minutes.items():
        if _in_window(day, unit, window):
            for cell in _groups(unit, day, window):
                minutes.setdefault(cell, Counter())[length] += n
    units = _units(window, seen_units)
    return Aggregate(
        window=window,
        periods=buckets(window.start, window.end, window.period),
        units=units,
        events=dict(events),
        counts={key: dict(figures) for key, figures in counts.items()},
        categories=categories,
        minutes={cell: dict(histogram) for cell, histogram in minutes.items()},
    )


def _units(window: Window, seen: Iterable[str]) -> tuple[str, ...]:
    if window.unit is not None:
        return (window.unit,)
    return (ALL_UNITS, *sorted(seen))


def median(histogram: Mapping[int, int]) -> float | None:
    """The median of values given as value -> how many; the mean of the two middle ones for an even count."""
    n = sum(histogram.values())
    if n == 0:
        return None
    middle = ((n - 1) // 2, n // 2)  # 0-based positions of the middle value(s)
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        found.extend(value for position in middle if seen <= position < seen + count)
        seen += count
    return sum(found) / 2
