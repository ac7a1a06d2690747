"""The supervisors' statistics page at ``/console/statistics``: a range form, bar charts, the tables, exports.

Everything shown comes from :mod:`gateway.statistics` with small cells already suppressed; the
exports are the API's CSV and XLSX, fetched with the console's cookie login (``statistics:read``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from gateway.console.render import page
from gateway.console.session import ConsoleSession, session_requiring
from gateway.plan.days import FINNISH_TIME
from gateway.state import get_state
from gateway.statistics import csv_export, xlsx_export
from gateway.statistics.aggregate import ALL_UNITS, WHOLE_RANGE, Window
from gateway.statistics.charts import BarChart, bar_chart
from gateway.statistics.labels import Labels, period_name
from gateway.statistics.layout import SUPPRESSED_MARK, suppression_note
from gateway.statistics.periods import Period
from gateway.statistics.report import Report
from gateway.statistics.routes import SCOPE, download, filename, report_for
from gateway.statistics.window import WindowError, check_window

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(session_requiring(SCOPE))]
Text = Annotated[str | None, Query(max_length=64)]
From = Annotated[str | None, Query(alias="from", max_length=64)]
To = Annotated[str | None, Query(alias="to", max_length=64)]
CHARTED = ("main_reason", "channel", "contacted_by", "ended_how")


def _form(request: Request, start: str | None, end: str | None, period: str | None, unit: str | None) -> dict[str, str]:
    today = get_state(request).now().astimezone(FINNISH_TIME).date()
    return {
        "from": start or today.replace(month=1, day=1).isoformat(),
        "to": end or today.isoformat(),
        "period": period or Period.MONTH.value,
        "unit": unit or "",
    }


def _window(form: dict[str, str]) -> tuple[Window | None, list[str]]:
    """The form's window, or the problems with it in words."""
    problems: list[str] = []
    dates: dict[str, date] = {}
    for field in ("from", "to"):
        try:
            dates[field] = date.fromisoformat(form[field])
        except ValueError:
            problems.append(f"'{field}' is not a date (YYYY-MM-DD).")
    try:
        period = Period(form["period"])
    except ValueError:
        problems.append("'period' must be day, week or month.")
        period = Period.MONTH
    if problems:
        return None, problems
    try:
        return check_window(dates["from"], dates["to"], period, form["unit"] or None), []
    except WindowError as exc:
        return None, [f"{error['field'].removeprefix('query.')}: {error['message']}." for error in exc.errors]


def _cell(value: int | None) -> dict[str, Any]:
    return {"text": SUPPRESSED_MARK if value is None else str(value), "suppressed": value is None}


def _tables(report: Report, labels: Labels) -> list[dict[str, Any]]:
    return [
        {
            "title": table.dimension.title,
            "title_fi": table.dimension.title_fi,
            "multi_valued": table.dimension.multi_valued,
            "rows": [
                {
                    "unit": labels.unit(row.unit),
                    "label": labels.label(table.dimension.key, row.category),
                    "code": row.category,
                    "cells": [_cell(value) for value in row.values],
                }
                for row in table.rows
            ],
        }
        for table in report.tables
    ]


def _charts(report: Report, labels: Labels) -> list[BarChart]:
    """Whole-range bars of all units (or the one unit asked for), and events per period."""
    unit = report.window.unit or ALL_UNITS
    total = report.columns.index(WHOLE_RANGE)
    charts: list[BarChart | None] = []
    for key in CHARTED:
        table = report.table(key)
        items = [
            (labels.label(key, row.category), row.values[total])
            for row in table.rows
            if row.unit == unit and row.values[total] != 0
        ]
        charts.append(bar_chart(table.dimension.title, items))
    events = next(row for row in report.events if row.unit == unit)
    charts.append(bar_chart("Contacts per period", list(zip(report.columns[:-1], events.values[:-1], strict=True))))
    return [chart for chart in charts if chart is not None]


@router.get("/statistics", response_class=HTMLResponse)
async def statistics_page(
    request: Request, session: Session, start: From = None, end: To = None, period: Text = None, unit: Text = None
) -> HTMLResponse:
    state = get_state(request)
    form = _form(request, start, end, period, unit)
    window, problems = _window(form)
    context: dict[str, Any] = {"form": form, "problems": problems, "periods": [p.value for p in Period]}
    context["units"] = sorted(state.mappings.current().units.items())
    if window is not None:
        report, labels = await report_for(state, window)
        query = urlencode({"from": form["from"], "to": form["to"], "period": form["period"], "unit": form["unit"]})
        by_cell = {(s.unit, s.period): s for s in report.summary}
        context.update(
            report=report,
            columns=[period_name(c) for c in report.columns],
            tables=_tables(report, labels),
            charts=_charts(report, labels),
            summary=[(labels.unit(u), [by_cell[(u, c)] for c in report.columns]) for u in report.units],
            query=query,
            note=suppression_note(report.k),
        )
    return page(
        request,
        "statistics.html",
        session=session,
        nav="statistics",
        now=state.now(),
        status_code=200 if window else 422,
        **context,
    )


async def _export(request: Request, session: ConsoleSession, form: dict[str, str], extension: str) -> Response:
    window, problems = _window(form)
    if window is None:
        return page(
            request,
            "refused.html",
            session=session,
            status_code=422,
            heading="Export not made",
            message=" ".join(problems),
            back="/console/statistics",
        )
    report, labels = await report_for(get_state(request), window)
    if extension == "csv":
        return download(csv_export.to_csv(report, labels), csv_export.MEDIA_TYPE, filename(window, "csv"))
    return download(xlsx_export.to_xlsx(report, labels), xlsx_export.MEDIA_TYPE, filename(window, "xlsx"))


@router.get("/statistics.csv")
async def statistics_csv(
    request: Request, session: Session, start: From = None, end: To = None, period: Text = None, unit: Text = None
) -> Response:
    return await _export(request, session, _form(request, start, end, period, unit), "csv")


@router.get("/statistics.xlsx")
async def statistics_xlsx(
    request: Request, session: Session, start: From = None, end: To = None, period: Text = None, unit: Text = None
) -> Response:
    return await _export(request, session, _form(request, start, end, period, unit), "xlsx")
