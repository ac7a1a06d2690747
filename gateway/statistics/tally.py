"""Events counted by day, unit and category: what the database query returns, and what tests build by hand. Pure.

A ``Tally`` is the meeting point of the SQL side and the pure side: :mod:`gateway.statistics.query`
fills one with ``GROUP BY`` counts, :func:`tally_events` fills one from event rows, and
:mod:`gateway.statistics.aggregate` only ever sees a tally.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from gateway.plan.model import StatisticsEvent

NO_AUTHORITY = "none"
YES, NO = "yes", "no"
# Duration bins in whole minutes, (lower bound, label); the last is open-ended.
DURATION_BINS: tuple[tuple[int, str], ...] = ((0, "0-9"), (10, "10-19"), (20, "20-29"), (30, "30-59"), (60, "60+"))


# A stored statistics row is the plan's anonymous event, read back: one shape, written and counted.
Event = StatisticsEvent


def duration_bin(minutes: int) -> str:
    label = DURATION_BINS[0][1]
    for lower, name in DURATION_BINS:
        if minutes >= lower:
            label = name
    return label


def yes_no(flag: bool) -> str:
    return YES if flag else NO


@dataclass(frozen=True, slots=True)
class Dimension:
    """One thing the statistics are broken down by; ``partition`` when every event is in exactly one category."""

    key: str
    title: str  # English, for the console
    title_fi: str  # Finnish, for the exports and the unit's own sheet
    multi_valued: bool
    values: Callable[[Event], tuple[str, ...]]

    @property
    def partition(self) -> bool:
        return not self.multi_valued


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("main_reason", "Main reason", "Pääsyy", False, lambda e: (e.main_reason,)),
    Dimension("additional_reasons", "Additional reasons", "Lisäsyyt", True, lambda e: tuple(set(e.additional_reasons))),
    Dimension("contacted_by", "Who contacted", "Yhteydenottaja", False, lambda e: (e.contacted_by,)),
    Dimension("authority_kind", "Authority", "Viranomainen", False, lambda e: (e.authority_kind or NO_AUTHORITY,)),
    Dimension("channel", "Channel", "Yhteydenottotapa", False, lambda e: (e.channel,)),
    Dimension("ended_how", "Where guidance ended", "Ohjauksen päättyminen", True, lambda e: tuple(set(e.ended_how))),
    Dimension("duration", "Duration (minutes)", "Kesto (min)", False, lambda e: (duration_bin(e.duration_minutes),)),
    Dimension(
        "client_relationship",
        "Led to a client relationship",
        "Johti asiakkuuteen",
        False,
        lambda e: (yes_no(e.led_to_client_relationship),),
    ),
    Dimension("anonymous", "Anonymous", "Anonyymi", False, lambda e: (yes_no(e.anonymous),)),
)
DIMENSION_BY_KEY: Mapping[str, Dimension] = {d.key: d for d in DIMENSIONS}


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts by (day, unit): events, each dimension's categories, and minutes (for the median)."""

    events: Mapping[tuple[date, str], int] = field(default_factory=dict)
    categories: Mapping[str, Mapping[tuple[date, str, str], int]] = field(default_factory=dict)
    minutes: Mapping[tuple[date, str, int], int] = field(default_factory=dict)


def tally_events(events: Iterable[Event]) -> Tally:
    """The tally of event rows; a multi-valued dimension counts an event once per distinct value."""
    totals: Counter[tuple[date, str]] = Counter()
    minutes: Counter[tuple[date, str, int]] = Counter()
    categories: dict[str, Counter[tuple[date, str, str]]] = {d.key: Counter() for d in DIMENSIONS}
    for event in events:
        totals[(event.contact_date, event.unit)] += 1
        minutes[(event.contact_date, event.unit, event.duration_minutes)] += 1
        for dimension in DIMENSIONS:
            for value in dimension.values(event):
                categories[dimension.key][(event.contact_date, event.unit, value)] += 1
    return Tally(dict(totals), {key: dict(counts) for key, counts in categories.items()}, dict(minutes))
