"""Spreadsheet forms (CSV or XLSX): import with full validation, and export; the files are
read by `form_files`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, get_args

from openpyxl import Workbook
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Country, Factor, Offer
from service.codes import upper_code
from service.countries.service import require_country
from service.errors import Conflict, ServiceError, Unprocessable, validation_message
from service.items import service, vectors
from service.items.form_files import COLUMNS, MAX_ROWS, REQUIRED
from service.items.schemas import NeedCreate, NeedUpdate, OfferCreate, OfferUpdate, Status
from service.items.service import ItemRow, Kind
from service.tabular import CSV_ENCODING, csv_text, keep_text

CODE_COLUMNS = ("factor", "language", "modality", "status")
STATUSES: tuple[str, ...] = get_args(Status)  # the statuses a form row may give


@dataclass
class ImportReport:
    """Outcome of an import: counts, and every bad row with its number and reason."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)



def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        if loc == "ref" and err["type"] == "string_pattern_mismatch":
            parts.append(f"ref: only letters A-Z (without accents), digits and the signs "
                         f"_ . : - (no spaces), got '{err['input']}'")
            continue
        parts.append(f"{loc}: {validation_message(err)}")
    return "; ".join(parts)


def _reason(exc: ServiceError) -> str:
    """The error's message, led by the column at fault when it names one field, as the
    rows' other messages are ("factor: Unknown accelerator factor ...")."""
    fields = {e["field"] for e in exc.errors or () if e.get("field")}
    if len(fields) == 1 and not exc.detail.startswith(f"{(field := fields.pop())}:"):
        return f"{field}: {exc.detail}"
    return exc.detail


def _row_fields(row: dict[str, str], kind: Kind) -> dict[str, Any]:
    """The row's cells as the API's fields; a spreadsheet's capacity is text, the API's a
    whole number, so it is read here (the API refuses "3")."""
    fields: dict[str, Any] = {k: v for k, v in row.items() if k != "kind" and v != ""}
    for column in CODE_COLUMNS:  # in any letter case, as `kind` and `country` are
        if column in fields:
            fields[column] = fields[column].lower()
    if kind == "need" and "capacity" in fields:
        raise Unprocessable("capacity: only offers have a capacity")
    if "capacity" in fields:
        fields["capacity"] = _whole("capacity", fields["capacity"], "how many partners the "
                                    "offer can serve")
    return fields


def _whole(field: str, raw: str, meaning: str) -> int:
    """A cell holding a positive whole number (a spreadsheet may write 3 as "3.0")."""
    text = raw.removesuffix(".0")
    # At most 10 digits: the API's numbers are 32-bit, and int() refuses very long strings.
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) < 1:
        raise Unprocessable(f"{field}: must be a positive whole number ({meaning}), "
                            f"got '{raw}'")
    return int(text)


def _row_version(fields: dict[str, Any]) -> int | None:
    """Take the row's `version` out of its fields: None when the cell is empty or absent."""
    raw = fields.pop("version", None)
    return None if raw is None else _whole("version", raw, "the version the export gave the item")


def import_rows(session: Session, rows: Iterator[tuple[int, dict[str, str]]], *,
                country: str | None = None,
                progress: Callable[[Kind], Callable[[int, int], None]] | None = None,
                ) -> ImportReport:
    """Validate and apply every row; the caller rolls back when `errors` is not empty.
    `progress(kind)` gives the callback that follows the encoding of that kind's rows."""
    report = ImportReport()
    # The rows whose text is new or changed, encoded together once every row is valid: one
    # batch per kind (with progress) rather than one item at a time, and no work for a file
    # that is refused anyway.
    to_encode: dict[Kind, list[ItemRow]] = {"offer": [], "need": []}
    first_rows: dict[tuple[str, str], int] = {}
    # The rows are read before any is checked, so that a file past the limit is refused at
    # once rather than after checking (and encoding) its first MAX_ROWS rows.
    taken = list(islice(rows, MAX_ROWS + 1))
    if len(taken) > MAX_ROWS:
        report.errors.append((taken[-1][0], f"too many rows: a form takes at most {MAX_ROWS} "
                                            "rows (header excluded); split the file"))
        return report
    # Each row looks its country and factor up by key; the session keeps only the rows still
    # referred to, so without these references every lookup was a query of its own (three
    # a row, two fifths of the time of a large import).
    reference = [*session.scalars(select(Country)), *session.scalars(select(Factor))]
    for number, row in taken:
        if ref := row.get("ref"):
            first = first_rows.setdefault((row.get("kind", "").lower(), ref), number)
            if first != number:
                reason = f"ref '{ref}' is repeated: rows {first} and {number}"
                report.errors.append((number, reason))
                continue
        try:
            outcome, kind, item, text_changed = _apply_row(session, row, country=country)
        except ValidationError as exc:
            report.errors.append((number, _describe(exc)))
            continue
        except ServiceError as exc:
            report.errors.append((number, _reason(exc)))
            if not session.is_active:
                # The database refused the row's write (another writer stored its ref since
                # the check): the transaction is rolled back and no later row can be applied.
                report.errors.append((number, "the rows after this one were not checked, "
                                      "since this row's write failed; import the file again"))
                break
            continue
        if text_changed:
            to_encode[kind].append(item)
        if outcome == "created":
            report.created += 1
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
    del reference
    if not report.errors:
        for kind, items in to_encode.items():
            if items:
                vectors.encode_rows(items, kind, progress=progress(kind) if progress else None)
    return report


def _texts(item: ItemRow) -> tuple[str, ...]:
    return tuple(getattr(item, name) for name in sorted(service.TEXT_FIELDS))


def _apply_row(session: Session, row: dict[str, str],
               *, country: str | None) -> tuple[str, Kind, ItemRow, bool]:
    """Apply one row: (created, updated or unchanged; its kind; the item; whether its text
    is new or changed and needs encoding)."""
    raw_kind = row.get("kind", "").lower()
    if raw_kind not in ("offer", "need"):
        raise Unprocessable(f"kind: must be 'offer' or 'need', got '{raw_kind}'")
    kind: Kind = "offer" if raw_kind == "offer" else "need"
    fields = _row_fields(row, kind)
    if country:
        row_country = upper_code(fields.get("country", country))
        if row_country != country:
            raise Unprocessable(f"country: row is for {row_country}, but --country is {country}")
        fields["country"] = country
    if "country" in fields:  # its own message, with the alpha-3 code meant for an alpha-2 one
        require_country(session, fields["country"])
    version = _row_version(fields)
    # Absent or empty: a new item is published, an existing one keeps its status.
    status: str | None = fields.pop("status", None)
    if status not in (None, *STATUSES):
        raise Unprocessable(f"status: must be 'draft', 'published' or 'withdrawn', "
                            f"got '{status}'")
    ref = fields.get("ref")
    existing = service.get_item_by_ref(session, kind, ref) if ref else None
    if existing is None:
        if version is not None:
            # A version names an existing item: it was deleted or the ref mistyped, and
            # creating a new item would hide that.
            found = f"ref {ref} not found" if ref else "the row has no ref"
            raise Unprocessable(f"{found}; a version is only for rows of existing items "
                                f"(leave it empty to create a new {kind})")
        status = status or "published"
        create_schema = OfferCreate if kind == "offer" else NeedCreate
        initial = "draft" if status == "withdrawn" else status
        data = create_schema.model_validate(fields | {"status": initial})
        item = service.create_item(session, kind=kind, data=data, principal=None, encode=False)
        if status == "withdrawn":
            service.withdraw_item(session, kind=kind, item=item, principal=None, if_match=None)
        return "created", kind, item, True
    if upper_code(str(fields.get("country", existing.country_iso3))) != existing.country_iso3:
        raise Unprocessable(f"country: ref {ref} belongs to {existing.country_iso3}")
    # The row stands for the whole item: an emptied cell of a required field is an error, as
    # in a new row (it was taken for "keep"), and an emptied target population clears it, as
    # the API's "" does (it could not be cleared at all). A column left out keeps its field.
    emptied = [c for c in REQUIRED if c != "kind" and row.get(c) == ""]
    if emptied:
        raise Unprocessable("; ".join(f"{c}: a required field; this cell may not be empty"
                                      for c in emptied))
    update_schema = OfferUpdate if kind == "offer" else NeedUpdate
    changes = {k: v for k, v in fields.items() if k not in ("ref", "country")}
    if row.get("target_population") == "":
        changes["target_population"] = ""
    if status is not None:
        changes["status"] = status
    data_update = update_schema.model_validate(changes)
    # Read under the row lock, so that an API change cannot slip in before the update.
    service.lock_current(session, existing)
    before, texts_before = existing.version, _texts(existing)
    service.update_item(session, kind=kind, item=existing, data=data_update, principal=None,
                        if_match=None, locked=True, encode=False)
    if existing.version == before:
        return "unchanged", kind, existing, False  # even from an old file: undoes nothing
    if version is not None and version != before:
        # The import is rolled back as a whole, this change with it.
        raise Conflict(f"ref {ref}: the {kind} changed since the file was exported (stored "
                       f"version {before}, file version {version}); export again and redo "
                       f"this row's edits in the new file")
    return "updated", kind, existing, _texts(existing) != texts_before


def export_rows(session: Session) -> list[dict[str, str]]:
    """Return every offer and need as form rows (offers first, by id)."""
    out: list[dict[str, str]] = []
    kinds: tuple[Kind, ...] = ("offer", "need")
    for kind in kinds:
        for item in service.rows_by_id(session, kind):
            out.append({
                "kind": kind, "ref": item.ref, "country": item.country_iso3,
                "factor": item.factor_code, "language": item.language,
                "modality": item.modality, "title": item.title,
                "description": item.description, "target_population": item.target_population,
                "capacity": str(item.capacity) if isinstance(item, Offer) else "",
                "status": item.status, "version": str(item.version),
            })
    return out


def form_bytes(rows: list[dict[str, str]], fmt: str, *, delimiter: str = ",") -> bytes:
    """Return form rows as a CSV file (UTF-8 with BOM, for spreadsheet programs; cells
    separated by `delimiter`) or as an XLSX workbook (every cell text); formula-like text is
    kept text as `service.tabular` says (behind an apostrophe in CSV, which the import takes
    off again)."""
    if fmt == "csv":
        out = io.StringIO(newline="")
        writer = csv.DictWriter(out, fieldnames=COLUMNS, delimiter=delimiter)
        writer.writeheader()
        writer.writerows({c: csv_text(row[c]) for c in COLUMNS} for row in rows)
        return out.getvalue().encode(CSV_ENCODING)
    if fmt != "xlsx":
        raise Unprocessable(f"Unknown format '{fmt}'; use csv or xlsx.")
    book = Workbook()
    sheet = book.active
    sheet.title = "offers_and_needs"
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([row[c] for c in COLUMNS])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.data_type = "s"  # text is text: no cell becomes a number or a formula
            keep_text(cell)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
