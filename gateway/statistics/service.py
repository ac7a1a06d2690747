"""One report: read the tally for a window, aggregate, suppress. The API and the console both ask here."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.mappings import MappingSet
from gateway.statistics.aggregate import Window, aggregate
from gateway.statistics.labels import Labels, labels_for
from gateway.statistics.query import read_tally
from gateway.statistics.report import Report, build_report
from gateway.store.engine import reading


async def statistics_report(engine: AsyncEngine, window: Window, mappings: MappingSet, k: int) -> tuple[Report, Labels]:
    labels = labels_for(mappings)
    async with reading(engine) as conn:
        tally = await read_tally(conn, start=window.start, end=window.end, unit=window.unit)
    return build_report(aggregate(tally, window, labels.known()), k), labels
