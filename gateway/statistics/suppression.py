"""Small-cell suppression (pienten solujen tietosuoja): no published figure may point at a person. Pure.

**Primary suppression.** A count from 1 to k-1 is not shown (k is ``GATEWAY_STATISTICS__SUPPRESSION_K``,
default 5). Zero is shown as 0: "nobody" points at no one. A share or a median computed from fewer
than k events is not shown either, nor a share whose numerator is hidden (the share times the shown
total would give it back).

**Complementary (secondary) suppression.** A hidden cell must not be recoverable by subtraction. The
figures are bound by additive *lines*: a row of periods adds up to its whole-range total, the units
add up to "all units", and, where every event is in exactly one category (main reason, channel, ...),
the categories add up to the period's event count. When a line whose total is shown has exactly one
hidden member, that member would be the total minus the others; so the smallest shown non-zero member
of the line is hidden too, unless hiding it would expose a line that nothing could protect any more (a
line whose total is a locked event count); then the line's total is hidden instead. Hiding a cell
can expose another line, so the rule is applied until nothing changes. Statistics Finland and THL follow the
same practice; it does not protect against every combination of several tables, but it never leaves
a single hidden cell beside a shown total.

Multi-valued dimensions (additional reasons, where guidance ended) do not add up to the event count
(an event counts once per value), so only their period and unit lines apply. Event counts are
suppressed once, in the events table, and every other table takes them as they are (``locked``):
the same figure is never hidden in one table and shown in another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Line(Generic[T]):
    """Figures that add up: ``sum(members) == total``."""

    total: T
    members: tuple[T, ...]


def primary(counts: Mapping[T, int], k: int) -> set[T]:
    """The cells from 1 to k-1."""
    return {key for key, n in counts.items() if 0 < n < k}


def complementary(
    counts: Mapping[T, int],
    hidden: Iterable[T],
    lines: Iterable[Line[T]],
    *,
    locked: frozenset[T] = frozenset(),
    order: Mapping[T, int] | None = None,
) -> set[T]:
    """``hidden`` grown until no line with a shown total has exactly one hidden member.

    ``locked`` cells are decided elsewhere and never hidden here; ``order`` breaks ties between
    equally small candidates (the first in ``order`` is hidden), so the result is deterministic.
    """
    result = set(hidden)
    all_lines = tuple(lines)
    rank = order or {}
    lines_of: dict[T, list[Line[T]]] = {}
    for line in all_lines:
        for cell in (line.total, *line.members):
            lines_of.setdefault(cell, []).append(line)

    def exposed(line: Line[T]) -> bool:
        """A shown total beside exactly one hidden member."""
        return line.total not in result and sum(1 for member in line.members if member in result) == 1

    def repairable(line: Line[T]) -> bool:
        return line.total not in locked or any(
            member not in result and member not in locked and counts.get(member, 0) > 0 for member in line.members
        )

    def safe(candidate: T) -> bool:
        """Hiding ``candidate`` leaves no line exposed that nothing could protect (its total being locked)."""
        result.add(candidate)
        try:
            return all(not exposed(line) or repairable(line) for line in lines_of.get(candidate, ()))
        finally:
            result.discard(candidate)

    changed = True
    while changed:
        changed = False
        for line in all_lines:
            if not exposed(line):
                continue
            candidates = sorted(
                (
                    member
                    for member in line.members
                    if member not in result and member not in locked and counts.get(member, 0) > 0
                ),
                key=lambda member: (counts.get(member, 0), rank.get(member, 0)),
            )
            good = [member for member in candidates if safe(member)]
            if good:
                result.add(good[0])
            elif line.total not in locked:
                result.add(line.total)
            elif candidates:
                result.add(candidates[0])
            else:
                continue
            changed = True
    return result
