"""CSV of the käyttöloki and luovutusloki, safe to open in a spreadsheet.

RFC 4180 (comma, CRLF, quotes doubled), UTF-8, one header row of the entry's field names. A cell
that a spreadsheet would read as a formula (one starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) is prefixed with an apostrophe, the OWASP advice against CSV injection: log
fields such as a client's name or a stated purpose come from callers, and an auditor opening the
export must not run what someone wrote there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import RowMapping

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One value as CSV text: times in ISO 8601 (UTC), nothing for null, formulas defused."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lines(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue()


async def csv_stream(
    model: type[BaseModel],
    batches: AsyncIterator[list[RowMapping]],
    to_entry: Callable[[RowMapping], BaseModel],
) -> AsyncIterator[str]:
    """The header, then each batch of entries as CSV lines."""
    fields = list(model.model_fields)
    yield lines([fields])
    async for rows in batches:
        yield lines([getattr(to_entry(row), name) for name in fields] for row in rows)
