"""The report laid out as the unit's Excel sheet was: a summary, then one table per dimension. Pure.

Both exports (CSV and XLSX) write these same rows, so they never disagree. Each row is a unit (or
all units), a code and its Finnish display, then one figure per period and the whole range's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.statistics.labels import Labels, period_name
from gateway.statistics.report import Report, Summary

SUPPRESSED_MARK = ".."  # Statistics Finland's mark for a figure withheld as confidential


class Hidden(Enum):
    """A suppressed figure."""

    CELL = SUPPRESSED_MARK


@dataclass(frozen=True, slots=True)
class Share:
    """A proportion 0..1, shown as a percentage."""

    value: float


@dataclass(frozen=True, slots=True)
class Minutes:
    value: float


Value = int | Share | Minutes | str | Hidden | None


@dataclass(frozen=True, slots=True)
class Sheet:
    key: str
    name: str  # Finnish, at most 31 characters (an Excel sheet name)
    header: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]


LEAD = ("Yksikkö", "Yksikön nimi", "Koodi", "Selite")
MEASURES: tuple[tuple[str, str], ...] = (
    ("events", "Yhteydenottoja"),
    ("client_relationship", "Johti asiakkuuteen"),
    ("client_relationship_share", "Johti asiakkuuteen, osuus"),
    ("anonymous", "Anonyymejä"),
    ("anonymous_share", "Anonyymejä, osuus"),
    ("median_minutes", "Kesto, mediaani (min)"),
)


def suppression_note(k: int) -> str:
    return (
        f"{SUPPRESSED_MARK} = salattu: alle {k} yhteydenoton luku, tai luku, josta salattu luku voitaisiin "
        f"laskea. Osuudet ja mediaanit näytetään vain, kun yhteydenottoja on vähintään {k}. 0 = ei yhtään."
    )


def _measure(summary: Summary, measure: str) -> Value:
    if measure in summary.suppressed:
        return Hidden.CELL
    value = getattr(summary, measure)
    if value is None:
        return None
    if measure.endswith("_share"):
        return Share(float(value))
    if measure == "median_minutes":
        return Minutes(float(value))
    return int(value)


def _count(value: int | None) -> Value:
    return Hidden.CELL if value is None else value


def sheets(report: Report, labels: Labels) -> tuple[Sheet, ...]:
    header = (*LEAD, *(period_name(column) for column in report.columns))
    by_cell = {(s.unit, s.period): s for s in report.summary}
    summary_rows = tuple(
        (
            unit,
            labels.unit(unit),
            measure,
            title,
            *(_measure(by_cell[(unit, column)], measure) for column in report.columns),
        )
        for unit in report.units
        for measure, title in MEASURES
    )
    result = [Sheet("summary", "Yhteenveto", header, summary_rows)]
    for table in report.tables:
        key = table.dimension.key
        rows = tuple(
            (
                row.unit,
                labels.unit(row.unit),
                row.category,
                labels.label(key, row.category),
                *(_count(value) for value in row.values),
            )
            for row in table.rows
        )
        result.append(Sheet(key, table.dimension.title_fi[:31], header, rows))
    return tuple(result)
