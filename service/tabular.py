"""Tables written as one CSV text (a `# name` section per table) or one XLSX workbook (a
sheet per table): the shared writer of the report and plan exports.

CSV layout: each table starts with a line `# <name>`, then its header row and its rows, and
ends with an empty line. Text that a spreadsheet would run as a formula gets a leading
apostrophe, in both formats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Cell = str | int | float | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Sheet:
    """One table: a name, a header row and the rows."""

    name: str
    header: list[str]
    rows: list[list[Cell]]


def _text(value: Cell) -> Cell:
    """Text stays text: a cell starting like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(sheets: Sequence[Sheet]) -> str:
    """Write every table into one CSV text, a `# name` section each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for sheet in sheets:
        writer.writerow([f"# {sheet.name}"])
        writer.writerow(sheet.header)
        writer.writerows([[_text(v) for v in row] for row in sheet.rows])
        writer.writerow([])
    return out.getvalue()


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """Write every table to its own sheet of an XLSX workbook (bold, frozen header row)."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for sheet in sheets:
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


def download(sheets: Sequence[Sheet], fmt: str, stem: str) -> Response:
    """Return the tables as a file to save: `fmt` "csv" or "xlsx", named `stem.<fmt>`."""
    disposition = {"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'}
    if fmt == "csv":
        return Response(to_csv(sheets), media_type="text/csv; charset=utf-8",
                        headers=disposition)
    if fmt == "xlsx":
        return Response(to_xlsx(sheets), media_type=XLSX_MEDIA_TYPE, headers=disposition)
    raise ValueError(f"unknown file format {fmt!r}")
