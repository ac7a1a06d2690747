"""What ``GET /v1/statistics`` answers (pydantic, published in the OpenAPI document)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from gateway.statistics.labels import Labels
from gateway.statistics.periods import Period
from gateway.statistics.report import Report, Row

SUPPRESSED_NOTE = "null: suppressed (fewer than k events, or a figure a suppressed one could be computed from)"


class RowOut(BaseModel):
    unit: str = Field(description="A unit code, or `*` for all units of the report together.")
    unit_name: str
    code: str = Field(description="The category's code (a reason code, a channel, ...).")
    label: str = Field(description="The code's Finnish display.")
    values: list[int | None] = Field(description=f"One count per column. {SUPPRESSED_NOTE}.")


class TableOut(BaseModel):
    dimension: str
    title: str
    title_fi: str
    multi_valued: bool = Field(description="An event counts once per value (additional reasons, where it ended).")
    rows: list[RowOut]


class SummaryOut(BaseModel):
    unit: str
    unit_name: str
    period: str = Field(description="A column: a period's label, or `total` for the whole range.")
    events: int | None
    client_relationship: int | None = Field(description="Events that led to a client relationship.")
    client_relationship_share: float | None = Field(description="0..1; null when suppressed or without events.")
    anonymous: int | None
    anonymous_share: float | None = Field(description="0..1; null when suppressed or without events.")
    median_minutes: float | None = Field(description="Median duration; shown only with at least k events.")
    suppressed: list[str] = Field(description="The fields of this row that are null because they are suppressed.")


class StatisticsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(serialization_alias="from")
    to: date
    period: Period
    unit: str | None
    k: int = Field(description="The smallest count shown: counts from 1 to k-1 are suppressed.")
    mapping_version: str = Field(description="The mapping version whose displays the labels are.")
    columns: list[str] = Field(description="The periods in order, then `total` (the whole range).")
    events: list[RowOut] = Field(description="Events per unit.")
    tables: list[TableOut]
    summary: list[SummaryOut]


def _row(row: Row, labels: Labels, dimension: str | None) -> RowOut:
    return RowOut(
        unit=row.unit,
        unit_name=labels.unit(row.unit),
        code=row.category if dimension else "events",
        label=labels.label(dimension, row.category) if dimension else "Yhteydenottoja",
        values=list(row.values),
    )


def statistics_out(report: Report, labels: Labels, mapping_version: str) -> StatisticsOut:
    window = report.window
    return StatisticsOut(
        from_=window.start,
        to=window.end,
        period=window.period,
        unit=window.unit,
        k=report.k,
        mapping_version=mapping_version,
        columns=list(report.columns),
        events=[_row(row, labels, None) for row in report.events],
        tables=[
            TableOut(
                dimension=table.dimension.key,
                title=table.dimension.title,
                title_fi=table.dimension.title_fi,
                multi_valued=table.dimension.multi_valued,
                rows=[_row(row, labels, table.dimension.key) for row in table.rows],
            )
            for table in report.tables
        ],
        summary=[
            SummaryOut(
                unit=s.unit,
                unit_name=labels.unit(s.unit),
                period=s.period,
                events=s.events,
                client_relationship=s.client_relationship,
                client_relationship_share=s.client_relationship_share,
                anonymous=s.anonymous,
                anonymous_share=s.anonymous_share,
                median_minutes=s.median_minutes,
                suppressed=sorted(s.suppressed),
            )
            for s in report.summary
        ],
    )
