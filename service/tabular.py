"""Tables written as one CSV text (a `# name` section per table) or one XLSX workbook (a
sheet per table): the shared writer of the report and plan exports.

CSV layout: each table starts with a line `# <name>`, then its header row and its rows, and
ends with an empty line. Cells are separated by commas unless a semicolon or a tab is asked
for (`DELIMITERS`). The file starts with a UTF-8 byte-order mark, without which Excel reads
it in the computer's legacy code page and garbles accents.

Text that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return, after any apostrophes) gets one more apostrophe in front in CSV, which `csv_value`
takes off again; in XLSX it is stored as a string cell marked `quotePrefix` (as Excel does for
text typed after an apostrophe), so no apostrophe is added. The forms export and import use the
same helpers.

Dates and datetimes are ISO 8601 text in CSV and real date cells in XLSX. Excel has no time
zones, so an aware datetime is written to XLSX as naive UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import Query, Response
from openpyxl import Workbook
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from service.errors import Unprocessable

Cell = str | int | float | date | datetime | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODING = "utf-8-sig"  # with the byte-order mark that Excel needs to read UTF-8
# The separators of CSV cells by name: the comma, or the semicolon that Excel writes and reads
# where the decimal mark is a comma (es, pt, fr), or a tab.
DelimiterName = Literal["comma", "semicolon", "tab"]
DELIMITERS: dict[DelimiterName, str] = {"comma": ",", "semicolon": ";", "tab": "\t"}
DelimiterQuery = Annotated[DelimiterName | None, Query(
    description="csv only: what separates the cells, comma (default), semicolon (for Excel "
                "where the decimal mark is a comma, as in es, pt, fr) or tab")]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Sheet:
    """One table: a name, a header row and the rows."""

    name: str
    header: list[str]
    rows: list[list[Cell]]


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would run `text` as a formula, or would once one leading
    apostrophe is taken off (so that `csv_value` can tell the marker from the text)."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """A CSV cell that a spreadsheet shows as `text`: formula-like text behind one more
    apostrophe (`'=x` is written `''=x`)."""
    return "'" + text if looks_like_formula(text) else text


def csv_value(cell: str) -> str:
    """The text of a CSV cell written by `csv_text`: its marking apostrophe taken off."""
    return cell[1:] if cell[:1] == "'" and looks_like_formula(cell) else cell


def keep_text(cell: XlsxCell) -> None:
    """Keep an XLSX cell holding formula-like text a string, also when it is edited."""
    if isinstance(cell.value, str) and looks_like_formula(cell.value):
        cell.data_type = "s"  # openpyxl makes every "=..." a formula
        cell.quotePrefix = True  # and Excel keeps it text when the cell is edited


def _text(value: Cell) -> Cell:
    """A CSV cell: dates in ISO 8601, and formula-like text as `csv_text` writes it."""
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    if isinstance(value, str):
        return csv_text(value)
    return value


def _xlsx_value(value: Cell) -> Cell:
    """An XLSX cell value: an aware datetime as naive UTC, since Excel has no time zones."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def append_row(ws: Worksheet, row: Sequence[Cell]) -> None:
    """Append a row; formula-like text stays a plain string cell. The cells are made before
    they are appended: finding the last row of a sheet (`ws.max_row`) looks at every cell,
    which made writing a sheet take time quadratic in its rows."""
    cells = [XlsxCell(ws, value=_xlsx_value(v)) for v in row]
    for cell in cells:
        keep_text(cell)
    ws.append(cells)


def csv_delimiter(name: DelimiterName | None, fmt: str) -> str:
    """The separator of CSV cells named `name` (the API's `delimiter`, the command line's
    `--delimiter`), by default the comma; refused with another format, which it would not
    change."""
    if name is None:
        return DELIMITERS["comma"]
    if fmt != "csv":
        raise Unprocessable(f"The cell delimiter is for CSV only, not {fmt}; leave it out.",
                            errors=[{"field": "query.delimiter", "message": "CSV only"}])
    return DELIMITERS[name]


def to_csv(sheets: Sequence[Sheet], delimiter: str = ",") -> str:
    """Write every table into one CSV text, a `# name` section each, cells separated by
    `delimiter` (one of DELIMITERS' values)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
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
        append_row(ws, sheet.header)
        for cell in ws[1]:
            cell.font = bold
        for row in sheet.rows:
            append_row(ws, row)
        ws.freeze_panes = "B2"
        for n, title in enumerate(sheet.header, start=1):
            values = [len(str(_text(row[n - 1]))) for row in sheet.rows
                      if row[n - 1] is not None]
            ws.column_dimensions[get_column_letter(n)].width = min(
                max([len(title), *values]) + 2, 60)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def download(sheets: Sequence[Sheet], fmt: str, stem: str, delimiter: str = ",") -> Response:
    """Return the tables as a file to save: `fmt` "csv" (cells separated by `delimiter`) or
    "xlsx", named `stem.<fmt>`."""
    disposition = {"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'}
    if fmt == "csv":
        return Response(to_csv(sheets, delimiter).encode(CSV_ENCODING),
                        media_type="text/csv; charset=utf-8",
                        headers=disposition)
    if fmt == "xlsx":
        return Response(to_xlsx(sheets), media_type=XLSX_MEDIA_TYPE, headers=disposition)
    raise ValueError(f"unknown file format {fmt!r}")
