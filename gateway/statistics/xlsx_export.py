"""The report as an Excel workbook (openpyxl): a summary sheet, then one sheet per dimension.

Counts are numbers, shares are numbers formatted as percentages, so the unit can go on computing in
Excel; a suppressed figure is the text ``..``, explained on the summary sheet. Every text cell is
written as text, never as a formula, whatever it starts with.
"""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gateway.statistics.labels import Labels
from gateway.statistics.layout import Hidden, Minutes, Share, Sheet, Value, sheets, suppression_note
from gateway.statistics.report import Report

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1D2733")
PERIOD_NAMES = {"day": "päivä", "week": "viikko", "month": "kuukausi"}


def _put(sheet: Worksheet, row: int, column: int, value: Value) -> None:
    target = sheet.cell(row=row, column=column)
    if isinstance(value, Hidden):
        target.value = value.value
        target.alignment = Alignment(horizontal="right")
    elif isinstance(value, Share):
        target.value = value.value
        target.number_format = "0.0 %"
    elif isinstance(value, Minutes):
        target.value = value.value
        target.number_format = "0.0"
    elif isinstance(value, str):
        target.value = value
        target.data_type = "s"  # text, even when it starts with '=': never a formula
    else:
        target.value = value


def _table(sheet: Worksheet, laid_out: Sheet, first_row: int) -> None:
    for column, title in enumerate(laid_out.header, start=1):
        _put(sheet, first_row, column, title)
        sheet.cell(row=first_row, column=column).font = HEADER_FONT
        sheet.cell(row=first_row, column=column).fill = HEADER_FILL
    for offset, values in enumerate(laid_out.rows, start=1):
        for column, value in enumerate(values, start=1):
            _put(sheet, first_row + offset, column, value)
    sheet.freeze_panes = f"E{first_row + 1}"
    for column, width in ((1, 18), (2, 30), (3, 22), (4, 36)):
        sheet.column_dimensions[get_column_letter(column)].width = width
    for column in range(5, len(laid_out.header) + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 11


def _span(start: date, end: date) -> str:
    return f"{start.isoformat()} – {end.isoformat()}"


def to_xlsx(report: Report, labels: Labels) -> bytes:
    workbook = Workbook()
    laid_out = sheets(report, labels)
    summary = workbook.active
    assert summary is not None
    summary.title = laid_out[0].name
    window = report.window
    preface = (
        "Asiakasohjauksen tilastot",
        f"Aikaväli: {_span(window.start, window.end)}, jakso: {PERIOD_NAMES[window.period.value]}",
        f"Yksikkö: {labels.unit(window.unit) if window.unit else 'kaikki yksiköt'}",
        f"Pienten lukujen suojaus k = {report.k}. " + suppression_note(report.k),
    )
    for row, line in enumerate(preface, start=1):
        _put(summary, row, 1, line)
    summary.cell(row=1, column=1).font = Font(bold=True, size=14)
    _table(summary, laid_out[0], len(preface) + 2)
    for part in laid_out[1:]:
        sheet = workbook.create_sheet(part.name)
        _table(sheet, part, 1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
