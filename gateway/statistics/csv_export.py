"""The report as a CSV that Finnish Excel opens by double-click: UTF-8 with BOM, ``;``, decimal comma, CRLF.

Finnish Excel reads ``;`` as the separator (``,`` is the decimal mark there) and needs the byte
order mark to read UTF-8 (ä, ö). The first column names the table (the summary or a dimension), so
the file filters and pivots as one sheet. A cell a spreadsheet would read as a formula is
neutralised as in the audit export (codes and unit names come from configuration and old data).
"""

from __future__ import annotations

import csv
import io

from gateway.audit.export import cell
from gateway.statistics.labels import Labels
from gateway.statistics.layout import Hidden, Minutes, Share, Value, sheets
from gateway.statistics.report import Report

MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
TABLE_COLUMN = "Taulukko"


def decimal(value: float, places: int = 1) -> str:
    """``12.5`` -> ``12,5``: Finnish Excel reads a comma as the decimal mark."""
    return f"{value:.{places}f}".replace(".", ",")


def text(value: Value) -> str:
    if isinstance(value, Hidden):
        return value.value
    if isinstance(value, Share):
        return decimal(value.value * 100)
    if isinstance(value, Minutes):
        return decimal(value.value)
    return cell(value)


def to_csv(report: Report, labels: Labels) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    laid_out = sheets(report, labels)
    writer.writerow([TABLE_COLUMN, *laid_out[0].header])
    for sheet in laid_out:
        for row in sheet.rows:
            writer.writerow([cell(sheet.name), *(text(value) for value in row)])
    return buffer.getvalue().encode("utf-8-sig")
