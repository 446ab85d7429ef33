"""Form files: the rows of a CSV or XLSX offers-and-needs form, read as text, and every way
a file can fail to be a form (encoding, separators, sheets, formulas, dates, size) refused
naming its row and column."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from itertools import chain, repeat
from pathlib import Path
from typing import TextIO, TypeVar

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from service.errors import Unprocessable
from service.tabular import DELIMITERS, csv_value

# `version` is the item's version when exported (its ETag in the API): an import refuses a row
# whose item has changed since, instead of silently reverting that change.
COLUMNS = ("kind", "ref", "country", "factor", "language", "modality", "title", "description",
           "target_population", "capacity", "status", "version")
REQUIRED = ("kind", "factor", "modality", "title", "description")
FORMATS = ("csv", "xlsx")
CSV_SEPARATORS = tuple(DELIMITERS.values())
MAX_ROWS = 20_000
# An XLSX form of MAX_ROWS rows of the longest texts (accented) unpacks into about 240 MB.
MAX_XLSX_BYTES = 400_000_000
_Row = TypeVar("_Row")


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (spreadsheet row number, {column: text}) from a CSV or XLSX form."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _read_csv(path)
    elif suffix == ".xlsx":
        yield from _read_xlsx(path)
    else:
        raise Unprocessable(f"{path.name}: unsupported file type; use .csv or .xlsx.")


# How files of other kinds start: an XLSX (a zip package), and an Excel 97-2003 file, which is
# also what a password-protected (encrypted) XLSX file is.
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_KIND = "an Excel 97-2003 (.xls) or password-protected workbook"


def _check_header(header: list[str], name: str) -> list[str]:
    cols = [h.strip().lower() for h in header]
    while cols and not cols[-1]:
        cols.pop()  # spreadsheets often pad the header with empty cells
    missing = [c for c in REQUIRED if c not in cols]
    unknown = [c for c in cols if c and c not in COLUMNS]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown columns: {', '.join(unknown)}")
        raise Unprocessable(f"{name}: {'; '.join(parts)}. Expected: {', '.join(COLUMNS)}.")
    repeated = [c for i, c in enumerate(cols) if c and c in cols[:i]]
    if repeated:
        raise Unprocessable(f"{name}: duplicate column: {', '.join(dict.fromkeys(repeated))}.")
    return cols


def _row(name: str, number: int, cols: list[str], values: Sequence[str]) -> dict[str, str]:
    """The row as {column: text}, each cell stripped of surrounding whitespace."""
    cells = [v.strip() for v in values]
    while len(cells) > len(cols) and not cells[-1]:
        cells.pop()  # empty cells past the header are padding, not data
    if len(cells) > len(cols):
        raise Unprocessable(f"{name}: row {number}: {len(cells)} values for {len(cols)} columns.")
    for index, (col, value) in enumerate(zip(cols, cells, strict=False)):
        if not col and value:  # it would be dropped without a word
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise Unprocessable(
                f"{name}: row {number}: cell {_column(index, cols)}{number} holds "
                f"'{shown}' under a column without a header; name the column or empty the "
                "cell.")
    return {c: v for c, v in zip(cols, cells, strict=False) if c}


def _csv_problem(exc: csv.Error) -> str:
    # csv.Error carries no code, only its message.
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {csv.field_size_limit()} characters"
    if "unexpected end of data" in str(exc):
        return "a quoted cell is never closed"
    return f"not valid CSV ({exc})"


def _not_utf8(name: str, data: bytes, exc: UnicodeDecodeError) -> str:
    """Name the row of the first byte that is not UTF-8 (the text before it is), and say how
    to save the file: Excel's plain "CSV" is in the computer's legacy code page."""
    before = data[:exc.start].decode("utf-8-sig")
    rows = sum(1 for _ in csv.reader(io.StringIO(before, newline=""),
                                     delimiter=_delimiter(before)))
    if not before or before.endswith(("\n", "\r")):
        rows += 1  # the byte starts a row of its own
    return (f"{name}: row {rows}: not UTF-8 text (byte 0x{data[exc.start]:02X}); save the file "
            "as \"CSV UTF-8\" (in Excel: Save As, CSV UTF-8 (Comma delimited)) or in the UTF-8 "
            "encoding, and import it again.")


def _delimiter(text: str) -> str:
    """The separator of the header line that names the most form columns: a comma, or the
    semicolon that Excel writes where the decimal mark is a comma (es, pt, fr), or a tab."""
    header = re.split(r"[\r\n]", text, maxsplit=1)[0]  # lines may end in \r\n, \n or \r

    def known(separator: str) -> int:
        cells = next(csv.reader([header], delimiter=separator), [])
        return sum(c.strip().lower() in COLUMNS for c in cells)

    return max(CSV_SEPARATORS, key=known)  # the comma on a tie: the first one


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a CSV form, read and decoded as they are asked for: the import stops past
    its row limit, so a file far larger than any form is never held in memory whole."""
    try:
        with path.open("rb") as fh:
            start = fh.read(len(_OLE2))
        text = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise Unprocessable(f"{path.name}: cannot be read ({exc.strerror}).") from None
    if start.startswith(_ZIP):
        text.close()
        raise Unprocessable(f"{path.name}: an XLSX workbook, not CSV text; give the file the "
                            ".xlsx suffix, or save it as CSV UTF-8.")
    if start == _OLE2:
        text.close()
        raise Unprocessable(f"{path.name}: {_OLE2_KIND}, not CSV text; save it as CSV UTF-8.")
    with text:
        try:
            yield from _csv_rows(path.name, text)
        except UnicodeDecodeError:
            raise Unprocessable(_not_utf8(path.name, *_first_bad_byte(path))) from None
        except OSError as exc:
            raise Unprocessable(f"{path.name}: cannot be read ({exc.strerror}).") from None


def _csv_rows(name: str, text: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    first = text.readline()  # the header line tells the separator
    # Strict: a stray or unclosed quote is an error, not text that swallows the next cells.
    lines = chain([first], text) if first else iter(())  # "" only at the end of the file
    reader = csv.reader(lines, delimiter=_delimiter(first), strict=True)
    number = 0  # rows read so far; a csv.Error is about the next one
    try:
        header = next(reader, None)
        if header is None:
            raise Unprocessable(f"{name}: the file is empty.")
        number = 1
        cols = _check_header(header, name)
        for values in reader:
            number += 1
            if not any(v.strip() for v in values):
                continue
            yield number, _row(name, number, cols, [csv_value(v.strip()) for v in values])
    except csv.Error as exc:
        raise Unprocessable(f"{name}: row {number + 1}: {_csv_problem(exc)}.") from None


def _first_bad_byte(path: Path) -> tuple[bytes, UnicodeDecodeError]:
    """The file's bytes up to its first one that is not UTF-8, and the decoding error there
    (read a megabyte at a time, no further than that byte)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    data = bytearray()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            data += chunk
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                break
    try:
        bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return bytes(data), exc
    raise Unprocessable(f"{path.name}: not UTF-8 text; save the file as \"CSV UTF-8\" and "
                        "import it again.")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open("rb") as fh:
            start = fh.read(len(_OLE2))
    except OSError as exc:
        raise Unprocessable(f"{path.name}: cannot be read ({exc.strerror}).") from None
    if start == _OLE2:
        raise Unprocessable(f"{path.name}: {_OLE2_KIND}, which cannot be read; save it as an "
                            "Excel Workbook (.xlsx) without a password.")
    try:
        with zipfile.ZipFile(path) as package:
            unpacked = sum(info.file_size for info in package.infolist())
    except Exception as exc:  # zipfile raises many kinds for a broken file
        raise Unprocessable(f"{path.name}: not a readable XLSX file ({exc}).") from None
    if unpacked > MAX_XLSX_BYTES:
        # Checked before reading: a file built to unpack into gigabytes would fill the memory.
        raise Unprocessable(
            f"{path.name}: unpacks into more than {MAX_XLSX_BYTES // 1_000_000} MB "
            f"({unpacked // 1_000_000} MB), more than a form of {MAX_ROWS} rows of the "
            "longest texts takes; it is not a form.")
    try:
        book = load_workbook(path, read_only=True, data_only=True)  # each cell's saved value
        # A formula that no spreadsheet program has computed (in a generated file) has no
        # saved value, which must not pass for an empty cell: where the file holds formulas,
        # the cells are also read as written, formulas as their text, to find them.
        written = load_workbook(path, read_only=True) if _holds_formulas(path) else None
    except Exception as exc:  # openpyxl and zipfile raise many kinds for a broken file
        raise Unprocessable(f"{path.name}: not a readable XLSX file ({exc}).") from None
    try:
        index = _form_sheet(path.name, book)
        sheet = f"{path.name}, sheet '{book.worksheets[index].title}'"
        values = book.worksheets[index].iter_rows(values_only=True)
        formulas = (repeat(None) if written is None
                    else written.worksheets[index].iter_rows(values_only=True))
        rows = _sheet_rows(path.name, zip(values, formulas, strict=False))
        first = next(rows, None)
        if first is None:
            raise Unprocessable(f"{sheet}: the sheet is empty.")
        _check_saved(path.name, 1, *first, [])
        cols = _check_header([_cell(h) for h in first[0]], sheet)
        for number, row in enumerate(rows, start=2):
            _check_saved(path.name, number, *row, cols)
            _check_no_dates(path.name, number, row[0], cols)
            texts = [_cell(v) for v in row[0]]
            if not any(t.strip() for t in texts):
                continue
            yield number, _row(path.name, number, cols, texts)
    finally:
        book.close()
        if written is not None:
            written.close()


def _form_sheet(name: str, book: Workbook) -> int:
    """The index of the sheet whose first row names the form's required columns (a workbook
    may open with a sheet of instructions), or of the first sheet when none does. A form on
    several sheets (offers on one, needs on another) is refused: reading one would silently
    leave the others out."""
    found: list[int] = []
    for index, sheet in enumerate(book.worksheets):
        try:
            header = next(sheet.iter_rows(max_row=1, values_only=True), ())
        except Exception:  # openpyxl raises many kinds; a damaged sheet is reported when read
            continue
        cols = {_cell(v).strip().lower() for v in header}
        if all(c in cols for c in REQUIRED):
            found.append(index)
    if len(found) > 1:
        titles = [f"'{book.worksheets[i].title}'" for i in found]
        raise Unprocessable(
            f"{name}: sheets {', '.join(titles[:-1])} and {titles[-1]} both hold form columns; "
            "put every row on one sheet (or import one file per sheet).")
    return found[0] if found else 0


# The start of a formula element (<f>, or <x:f> with a namespace prefix) in a package part.
# Cell text cannot hold one (XML escapes its "<"); a chart's <c:f> can, which only costs the
# second reading.
_FORMULA_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


def _holds_formulas(path: Path) -> bool:
    """Whether any XML part of the package holds a formula element; most forms hold none,
    and their cells are then read once."""
    with zipfile.ZipFile(path) as package:
        return any(_part_holds_formula(package, info)
                   for info in package.infolist() if info.filename.endswith(".xml"))


def _part_holds_formula(package: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Search one part a megabyte at a time, so that a large sheet is never held whole."""
    tail = b""
    with package.open(info) as part:
        while chunk := part.read(1 << 20):
            if _FORMULA_ELEMENT.search(tail + chunk):
                return True
            tail = chunk[-256:]  # an element cut between two chunks is found with the next
    return False


# What a spreadsheet program saves as the result of a formula that failed.
_FORMULA_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!",
                             "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"))


def _check_saved(name: str, number: int, values: Sequence[object],
                 formulas: Sequence[object] | None, cols: Sequence[str]) -> None:
    """Refuse a row holding a formula without a saved result, or whose saved result is an
    error (#N/A, #REF!), naming its cell."""
    for index, (value, formula) in enumerate(zip(values, formulas or (), strict=False)):
        if value is None and formula is not None:
            raise Unprocessable(
                f"{name}: row {number}, column {_column(index, cols)}: a formula without a "
                f"saved result ({formula}); open the file in a spreadsheet program and save "
                "it, or paste the cells as values, before importing it.")
        if (value in _FORMULA_ERRORS and isinstance(formula, str)
                and formula.startswith("=")):
            raise Unprocessable(
                f"{name}: row {number}, column {_column(index, cols)}: a formula whose result "
                f"is an error ({value}) from the formula {formula}; correct the formula or "
                "type the value, and save the file before importing it.")


def _column(index: int, cols: Sequence[str]) -> str:
    """The letter of the column at `index`, and its form column: "I (target_population)"."""
    column = get_column_letter(index + 1)
    return f"{column} ({cols[index]})" if index < len(cols) and cols[index] else column


def _check_no_dates(name: str, number: int, values: Sequence[object],
                    cols: Sequence[str]) -> None:
    """Refuse a date, time or logical (TRUE/FALSE) cell, naming it: no form column holds one,
    and a spreadsheet program turns text typed as "5-17" or "10/12" into a date, or "true" into
    a logical value, losing the text."""
    for index, value in enumerate(values):
        if isinstance(value, bool):
            # A logical cell (TRUE, or VERDADERO, VRAI, VERDADEIRO in a localised program)
            # would be stored as the English text "True".
            raise Unprocessable(
                f"{name}: row {number}, column {_column(index, cols)}: a logical value "
                f"({str(value).upper()}) where the form has text or a number; the spreadsheet "
                "program may have read what was typed as TRUE or FALSE: format the cell as "
                "text, type it again and save.")
        if isinstance(value, datetime | date | time | timedelta):
            what = "a time" if isinstance(value, time | timedelta) else "a date"
            midnight = isinstance(value, datetime) and value.time() == time()
            shown = value.date() if midnight and isinstance(value, datetime) else value
            raise Unprocessable(
                f"{name}: row {number}, column {_column(index, cols)}: {what} ({shown}) where "
                "the form has text or a number; the spreadsheet program may have read what "
                f"was typed as {what}: format the cell as text, type it again and save.")


def _sheet_rows(name: str, rows: Iterator[_Row]) -> Iterator[_Row]:
    """The rows of a sheet, which openpyxl reads only as they are asked for: a damaged sheet
    (its XML cut short, say) is an error naming the file and the row, not a traceback."""
    number = 0
    while True:
        number += 1
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # openpyxl and the XML parser raise many kinds
            raise Unprocessable(
                f"{name}: row {number}: not a readable XLSX file ({exc}).") from None
        yield values
