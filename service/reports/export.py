"""Report exports: the views as tables, written as one CSV file (a section per view) or as an
XLSX workbook (a sheet per view).

CSV layout: each view starts with a line `# <view>`, then its header row and its rows, and
ends with an empty line. Views: summary, stages, factors, countries, matrix (providers down,
recipients across, outcome counts), partners, followups.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from service.reports.schemas import Report

Cell = str | int | None
STAGE_COLUMNS = ("suggested", "expression_of_interest", "commitment", "agreement", "declined",
                 "withdrawn", "outcomes")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Sheet:
    """One view of a report as a table."""

    name: str
    header: list[str]
    rows: list[list[Cell]]


def _text(value: Cell) -> Cell:
    """Text stays text: a cell starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def sheets(report: Report) -> list[Sheet]:
    """Return the report's views as tables, in a fixed order."""
    scope = report.scope
    summary = Sheet("summary", ["item", "value"], [
        ["table_id", scope.table_id], ["table_name", scope.table_name],
        ["from", scope.date_from.isoformat() if scope.date_from else None],
        ["to", scope.date_to.isoformat() if scope.date_to else None],
        ["country", scope.country], ["generated_at", scope.generated_at.isoformat()],
        ["as_of", scope.as_of.isoformat()], ["headline", report.headline.text],
    ])
    stages = Sheet("stages", ["stage", "count"], [[r.stage, r.count] for r in report.stages])
    factors = Sheet("factors", ["factor", "label", *STAGE_COLUMNS],
                    [[r.factor, r.label, *(getattr(r, c) for c in STAGE_COLUMNS)]
                     for r in report.factors])
    countries = Sheet("countries", ["country", "name", "role", *STAGE_COLUMNS],
                      [[r.country, r.name, r.role, *(getattr(r, c) for c in STAGE_COLUMNS)]
                       for r in report.countries])
    cell = {(c.provider, c.recipient): c.outcomes for c in report.matrix.cells}
    matrix = Sheet("matrix", ["provider \\ recipient", *report.matrix.recipients],
                   [[p, *(cell.get((p, r), 0) for r in report.matrix.recipients)]
                    for p in report.matrix.providers])
    partners = Sheet("partners", ["partner", "support", "pairings", "confirmed",
                                  *STAGE_COLUMNS],
                     [[r.name, r.support, r.pairings, r.confirmed,
                       *(getattr(r, c) for c in STAGE_COLUMNS)] for r in report.partners])
    follow_cols = ["planned", "in_progress", "done", "cancelled", "overdue", "total"]
    followups = Sheet("followups", ["responsible_country", *follow_cols],
                      [[r.country, *(getattr(r, c) for c in follow_cols)]
                       for r in report.followups])
    return [summary, stages, factors, countries, matrix, partners, followups]


def to_csv(report: Report) -> str:
    """Write every view into one CSV text, a `# view` section each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for sheet in sheets(report):
        writer.writerow([f"# {sheet.name}"])
        writer.writerow(sheet.header)
        writer.writerows([[_text(v) for v in row] for row in sheet.rows])
        writer.writerow([])
    return out.getvalue()


def to_xlsx(report: Report) -> bytes:
    """Write every view to its own sheet of an XLSX workbook."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for sheet in sheets(report):
        ws = book.create_sheet(sheet.name)
        ws.append(sheet.header)
        for cell in ws[1]:
            cell.font = bold
        for row in sheet.rows:
            ws.append([_text(v) for v in row])
        ws.freeze_panes = "B2"
        for n, title in enumerate(sheet.header, start=1):
            values = [len(str(row[n - 1])) for row in sheet.rows if row[n - 1] is not None]
            ws.column_dimensions[get_column_letter(n)].width = min(
                max([len(title), *values]) + 2, 60)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
