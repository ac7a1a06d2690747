"""HTTP routes of the statistics: JSON, CSV and XLSX of one date range, scope ``statistics:read``.

The figures are anonymous and cross every client (a supervisor's statistics cover the unit, whoever
posted the outcomes), and small cells are suppressed in every answer.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gateway.openapi import AUTHENTICATED, problem_responses
from gateway.problems import Problem
from gateway.security.deps import require
from gateway.security.tokens import Principal
from gateway.state import GatewayState, State
from gateway.statistics import csv_export, xlsx_export
from gateway.statistics.aggregate import Window
from gateway.statistics.labels import Labels
from gateway.statistics.models import StatisticsOut, statistics_out
from gateway.statistics.periods import Period
from gateway.statistics.report import Report
from gateway.statistics.service import statistics_report
from gateway.statistics.window import MAX_DAYS, WindowError, check_window

SCOPE = "statistics:read"
router = APIRouter(prefix="/v1", tags=["statistics"])
CanRead = Annotated[Principal, Depends(require(SCOPE))]
From = Annotated[date, Query(alias="from", description="First day (Finnish calendar day), e.g. 2026-01-01.")]
To = Annotated[date, Query(alias="to", description=f"Last day, included; at most {MAX_DAYS} days after `from`.")]
PeriodParam = Annotated[Period, Query(description="Columns by day (at most 366 days), ISO week or month.")]
Unit = Annotated[str | None, Query(max_length=64, description="One unit's code; without it every unit and all.")]
WINDOW_DOC = (
    "Counts of the anonymous statistics events whose contact day is in the range. Counts from 1 to k-1, "
    "and shares and medians of fewer than k events, are suppressed, and so is any figure a suppressed one "
    "could be computed from (`GATEWAY_STATISTICS__SUPPRESSION_K`, default 5)."
)


def window_of(start: date, end: date, period: Period, unit: str | None) -> Window:
    try:
        return check_window(start, end, period, unit)
    except WindowError as exc:
        raise Problem(422, "invalid-request", "The request is not valid", errors=list(exc.errors)) from None


async def report_for(state: GatewayState, window: Window) -> tuple[Report, Labels]:
    return await statistics_report(
        state.engine, window, state.mappings.current(), state.settings.statistics.suppression_k
    )


def filename(window: Window, extension: str) -> str:
    unit = f"_{window.unit}" if window.unit else ""
    return f"tilastot_{window.start.isoformat()}_{window.end.isoformat()}_{window.period.value}{unit}.{extension}"


def download(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _file(media_type: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": what, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(*AUTHENTICATED, 422),
    }


@router.get(
    "/statistics",
    summary="Statistics of a date range by period and unit",
    response_model=StatisticsOut,
    responses=problem_responses(*AUTHENTICATED, 422),
    description=WINDOW_DOC,
)
async def statistics(
    state: State, principal: CanRead, start: From, end: To, period: PeriodParam = Period.MONTH, unit: Unit = None
) -> StatisticsOut:
    window = window_of(start, end, period, unit)
    report, labels = await report_for(state, window)
    return statistics_out(report, labels, state.mappings.current().version)


@router.get(
    "/statistics.csv",
    summary="The statistics as CSV for Finnish Excel (UTF-8 with BOM, `;`, decimal comma)",
    response_class=Response,
    responses=_file(csv_export.MEDIA_TYPE, "The summary and every dimension, `..` for a suppressed figure"),
    description=WINDOW_DOC,
)
async def statistics_csv(
    state: State, principal: CanRead, start: From, end: To, period: PeriodParam = Period.MONTH, unit: Unit = None
) -> Response:
    window = window_of(start, end, period, unit)
    report, labels = await report_for(state, window)
    return download(csv_export.to_csv(report, labels), csv_export.MEDIA_TYPE, filename(window, "csv"))


@router.get(
    "/statistics.xlsx",
    summary="The statistics as an Excel workbook: a summary sheet and one sheet per dimension",
    response_class=Response,
    responses=_file(xlsx_export.MEDIA_TYPE, "The workbook, `..` for a suppressed figure"),
    description=WINDOW_DOC,
)
async def statistics_xlsx(
    state: State, principal: CanRead, start: From, end: To, period: PeriodParam = Period.MONTH, unit: Unit = None
) -> Response:
    window = window_of(start, end, period, unit)
    report, labels = await report_for(state, window)
    return download(xlsx_export.to_xlsx(report, labels), xlsx_export.MEDIA_TYPE, filename(window, "xlsx"))
