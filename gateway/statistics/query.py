"""Reading ``statistics_events`` into a :class:`~gateway.statistics.tally.Tally` for a date range (both databases).

Single-valued columns are counted by the database (``GROUP BY`` day, unit and the column), so a
year of events comes back as at most days x units x categories rows. The two JSON lists (additional
reasons, where guidance ended) are read row by row and expanded here: JSON functions differ between
the two databases, and the lists are short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.statistics.tally import NO_AUTHORITY, Tally, duration_bin, yes_no
from gateway.store.schema import statistics_events as events

SINGLE_VALUED: Mapping[str, ColumnElement[object]] = {
    "main_reason": events.c.main_reason,
    "contacted_by": events.c.contacted_by,
    "authority_kind": func.coalesce(events.c.authority_kind, NO_AUTHORITY),
    "channel": events.c.channel,
    "client_relationship": events.c.led_to_client_relationship,
    "anonymous": events.c.anonymous,
}
MULTI_VALUED = {"additional_reasons": events.c.additional_reasons, "ended_how": events.c.ended_how}
BATCH = 1000


def _where(start: date, end: date, unit: str | None) -> ColumnElement[bool]:
    condition = and_(events.c.contact_date >= start, events.c.contact_date <= end)
    return and_(condition, events.c.unit == unit) if unit is not None else condition


def _grouped(column: ColumnElement[object], where: ColumnElement[bool]) -> Select[Any]:
    value = column.label("value")
    return (
        select(events.c.contact_date, events.c.unit, value, func.count().label("n"))
        .where(where)
        .group_by(events.c.contact_date, events.c.unit, value)
    )


def _code(value: object) -> str:
    return yes_no(value) if isinstance(value, bool) else str(value)


async def read_tally(conn: AsyncConnection, *, start: date, end: date, unit: str | None = None) -> Tally:
    """The events of days ``start``..``end`` (and of ``unit`` only, when given), counted."""
    where = _where(start, end, unit)
    categories: dict[str, Counter[tuple[date, str, str]]] = {}
    for key, column in SINGLE_VALUED.items():
        counts: Counter[tuple[date, str, str]] = Counter()
        for day, unit_code, value, n in (await conn.execute(_grouped(column, where))).all():
            counts[(day, unit_code, _code(value))] += n
        categories[key] = counts

    minutes: Counter[tuple[date, str, int]] = Counter()
    totals: Counter[tuple[date, str]] = Counter()
    bins: Counter[tuple[date, str, str]] = Counter()
    for day, unit_code, length, n in (await conn.execute(_grouped(events.c.duration_minutes, where))).all():
        minutes[(day, unit_code, int(length))] += n
        totals[(day, unit_code)] += n
        bins[(day, unit_code, duration_bin(int(length)))] += n
    categories["duration"] = bins

    lists: dict[str, Counter[tuple[date, str, str]]] = {key: Counter() for key in MULTI_VALUED}
    rows = await conn.stream(
        select(events.c.contact_date, events.c.unit, *MULTI_VALUED.values())
        .where(where)
        .execution_options(yield_per=BATCH)
    )
    async for day, unit_code, *values in rows:
        for key, codes in zip(MULTI_VALUED, values, strict=True):
            for code in set(codes or ()):
                lists[key][(day, unit_code, str(code))] += 1
    categories.update(lists)
    return Tally(dict(totals), {key: dict(counts) for key, counts in categories.items()}, dict(minutes))
