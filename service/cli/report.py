"""`sscmatch report`: a table's (or every table's) outcome report as CSV, XLSX or JSON, or
its network picture as SVG or PNG."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError

from service import tabular
from service.auth.service import Principal
from service.cli.ops import require_migrated_database
from service.cli.options import (
    add_delimiter_option,
    int_in,
    output_format,
    output_path,
    write_atomically,
)
from service.db import session_scope
from service.errors import Unprocessable
from service.reports import export
from service.reports.service import build_report, network_image, scope_for
from service.schemas import MAX_ID, Day

FORMATS = ("csv", "xlsx", "json", "svg", "png")
# The command line is run by the operators of the service: it reports like an organiser.
OPERATOR = Principal(key_id=0, role="organizer", country=None, name="command line")


_DAY: TypeAdapter[date] = TypeAdapter(Day)


def _day(text: str) -> date:
    """A day as the API reads `from`, `to` and `as_of`: YYYY-MM-DD, 2000-01-01 to 2100-12-31."""
    try:
        return _DAY.validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            f"not a date from 2000-01-01 to 2100-12-31 (YYYY-MM-DD): {text!r}") from None


def _table_id(text: str) -> int | None:
    if text.lower() == "all":
        return None
    try:
        return int_in(1, MAX_ID)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"TABLE_ID is a number from 1 to {MAX_ID} or 'all': {text!r}") from None


def _refuse_swapped_days(date_from: date | None, date_to: date | None) -> None:
    """Refuse a --to before --from naming both options and days, before any work (the
    service's own check names the API's `from` and `to`)."""
    if date_from is not None and date_to is not None and date_to < date_from:
        raise Unprocessable(f"--to {date_to} is before --from {date_from}; give --from the "
                            "earlier day.")


def cmd_report(args: argparse.Namespace) -> int:
    _refuse_swapped_days(args.date_from, args.date_to)
    out = output_path(args.out)
    fmt = output_format(out, args.format, FORMATS)
    delimiter = tabular.csv_delimiter(args.delimiter, fmt)
    if args.as_of is not None and fmt in ("svg", "png"):
        raise Unprocessable(f"--as-of judges the lateness of the followups view; a {fmt} "
                            "network picture has none, leave --as-of out.")
    require_migrated_database()
    with session_scope(writes=False) as session:
        scope = scope_for(session, principal=OPERATOR, table_id=args.table_id,
                          date_from=args.date_from, date_to=args.date_to,
                          country=args.country, factor=args.factor)
        if fmt in ("svg", "png"):
            data: bytes = network_image(session, scope, "svg" if fmt == "svg" else "png")
            headline = ""
        else:
            report = build_report(session, scope, as_of=args.as_of)
            headline = report.headline.text
            if fmt == "csv":
                data = export.to_csv(report, delimiter).encode(tabular.CSV_ENCODING)
            elif fmt == "xlsx":
                data = export.to_xlsx(report)
            else:
                data = report.model_dump_json(indent=2).encode("utf-8")
    write_atomically(out, data)
    print(f"wrote {fmt} report to {out}" + (f": {headline}" if headline else ""))
    return 0


def add_commands(sub: Any) -> None:
    """Register the report sub-command."""
    p = sub.add_parser(
        "report", help="write a table's outcome report (csv, xlsx, json) or network (svg, png)",
        description="CSV: one file, each view (summary, stages, factors, countries, matrix, "
                    "partners, followups) starting with a '# view' line. XLSX: a sheet per "
                    "view. JSON: the API's report.")
    p.add_argument("table_id", metavar="TABLE_ID", type=_table_id,
                   help="the cooperation table's id, or 'all' for every pairing")
    p.add_argument("--format", choices=FORMATS, help="default: the suffix of --out")
    p.add_argument("--out", required=True, help="the file to write")
    add_delimiter_option(p)
    p.add_argument("--from", dest="date_from", type=_day,
                   help="only pairings created on or after this day (YYYY-MM-DD)")
    p.add_argument("--to", dest="date_to", type=_day,
                   help="only pairings created on or before this day (YYYY-MM-DD)")
    p.add_argument("--as-of", dest="as_of", type=_day,
                   help="judge follow-up lateness on this day (YYYY-MM-DD; default: today, "
                        "UTC), as the API's as_of")
    p.add_argument("--country", metavar="ISO3",
                   help="only pairings where this country (ISO 3166-1 alpha-3 code, e.g. GTM) "
                        "is provider or recipient")
    p.add_argument("--factor", metavar="CODE",
                   help="only pairings whose need is on this accelerator factor "
                        "(e.g. migration)")
    p.set_defaults(func=cmd_report)
