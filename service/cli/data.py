"""Data commands: import and export of the spreadsheet forms."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.cli.ops import require_migrated_database
from service.cli.options import (
    add_delimiter_option,
    is_stream,
    named_path,
    output_format,
    output_path,
    suffixes,
    write_atomically,
)
from service.cli.progress import progress_printer
from service.countries.service import require_country
from service.db import session_scope
from service.errors import Unprocessable
from service.items.form_files import FORMATS, read_rows
from service.items.forms import export_rows, form_bytes, import_rows
from service.tabular import csv_delimiter


class _Rejected(Exception):
    """Raised inside the unit of work so that nothing of a bad import is written."""


def cmd_import(args: argparse.Namespace) -> int:
    path = named_path(args.file, "FILE")
    if not path.is_file():
        what = ("no such file" if not path.exists() else "is a folder" if path.is_dir()
                else "not a regular file (a FIFO or device); give a file name")
        raise Unprocessable(f"{path}: {what}.")
    require_migrated_database()
    try:
        with session_scope() as session:
            # As every command and filter checks a code: a two-letter one gets its ISO3 twin.
            # An empty code is refused, not taken as no --country: that would import every
            # country's rows where one country's were meant.
            country = (require_country(session, args.country).iso3
                       if args.country is not None else None)
            report = import_rows(session, read_rows(path), country=country,
                                 progress=lambda kind: progress_printer(f"encoding {kind}s"))
            if report.errors:
                raise _Rejected
    except _Rejected:
        for number, reason in report.errors:
            print(f"{path.name}: row {number}: {reason}", file=sys.stderr)
        bad = len({number for number, _reason in report.errors})
        print(f"import rejected: {bad} bad row(s); nothing was written",
              file=sys.stderr)
        return 1
    print(f"imported {path.name}: {report.created} created, {report.updated} updated, "
          f"{report.unchanged} unchanged")
    return 0


def _refuse_unreadable_form(out: Path, fmt: str) -> None:
    """Refuse an --out that `import` would not read back (forms.txt with --format csv): a file
    must bear its format's suffix. A pipe or /dev/stdout has no name to import."""
    if out.suffix.lower() != f".{fmt}" and not is_stream(out):
        raise Unprocessable(f"{out}: import reads only {suffixes(FORMATS)} files; give --out a "
                            f".{fmt} name.")


def cmd_export(args: argparse.Namespace) -> int:
    out = output_path(args.out)
    fmt = output_format(out, args.format, FORMATS)
    _refuse_unreadable_form(out, fmt)
    delimiter = csv_delimiter(args.delimiter, fmt)
    require_migrated_database()
    with session_scope(writes=False) as session:
        rows = export_rows(session)
    write_atomically(out, form_bytes(rows, fmt, delimiter=delimiter))
    print(f"exported {len(rows)} offers and needs to {out}")
    return 0


def add_commands(sub: Any) -> None:
    """Register the data sub-commands."""
    p = sub.add_parser("import", help="import offers and needs from a CSV or XLSX form")
    p.add_argument("file", metavar="FILE", help="FILE.csv or FILE.xlsx")
    p.add_argument("--country", help="every row must be for this ISO3 country (filled in "
                                     "where the column is empty)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export every offer and need as CSV or XLSX")
    p.add_argument("--format", choices=FORMATS, help="default: the suffix of --out")
    p.add_argument("--out", required=True, help="the file to write (.csv or .xlsx)")
    add_delimiter_option(p)
    p.set_defaults(func=cmd_export)
