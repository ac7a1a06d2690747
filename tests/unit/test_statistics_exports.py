"""The CSV and XLSX exports: what Finnish Excel needs, a figure and a suppressed cell read back."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from gateway.mappings import MappingSet
from gateway.statistics.aggregate import Window, aggregate
from gateway.statistics.csv_export import to_csv
from gateway.statistics.labels import labels_for
from gateway.statistics.periods import Period
from gateway.statistics.report import Report, build_report
from gateway.statistics.tally import tally_events
from gateway.statistics.xlsx_export import to_xlsx
from tests.unit.test_statistics_figures import SHARES, SHARES_DAY, event

DAY = SHARES_DAY
EVENTS = [*SHARES, *(event(DAY, unit="=HYPERLINK(1)") for _ in range(5))]


def figures(mappings: MappingSet) -> Report:
    labels = labels_for(mappings)
    return build_report(aggregate(tally_events(EVENTS), Window(DAY, DAY, Period.MONTH), labels.known()), 5)


def rows(mappings: MappingSet) -> list[list[str]]:
    text = to_csv(figures(mappings), labels_for(mappings)).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_the_csv_starts_with_a_byte_order_mark_and_ends_lines_with_crlf(mappings: MappingSet) -> None:
    data = to_csv(figures(mappings), labels_for(mappings))

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == data.count(b"\n")


def test_the_csv_parses_with_semicolons_under_one_header(mappings: MappingSet) -> None:
    parsed = rows(mappings)

    assert parsed[0] == ["Taulukko", "Yksikkö", "Yksikön nimi", "Koodi", "Selite", "2026-06", "Yhteensä"]
    assert {len(row) for row in parsed} == {7}


def test_csv_shares_use_a_decimal_comma(mappings: MappingSet) -> None:
    share = next(row for row in rows(mappings) if row[1] == "A" and row[3] == "anonymous_share")

    assert share[5:] == ["50,0", "50,0"]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(mappings: MappingSet) -> None:
    units = {row[1] for row in rows(mappings)[1:]}

    assert "'=HYPERLINK(1)" in units and "=HYPERLINK(1)" not in units


def test_csv_suppressed_cells_are_marked(mappings: MappingSet) -> None:
    kept = next(row for row in rows(mappings) if row[1] == "A" and row[0] == "Johti asiakkuuteen" and row[3] == "yes")

    assert kept[5:] == ["..", ".."]


def test_the_xlsx_has_a_summary_and_a_sheet_per_dimension_with_a_styled_header(mappings: MappingSet) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(figures(mappings), labels_for(mappings))))

    assert book.sheetnames == [
        "Yhteenveto",
        "Pääsyy",
        "Lisäsyyt",
        "Yhteydenottaja",
        "Viranomainen",
        "Yhteydenottotapa",
        "Ohjauksen päättyminen",
        "Kesto (min)",
        "Johti asiakkuuteen",
        "Anonyymi",
    ]
    channel = book["Yhteydenottotapa"]
    assert [c.value for c in channel[1]] == ["Yksikkö", "Yksikön nimi", "Koodi", "Selite", "2026-06", "Yhteensä"]
    assert channel["A1"].font.bold


def test_the_xlsx_reads_back_a_known_figure_and_a_suppressed_cell(mappings: MappingSet) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(figures(mappings), labels_for(mappings))))
    channel = {(r[0], r[2]): r[4:] for r in book["Yhteydenottotapa"].iter_rows(min_row=2, values_only=True)}
    relationship = {(r[0], r[2]): r[4:] for r in book["Johti asiakkuuteen"].iter_rows(min_row=2, values_only=True)}

    assert channel[("*", "phone")] == (15, 15)
    assert channel[("A", "phone")] == (10, 10)
    assert channel[("A", "chat")] == (0, 0)
    assert relationship[("A", "yes")] == ("..", "..")


def test_the_xlsx_summary_says_what_k_is_and_writes_no_formula(mappings: MappingSet) -> None:
    book = load_workbook(io.BytesIO(to_xlsx(figures(mappings), labels_for(mappings))))
    summary = book["Yhteenveto"]

    assert any("k = 5" in str(cell.value) for cell in summary["A"])
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)
