"""`sscmatch import` and `sscmatch export`: the spreadsheet forms (CSV and XLSX)."""

from __future__ import annotations

import csv
import os
import re
import threading
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, event, text

from service.auth.service import create_key
from service.config import get_settings
from service.db import session_scope
from service.items import service as items_service
from service.items.schemas import OfferCreate
from service.main import create_app
from service.tabular import append_row
from tests.cli.helpers import COLUMNS, counts, run, write_form, xlsx_parts, xlsx_values
from tests.conftest import bearer
from tests.factories import API

FORMATS = ["csv", "xlsx"]

# Rows that are hard to round-trip: formulas, quotes, commas, newlines, markup, every status.
TRICKY_ROWS = [
    {"kind": "offer", "ref": "T-1", "country": "CHL", "factor": "education", "language": "es",
     "modality": "training", "title": "=SUM(A1:A2) no es una fórmula",
     "description": 'Línea uno\nLínea dos, con "comillas"; y comas', "capacity": "3",
     "target_population": "niñas, niños y adolescentes", "status": "published"},
    {"kind": "need", "ref": "T-2", "country": "HTI", "factor": "migration", "language": "fr",
     "modality": "study_visit", "title": "Enfants migrants à la frontière",
     "description": "<script>alert(1)</script> '; DROP TABLE needs; --", "status": "draft"},
    {"kind": "offer", "ref": "T-3", "country": "BRA", "factor": "ict", "language": "pt",
     "modality": "documentation", "title": "+55 cadastro único @ministério",
     "description": "-menos: registro digital", "capacity": "1", "status": "withdrawn"},
]


def _unencoded(engine: Engine) -> list[int]:
    """Offers and needs stored without a text vector."""
    with engine.connect() as conn:
        return [conn.execute(text(f"SELECT count(*) FROM {table} WHERE embedding IS NULL"))
                .scalar_one() for table in ("offers", "needs")]


def _valid(kind: str, **fields: str) -> dict[str, str]:
    row = {"kind": kind, "country": "CHL", "factor": "education", "language": "es",
           "modality": "training", "title": "Formación de inspectores",
           "description": "Curso para inspectores del trabajo.", "status": "published"}
    if kind == "offer":
        row["capacity"] = "2"
    return row | fields


def _reported(err: str) -> dict[int, str]:
    """{row number: reason} of every bad row reported on stderr."""
    found = (re.match(r"^\S+: row (\d+): (.+)$", line) for line in err.splitlines())
    return {int(m.group(1)): m.group(2) for m in found if m}


def _write_raw(path: Path, lines: list[list[str]]) -> Path:
    """Write rows of cells as they are (header first), as CSV or XLSX by the file's suffix."""
    if path.suffix == ".xlsx":
        book = Workbook()
        for line in lines:
            book.active.append(line)
        book.save(path)
    else:
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(lines)
    return path


def _read_form(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV or XLSX form as {column: text}, in file order."""
    if path.suffix == ".xlsx":
        header, *lines = xlsx_values(path)
        names = [str(h) for h in header]
        return [{c: "" if v is None else str(v) for c, v in zip(names, line, strict=True)}
                for line in lines]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _edit_cell(path: Path, ref: str, column: str, value: str) -> list[dict[str, str]]:
    """Write `value` in the `column` of the row of `ref` in the form at `path`, as a focal
    point would in a spreadsheet; return the rows written."""
    rows = _read_form(path)
    next(row for row in rows if row["ref"] == ref)[column] = value
    write_form(path, rows)
    return rows


def _stored(engine: Engine, kind: str, ref: str,
            columns: tuple[str, ...] = ("title", "status", "version")) -> tuple[Any, ...]:
    """These columns (title, status, version) of the stored offer or need with this ref."""
    with engine.connect() as conn:
        row = conn.execute(text(f"SELECT {', '.join(columns)} FROM {kind}s WHERE ref = :ref"),
                           {"ref": ref}).one()
    return tuple(row)


def _edit_through_api(engine: Engine, kind: str, ref: str, changes: dict[str, str]) -> int:
    """Change an item through the API, as a focal point would; return its new version."""
    with session_scope() as session:
        _key, secret = create_key(session, role="admin", name="forms test")
    with engine.connect() as conn:
        item_id: int = conn.execute(text(f"SELECT id FROM {kind}s WHERE ref = :ref"),
                                     {"ref": ref}).scalar_one()
    with TestClient(create_app()) as client:
        response = client.patch(f"{API}/{kind}s/{item_id}", json=changes,
                                headers=bearer(secret))
    assert response.status_code == 200, response.text
    version: int = response.json()["version"]
    assert response.headers["ETag"] == f'"{version}"'
    return version


@pytest.fixture
def tricky(cli_db: str, tmp_path: Path,  # noqa: ARG001 (needs the committed database)
           capsys: pytest.CaptureFixture[str]) -> Path:
    """The tricky rows imported into the database (their CSV file is returned)."""
    path = write_form(tmp_path / "tricky.csv", TRICKY_ROWS)
    status, out, err = run(capsys, "import", str(path))
    assert status == 0, err
    assert "3 created, 0 updated, 0 unchanged" in out
    return path


@pytest.fixture
def demo(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ARG001
    """The demo data set loaded into the committed database."""
    assert run(capsys, "demo")[0] == 0


@pytest.mark.usefixtures("demo", "tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_import_same_file_creates_and_updates_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out_file = tmp_path / f"forms.{fmt}"
    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0
    before = counts(engine)

    status, out, _err = run(capsys, "import", str(out_file))

    assert status == 0
    assert f"0 created, 0 updated, {sum(before)} unchanged" in out
    assert counts(engine) == before


@pytest.mark.usefixtures("demo", "tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_export_gives_identical_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    first, second = tmp_path / f"first.{fmt}", tmp_path / f"second.{fmt}"
    assert run(capsys, "export", "--format", fmt, "--out", str(first))[0] == 0
    assert run(capsys, "import", str(first))[0] == 0

    assert run(capsys, "export", "--format", fmt, "--out", str(second))[0] == 0

    if fmt == "csv":
        assert first.read_bytes() == second.read_bytes()
    else:
        # Byte for byte, except the export timestamps in the workbook's core properties.
        assert xlsx_parts(first) == xlsx_parts(second)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_keeps_tricky_text_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out_file = tmp_path / f"forms.{fmt}"

    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0

    if fmt == "xlsx":
        values = xlsx_values(out_file)
        assert values[0] == COLUMNS
        exported = {row[1]: dict(zip(COLUMNS, row, strict=True)) for row in values[1:]}
    else:
        with out_file.open(encoding="utf-8-sig", newline="") as fh:
            exported = {row["ref"]: row for row in csv.DictReader(fh)}
    for row in TRICKY_ROWS:
        for column in ("title", "description", "country", "status"):
            expected = row[column]
            if fmt == "csv" and expected.startswith(("=", "+", "-", "@")):
                expected = "'" + expected  # shown as text by spreadsheets; import removes it
            assert exported[row["ref"]][column] == expected


@pytest.mark.usefixtures("tricky")
def test_import_changed_row_updates_only_that_item(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [dict(r) for r in TRICKY_ROWS]
    rows[1]["title"] = "Enfants migrants : nouveau titre"
    path = write_form(tmp_path / "changed.csv", rows)

    status, out, _err = run(capsys, "import", str(path))

    assert status == 0
    assert "0 created, 1 updated, 2 unchanged" in out
    with engine.connect() as conn:
        title, version = conn.execute(
            text("SELECT title, version FROM needs WHERE ref = 'T-2'")).one()
    assert (title, version) == ("Enfants migrants : nouveau titre", 2)


BAD_ROWS: list[tuple[dict[str, str], str]] = [
    (_valid("offer", factor="tourism"), "factor"),
    (_valid("offer", modality="lecture"), "modality"),
    (_valid("need", title=""), "title"),
    (_valid("need", capacity="3"), "capacity"),
    (_valid("gift"), "kind"),
    (_valid("offer", country="XXX"), "country"),
    (_valid("offer", country="\u0131ta"), "country"),  # dotless ı: str.upper() made it ITA
    (_valid("need", language="de"), "language"),
    (_valid("offer", capacity="0"), "capacity"),
    (_valid("offer", capacity="many"), "capacity"),
    (_valid("need", status="archived"), "status"),
    # lengths in characters, as the API words them (pydantic speaks of "items")
    (_valid("offer", title="T" * 301), "title: Text should have at most 300 characters, not 301"),
    (_valid("need", title="Tí"), "title: Text should have at least 3 characters, not 2"),
]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_file_with_bad_rows_reports_each_and_writes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    rows = [_valid("offer", title="Fila válida al principio")]
    rows += [row for row, _reason in BAD_ROWS]
    rows += [_valid("need", title="Fila válida al final")]
    path = write_form(tmp_path / f"bad.{fmt}", rows)
    before = counts(engine)

    status, out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "nothing was written" in err
    assert "created" not in out
    reported = _reported(err)
    assert set(reported) == set(range(3, 3 + len(BAD_ROWS)))
    for number, (_row, reason) in enumerate(BAD_ROWS, start=3):
        assert reason in reported[number], reported[number]
    assert counts(engine) == before


@pytest.mark.usefixtures("cli_db")
def test_import_row_with_control_character_is_rejected(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "control.csv", [_valid("offer", title="Campana\u0007")])

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert set(_reported(err)) == {2}
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_with_country_option_rejects_rows_of_other_countries(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "mixed.csv",
                      [_valid("offer"), _valid("need", country="BRA", language="pt")])

    status, _out, err = run(capsys, "import", str(path), "--country", "chl")

    assert status == 1
    assert set(_reported(err)) == {3}
    assert "BRA" in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("rows", [0, 1])
@pytest.mark.parametrize(("code", "example"), [("xxx", "ARG"), ("ht", "HTI (Haiti)"),
                                               ("", "ARG")])
def test_import_with_unknown_country_option_is_refused_before_any_row(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: int, code: str,
    example: str
) -> None:
    """As the rows' country cells, the API's filters and `keys create`: `ht` names HTI. An
    empty code (an unset shell variable) was taken as no --country, importing every
    country's rows."""
    path = write_form(tmp_path / "form.csv", [_valid("offer", country="HTI")] * rows)

    status, out, err = run(capsys, "import", str(path), "--country", code)

    assert (status, out) == (1, "")
    assert err == (f"error: Unknown country code '{code}': use an ISO 3166-1 alpha-3 code such "
                   f"as {example}. (--country)\n")
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_of_more_rows_than_a_form_takes_is_refused_before_any_row_is_checked(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row limit is checked first: a file past it is refused at once, naming the limit,
    where every row up to the limit was checked (and encoded) before it was refused."""
    monkeypatch.setattr("service.items.forms.MAX_ROWS", 3)
    rows = [_valid("offer", factor="nope"), *[_valid("offer", ref=f"R-{k}") for k in range(3)]]
    path = write_form(tmp_path / "form.csv", rows)

    status, out, err = run(capsys, "import", str(path))

    assert (status, out) == (1, "")
    assert _reported(err) == {5: "too many rows: a form takes at most 3 rows (header "
                                 "excluded); split the file"}
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_of_a_csv_past_the_row_limit_is_refused_without_reading_the_rest(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV is read row by row, up to the limit: the rest of a file far larger than any
    form (a data dump picked by mistake) is never read, where the whole file was read and
    decoded into memory first (gigabytes for such a file), and refused for its last bytes."""
    monkeypatch.setattr("service.items.forms.MAX_ROWS", 3)
    long = "Una descripción larga. " * 100  # the rows past the limit fill 60 kB
    path = write_form(tmp_path / "form.csv", [_valid("offer", ref=f"R-{k}", description=long)
                                              for k in range(25)])
    with path.open("ab") as fh:
        fh.write(b"need,,CHL,education,es,training,Caf\xe9,not UTF-8 past the limit\r\n")

    status, out, err = run(capsys, "import", str(path))

    assert (status, out) == (1, "")
    assert _reported(err) == {5: "too many rows: a form takes at most 3 rows (header "
                                 "excluded); split the file"}
    assert counts(engine) == (0, 0)

@pytest.mark.usefixtures("cli_db")
def test_import_with_country_option_fills_empty_country(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "peru.csv",
                      [_valid("offer", country=""), _valid("need", country="", language="")])

    status, out, err = run(capsys, "import", str(path), "--country", "PER")

    assert status == 0, err
    assert "2 created" in out
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT country_iso3, language FROM needs")).all()
    assert [tuple(r) for r in rows] == [("PER", "es")]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize(("name", "content", "message"), [
    ("forms.txt", b"kind,title\n", "unsupported"),
    ("forms.json", b"[]", "unsupported"),
    ("forms.csv", b"", "empty"),
    ("forms.csv", b"kind,factor,modality,description\noffer,education,training,x\n",
     "missing columns: title"),
    ("forms.csv", ",".join([*COLUMNS, "priority"]).encode() + b"\n", "unknown columns: priority"),
    ("forms.csv", b"kind,title\n\xff\xfe\n", "UTF-8"),
    ("forms.xlsx", b"PK\x03\x04 not really a workbook", "XLSX"),
    ("forms.csv", ",".join(["kind", *COLUMNS]).encode() + b"\n", "duplicate column: kind"),
], ids=["txt", "json", "empty", "missing-column", "unknown-column", "not-utf8", "broken-xlsx",
        "duplicate-column"])
def test_import_unreadable_file_fails_and_writes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
    content: bytes, message: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert message in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_missing_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run(capsys, "import", str(tmp_path / "nope.csv"))

    assert status == 1
    assert "no such file" in err


@pytest.mark.usefixtures("cli_db")
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_import_of_a_fifo_or_device_says_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "forms.csv"
    os.mkfifo(fifo)

    for path in (fifo, Path(os.devnull)):
        assert run(capsys, "import", str(path)) == (
            1, "", f"error: {path}: not a regular file (a FIFO or device); give a file name.\n")


@pytest.mark.usefixtures("cli_db")
def test_export_to_unknown_format_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _out, err = run(capsys, "export", "--out", str(tmp_path / "forms.txt"))

    assert status == 1
    assert "csv" in err
    assert not (tmp_path / "forms.txt").exists()


@pytest.mark.usefixtures("committed_db")
def test_import_with_encoding_off_keeps_the_vectors_of_rows_whose_text_is_unchanged(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A re-import that changes only a capacity leaves the stored vectors (text unchanged)."""
    first = write_form(tmp_path / "first.csv", [_valid("offer", ref="KEEP-1")])
    assert run(capsys, "import", str(first))[0] == 0  # encoded: encoding on by default
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    again = write_form(tmp_path / "again.csv",
                       [_valid("offer", ref="KEEP-1", capacity="5", version="1")])
    try:
        status, out, err = run(capsys, "import", str(again))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert status == 0, err
    assert "1 updated" in out
    with engine.connect() as conn:
        row = conn.execute(text("SELECT capacity, embedding IS NOT NULL, embedding_model "
                                "FROM offers WHERE ref = 'KEEP-1'")).one()
    assert (row[0], bool(row[1])) == (5, True)
    assert row[2]


@pytest.mark.usefixtures("committed_db")
def test_import_valid_rows_encodes_their_text(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "two.csv", [_valid("offer"), _valid("need")])

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "2 created" in out
    assert _unencoded(engine) == [0, 0]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_repeated_ref_is_rejected_naming_both_rows(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    rows = [_valid("offer", ref="DUP-1"), _valid("need", ref="DUP-1"),
            _valid("offer", ref="DUP-1", title="Segunda fila con la misma referencia")]
    path = write_form(tmp_path / f"dup.{fmt}", rows)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert _reported(err) == {4: "ref 'DUP-1' is repeated: rows 2 and 4"}
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_cells_with_surrounding_spaces_are_stripped(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    first = write_form(tmp_path / f"first.{fmt}", [_valid("offer", ref="S-1")])
    assert run(capsys, "import", str(first))[0] == 0
    spaced = _valid("offer", ref=" S-1 ", status=" withdrawn ",
                    description="  Curso para inspectores del trabajo.\n ") | {"kind": " offer"}
    path = write_form(tmp_path / f"spaced.{fmt}", [spaced])

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "0 created, 1 updated, 0 unchanged" in out
    with engine.connect() as conn:
        row = conn.execute(text("SELECT ref, status, description FROM offers")).one()
    assert tuple(row) == ("S-1", "withdrawn", "Curso para inspectores del trabajo.")


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_value_under_a_column_without_header_is_rejected_naming_the_cell(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """A value typed under a column whose header cell is empty was dropped without a word;
    an empty column between named ones stays allowed."""
    header = [*COLUMNS[:3], "", *COLUMNS[3:]]
    good = [_valid("offer").get(c, "") for c in header]
    typed = [*good[:3], "Inspección", *good[4:]]
    path = _write_raw(tmp_path / f"blank.{fmt}", [header, good, typed])

    status, out, err = run(capsys, "import", str(path))

    assert (status, out) == (1, "")
    assert ("row 3: cell D3 holds 'Inspección' under a column without a header; name the "
            "column or empty the cell") in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_row_with_more_values_than_columns_is_rejected(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    good = [_valid("offer").get(c, "") for c in COLUMNS]
    path = _write_raw(tmp_path / f"ragged.{fmt}",
                      [list(COLUMNS), good, good, [*good, "", "de más"], good])

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert f"row 4: {len(COLUMNS) + 2} values for {len(COLUMNS)} columns" in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_empty_cells_past_the_header_are_accepted(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    good = [_valid("offer").get(c, "") for c in COLUMNS]
    path = _write_raw(tmp_path / f"padded.{fmt}",
                      [[*COLUMNS, "", " "], good, [*good, "", " ", ""]])

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "2 created" in out
    assert counts(engine) == (2, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_duplicate_column_in_xlsx_is_rejected(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "dup.xlsx", [_valid("offer")], columns=[*COLUMNS, "title"])

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "duplicate column: title" in err
    assert counts(engine) == (0, 0)


def _with_formula(tmp_path: Path, name: str, saved: str | None, kind: str = "str") -> Path:
    """A form of one offer whose target population is a formula; `saved` is the result a
    spreadsheet program stores beside it (openpyxl, like other generators, stores none), of
    this cell type (`str` for text, `e` for an error such as #REF!)."""
    path = tmp_path / name
    book = Workbook()
    book.active.append(list(COLUMNS))
    book.active.append([_valid("offer").get(c, "") for c in COLUMNS])
    book.active["I2"] = '="jóvenes "&"rurales"'
    book.save(path)
    if saved is not None:
        with zipfile.ZipFile(path) as package:
            parts = {part: package.read(part) for part in package.namelist()}
        sheet = "xl/worksheets/sheet1.xml"
        parts[sheet] = parts[sheet].replace(
            b'<v /></c>', f'<v>{saved}</v></c>'.encode(), 1).replace(
            b'<c r="I2">', f'<c r="I2" t="{kind}">'.encode(), 1)
        with zipfile.ZipFile(path, "w") as book_file:
            for part, data in parts.items():
                book_file.writestr(part, data)
    return path


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_formula_without_saved_result_is_rejected_naming_the_cell(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_formula(tmp_path, "generated.xlsx", saved=None)

    status, out, err = run(capsys, "import", str(path))

    assert (status, out) == (1, "")
    assert err.startswith("error: generated.xlsx: row 2, column I (target_population): a "
                          "formula without a saved result"), err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_formula_with_saved_result_imports_the_result(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_formula(tmp_path, "saved.xlsx", saved="jóvenes rurales")

    status, _out, err = run(capsys, "import", str(path))

    assert status == 0, err
    with engine.connect() as conn:
        stored: str = conn.execute(text("SELECT target_population FROM offers")).scalar_one()
    assert stored == "jóvenes rurales"


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_whose_sheet_is_cut_short_is_rejected_naming_row(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = write_form(tmp_path / "whole.xlsx", [_valid("offer"), _valid("need"), _valid("need")])
    path = tmp_path / "cut.xlsx"
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, "w") as damaged:
        for name in source.namelist():
            data = source.read(name)
            # the sheet's XML ends in the middle of its fourth row, as a partial copy would
            damaged.writestr(name, data[:data.index(b'<row r="4"') + 20] if name == sheet else data)

    status, out, err = run(capsys, "import", str(path))

    assert (status, out) == (1, "")
    assert err.startswith("error: cut.xlsx: row 4: not a readable XLSX file (")
    assert len(err.splitlines()) == 1, err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_csv_cell_over_field_limit_is_rejected_naming_row(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limit = csv.field_size_limit()
    path = write_form(tmp_path / "huge.csv",
                      [_valid("offer"), _valid("need", description="x" * (limit + 1))])

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert f"row 3: a cell is longer than {limit} characters" in err
    assert "Traceback" not in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_csv_with_unclosed_quote_is_rejected_naming_row(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "quote.csv", [_valid("offer"), _valid("need"), _valid("need")])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",Curso", ',"Curso', 1)
    path.write_text("".join(lines), encoding="utf-8")

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "row 3: a quoted cell is never closed" in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("how", ["column-absent", "cell-empty"])
def test_import_without_status_keeps_status_of_existing_and_publishes_new(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, how: str
) -> None:
    rows = [{k: v for k, v in r.items() if k != "status"} for r in TRICKY_ROWS]
    rows[1]["title"] = "Enfants migrants : titre revu"  # an edit to a draft keeps it a draft
    rows.append({k: v for k, v in _valid("offer", ref="N-1").items() if k != "status"})
    columns = [c for c in COLUMNS if c != "status"] if how == "column-absent" else COLUMNS
    path = write_form(tmp_path / f"no-status.{fmt}", rows, columns=columns)

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "1 created, 1 updated, 2 unchanged" in out
    assert _stored(engine, "offer", "T-1")[1] == "published"
    assert _stored(engine, "need", "T-2")[:2] == ("Enfants migrants : titre revu", "draft")
    assert _stored(engine, "offer", "T-3")[1] == "withdrawn"
    assert _stored(engine, "offer", "N-1")[1] == "published"


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_each_items_current_version_last(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    assert _edit_through_api(engine, "need", "T-2", {"title": "Titre changé par l'API"}) == 2
    out_file = tmp_path / f"forms.{fmt}"

    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0

    exported = _read_form(out_file)
    assert list(exported[0]) == list(COLUMNS)
    assert list(exported[0])[-1] == "version"
    assert {row["ref"]: row["version"] for row in exported} == {
        ref: str(_stored(engine, kind, ref)[2])
        for kind, ref in (("offer", "T-1"), ("need", "T-2"), ("offer", "T-3"))
    }
    assert next(row for row in exported if row["ref"] == "T-2")["version"] == "2"


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_old_export_after_api_edit_is_rejected_as_stale_and_writes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out_file = tmp_path / f"forms.{fmt}"
    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0
    _edit_through_api(engine, "need", "T-2", {"title": "Titre changé par l'API"})
    # A good edit of another row, refused with the rest of the file.
    rows = _edit_cell(out_file, "T-1", "title", "Una edición en la planilla")
    stale_row = 2 + next(i for i, row in enumerate(rows) if row["ref"] == "T-2")

    status, out, err = run(capsys, "import", str(out_file))

    assert status == 1
    assert "nothing was written" in err
    assert "created" not in out
    assert _reported(err) == {stale_row: (
        "ref T-2: the need changed since the file was exported (stored version 2, file "
        "version 1); export again and redo this row's edits in the new file")}
    assert _stored(engine, "need", "T-2")[::2] == ("Titre changé par l'API", 2)
    assert _stored(engine, "offer", "T-1")[::2] == (TRICKY_ROWS[0]["title"], 1)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_importing_one_edited_file_twice_changes_nothing_the_second_time(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out_file = tmp_path / f"forms.{fmt}"
    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0
    _edit_cell(out_file, "T-2", "title", "Titre revu dans le fichier")
    assert run(capsys, "import", str(out_file))[0] == 0

    status, out, err = run(capsys, "import", str(out_file))  # its row's version is now stale

    assert status == 0, err
    assert "0 created, 0 updated, 3 unchanged" in out
    assert _stored(engine, "need", "T-2")[::2] == ("Titre revu dans le fichier", 2)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_fresh_export_after_api_edit_applies_the_edit(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    _edit_through_api(engine, "need", "T-2", {"title": "Titre changé par l'API"})
    out_file = tmp_path / f"forms.{fmt}"
    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0
    _edit_cell(out_file, "T-2", "title", "Titre revu dans le fichier")

    status, out, err = run(capsys, "import", str(out_file))

    assert status == 0, err
    assert "0 created, 1 updated, 2 unchanged" in out
    assert _stored(engine, "need", "T-2")[::2] == ("Titre revu dans le fichier", 3)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("how", ["column-absent", "cell-empty"])
def test_import_row_without_version_is_applied_unchecked(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, how: str
) -> None:
    _edit_through_api(engine, "need", "T-2", {"title": "Titre changé par l'API"})
    rows = [dict(r) | {"version": ""} for r in TRICKY_ROWS]
    rows[1]["title"] = "Titre d'un formulaire fait à la main"
    columns = [c for c in COLUMNS if c != "version"] if how == "column-absent" else COLUMNS
    path = write_form(tmp_path / f"by-hand.{fmt}", rows, columns=columns)

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "0 created, 1 updated, 2 unchanged" in out
    assert _stored(engine, "need", "T-2")[::2] == ("Titre d'un formulaire fait à la main", 3)


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("ref", "reason"), [
    ("GONE-1", "ref GONE-1 not found; a version is only for rows of existing items "
               "(leave it empty to create a new offer)"),
    ("", "the row has no ref; a version is only for rows of existing items "
         "(leave it empty to create a new offer)"),
], ids=["unknown-ref", "no-ref"])
def test_import_version_on_row_of_no_existing_item_is_rejected(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, ref: str,
    reason: str,
) -> None:
    rows = [_valid("need", ref="NEW-1"), _valid("offer", ref=ref, version="3")]
    path = write_form(tmp_path / f"gone.{fmt}", rows)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert _reported(err) == {3: reason}
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("version", ["0", "-1", "1.5", "abc", "²", "v1",
                                     pytest.param("9" * 5000, id="5000-digits")])
def test_import_version_that_is_not_a_positive_whole_number_is_rejected(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, version: str
) -> None:
    rows = [dict(r) for r in TRICKY_ROWS]
    rows[0] |= {"title": "Un cambio que no se aplica", "version": version}
    path = write_form(tmp_path / f"bad-version.{fmt}", rows)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert _reported(err) == {2: ("version: must be a positive whole number (the version the "
                                  f"export gave the item), got '{version}'")}
    assert _stored(engine, "offer", "T-1")[::2] == (TRICKY_ROWS[0]["title"], 1)


@pytest.mark.usefixtures("tricky")
def test_import_xlsx_version_typed_as_number_is_checked(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit_through_api(engine, "need", "T-2", {"title": "Titre changé par l'API"})
    book = Workbook()
    book.active.append(list(COLUMNS))
    for row, version in zip(TRICKY_ROWS, [1, 1.0, 2], strict=True):  # T-2 is at version 2
        append_row(book.active, [row.get(c, "") for c in COLUMNS[:-1]] + [version])
    path = tmp_path / "numbers.xlsx"
    book.save(path)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert set(_reported(err)) == {3}
    assert "stored version 2, file version 1)" in err


# Text a spreadsheet would run as a formula, and text that already starts with an apostrophe.
FORMULA_TITLES = {"F-1": '=HYPERLINK("http://x.example","Ver")', "F-2": "+55 cadastro único",
                  "F-3": "-menos registro", "F-4": "@SUM(A1) plan", "F-5": "'=ya con apóstrofo",
                  "F-6": "'Comillas' simples"}


@pytest.fixture
def formula_titles(cli_db: str, engine: Engine, tmp_path: Path,  # noqa: ARG001
                   capsys: pytest.CaptureFixture[str]) -> None:
    """Offers titled FORMULA_TITLES; F-5's through the API (in a CSV form, an apostrophe
    before a formula character is taken as the mark that the text is text)."""
    rows = [_valid("offer", ref=ref, title="Título provisional" if ref == "F-5" else title)
            for ref, title in FORMULA_TITLES.items()]
    assert run(capsys, "import", str(write_form(tmp_path / "in.csv", rows)))[0] == 0
    _edit_through_api(engine, "offer", "F-5", {"title": FORMULA_TITLES["F-5"]})


@pytest.mark.usefixtures("formula_titles")
def test_export_csv_puts_one_apostrophe_before_text_that_would_be_a_formula(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "forms.csv"

    assert run(capsys, "export", "--out", str(out_file))[0] == 0

    titles = {row["ref"]: row["title"] for row in _read_form(out_file)}
    assert titles == {"F-1": "'" + FORMULA_TITLES["F-1"], "F-2": "'+55 cadastro único",
                      "F-3": "'-menos registro", "F-4": "'@SUM(A1) plan",
                      "F-5": "''=ya con apóstrofo", "F-6": "'Comillas' simples"}


@pytest.mark.usefixtures("formula_titles")
def test_export_xlsx_keeps_formula_like_text_as_text_cells_marked_like_the_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "forms.xlsx"

    assert run(capsys, "export", "--out", str(out_file))[0] == 0

    sheet = load_workbook(out_file).worksheets[0]
    ref_at, title_at = COLUMNS.index("ref") + 1, COLUMNS.index("title") + 1
    cells = {sheet.cell(n, ref_at).value: sheet.cell(n, title_at)
             for n in range(2, sheet.max_row + 1)}
    marked = {r: (c.value, c.data_type, c.quotePrefix) for r, c in cells.items()}
    # Excel keeps a quotePrefix cell text when it is edited; F-6 would not become a formula.
    assert marked == {ref: (title, "s", ref != "F-6") for ref, title in FORMULA_TITLES.items()}


@pytest.mark.usefixtures("formula_titles")
def test_import_of_an_exported_csv_takes_the_apostrophe_off_and_changes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "forms.csv"
    assert run(capsys, "export", "--out", str(out_file))[0] == 0
    versions = {ref: _stored(engine, "offer", ref)[2] for ref in FORMULA_TITLES}

    status, out, err = run(capsys, "import", str(out_file))

    assert status == 0, err
    assert f"0 created, 0 updated, {len(FORMULA_TITLES)} unchanged" in out
    assert {ref: _stored(engine, "offer", ref)[0] for ref in FORMULA_TITLES} == FORMULA_TITLES
    assert {ref: _stored(engine, "offer", ref)[2] for ref in FORMULA_TITLES} == versions


POPULATION = ("target_population", "version")


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_exported_row_with_target_population_emptied_clears_it(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    out_file = tmp_path / f"forms.{fmt}"
    assert run(capsys, "export", "--format", fmt, "--out", str(out_file))[0] == 0
    _edit_cell(out_file, "T-1", "target_population", "")

    status, out, err = run(capsys, "import", str(out_file))

    assert status == 0, err
    assert "0 created, 1 updated, 2 unchanged" in out
    assert _stored(engine, "offer", "T-1", POPULATION) == ("", 2)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
def test_import_without_target_population_column_keeps_it(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    columns = [c for c in COLUMNS if c != "target_population"]
    path = write_form(tmp_path / f"no-population.{fmt}", TRICKY_ROWS, columns=columns)

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "0 created, 0 updated, 3 unchanged" in out
    assert _stored(engine, "offer", "T-1", POPULATION) == (
        TRICKY_ROWS[0]["target_population"], 1)


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("column", ["title", "description", "factor", "modality"])
def test_import_existing_row_with_required_cell_emptied_is_rejected_and_writes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, column: str
) -> None:
    rows = [dict(r) for r in TRICKY_ROWS]
    rows[0]["title"] = "Otro título, aplicado solo si todo el archivo es válido"
    rows[1][column] = ""
    path = write_form(tmp_path / f"emptied.{fmt}", rows)

    status, out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "created" not in out
    assert _reported(err) == {3: f"{column}: a required field; this cell may not be empty"}
    assert _stored(engine, "offer", "T-1")[::2] == (TRICKY_ROWS[0]["title"], 1)


@pytest.mark.usefixtures("committed_db")
def test_import_shows_progress_while_encoding_created_and_changed_rows(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write_form(tmp_path / "first.csv",
                       [_valid("offer", ref="P-1"), _valid("offer", ref="P-2")])
    status, _out, err = run(capsys, "import", str(first))
    assert status == 0, err
    assert "encoding offers: 2/2 (100%)" in err
    again = write_form(tmp_path / "again.csv", [
        _valid("offer", ref="P-1", title="Formación de inspectoras e inspectores"),
        _valid("offer", ref="P-2", capacity="4"),  # text unchanged: nothing to encode
        _valid("need", ref="P-3"),
    ])

    status, out, err = run(capsys, "import", str(again))

    assert status == 0, err
    assert "1 created, 2 updated, 0 unchanged" in out
    assert "encoding offers: 1/1 (100%)" in err
    assert "encoding needs: 1/1 (100%)" in err
    assert _unencoded(engine) == [0, 0]


def test_import_whose_ref_is_taken_meanwhile_reports_that_row_and_writes_nothing(
    committed_db: str, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new row's ref stored by another writer after the import checked it (PostgreSQL: the
    unique index makes the import wait for that writer, then refuses its INSERT): the row is
    reported as taken, not as a database that "cannot be used" at the next row."""
    if not committed_db.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: the import never meets this race")
    monkeypatch.setenv("ENCODE_ON_WRITE", "false")
    get_settings.cache_clear()
    path = write_form(tmp_path / "race.csv", [
        _valid("offer", ref="RACE-1"), _valid("offer", ref="RACE-2", title="Otra oferta"),
        _valid("need", ref="RACE-3")])
    with session_scope() as other:
        # Holds RACE-1 uncommitted, then commits while the import waits for it.
        fields: dict[str, object] = {k: v for k, v in _valid("offer", ref="RACE-1").items()
                                     if k != "kind"}
        items_service.create_item(other, kind="offer", principal=None, encode=False,
                                  data=OfferCreate.model_validate(fields | {"capacity": 2}))
        result: list[tuple[int, str, str]] = []
        importer = threading.Thread(target=lambda: result.append(
            run(capsys, "import", str(path))))
        importer.start()
        with engine.connect() as conn:  # until the import waits on the uncommitted RACE-1
            for _ in range(300):
                waiting: int = conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
                conn.rollback()  # the statistics are read once per transaction
                if waiting:
                    break
                importer.join(timeout=0.1)
            else:
                pytest.fail("the import never waited for the other writer")
    importer.join(timeout=30)
    get_settings.cache_clear()

    status, out, err = result[0]
    assert status == 1
    assert "created" not in out
    assert "cannot be used" not in err
    assert "nothing was written" in err
    assert "row 2: ref: The ref 'RACE-1' is taken" in err
    assert "row 2: the rows after this one were not checked" in err
    assert "import rejected: 1 bad row(s); nothing was written" in err
    assert counts(engine) == (1, 0)


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("separator", [";", "\t"])
@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
def test_import_csv_separated_by_semicolons_or_tabs_is_read_as_excel_saves_it(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], separator: str,
    line_end: str,
) -> None:
    # Excel in a locale whose decimal mark is a comma (es, pt, fr) saves "CSV" with `;`.
    rows = [_valid("offer", description="Curso; con punto y coma, y comas"), _valid("need")]
    path = tmp_path / "forms.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=separator,
                                lineterminator=line_end)  # \r: Excel for Mac's older CSV
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in rows[0]} for row in rows)

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "2 created" in out
    assert counts(engine) == (1, 1)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT description FROM offers")).scalar_one() == (
            "Curso; con punto y coma, y comas")


@pytest.mark.usefixtures("cli_db")
def test_import_csv_in_a_legacy_code_page_names_the_row_and_how_to_save_it(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Excel's plain "CSV" is written in the computer's code page (Windows-1252 here).
    rows = [_valid("offer", title="Formacion de inspectores"),
            _valid("need", title="Formacion", description="Curso en\ndos lineas"),
            _valid("need", title="Educación rural")]
    path = tmp_path / "forms.csv"
    with path.open("w", encoding="cp1252", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "forms.csv: row 4: not UTF-8 text" in err
    assert "CSV UTF-8" in err
    assert counts(engine) == (0, 0)


def _workbook(path: Path, sheets: dict[str, list[dict[str, str]] | None]) -> Path:
    """A workbook of these sheets in order: form rows under the form's header, or (None) a
    sheet of instructions."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        if rows is None:
            sheet.append(["Complete el formulario en la hoja siguiente."])
            continue
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append([row.get(c, "") for c in COLUMNS])
    book.save(path)
    return path


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_reads_the_form_sheet_behind_a_sheet_of_instructions(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _workbook(tmp_path / "form.xlsx", {"Instrucciones": None,
                                              "Formulario": [_valid("offer"), _valid("need")]})

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "2 created" in out
    assert counts(engine) == (1, 1)


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_with_a_form_on_several_sheets_names_them_and_writes_nothing(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Offers on one sheet and needs on another: reading only the first would drop the needs.
    path = _workbook(tmp_path / "form.xlsx", {"Ofertas": [_valid("offer")],
                                              "Necesidades": [_valid("need")]})

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "sheets 'Ofertas' and 'Necesidades' both hold form columns" in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_without_a_form_sheet_names_the_sheet_it_read(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _workbook(tmp_path / "form.xlsx", {"Instrucciones": None, "Notas": None})

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "form.xlsx, sheet 'Instrucciones': missing columns" in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_date_cell_is_rejected_naming_the_cell(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A spreadsheet program turns text such as "5-17" typed in a cell into a date (17 May):
    # no column of the form holds a date, so it is the text that was lost, not a value.
    path = write_form(tmp_path / "form.xlsx", [_valid("need"), _valid("need")])
    book = load_workbook(path)
    book.active["I3"] = datetime(2026, 5, 17)
    book.save(path)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "row 3, column I (target_population): a date (2026-05-17)" in err
    assert counts(engine) == (0, 0)



@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_logical_cell_is_rejected_naming_the_cell(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A spreadsheet program turns "true" or "verdadero" typed in a cell into the logical
    # value TRUE (shown VERDADERO in Spanish): it was imported as the English text "True".
    path = write_form(tmp_path / "form.xlsx", [_valid("need"), _valid("need")])
    book = load_workbook(path)
    book.active["I3"] = True
    book.save(path)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "row 3, column I (target_population): a logical value (TRUE)" in err
    assert counts(engine) == (0, 0)

def _declare_size(path: Path, part: str, size: int) -> None:
    """Make the package's directory declare `size` bytes for `part` once unpacked, as a file
    built to unpack into far more than it holds (a "zip bomb") does."""
    data = bytearray(path.read_bytes())
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(part.encode()) + 1)
    data[entry + 24:entry + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_that_unpacks_far_larger_than_any_form_is_refused_before_reading(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "form.xlsx", [_valid("need")])
    _declare_size(path, "xl/worksheets/sheet1.xml", 3_000_000_000)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "form.xlsx: unpacks into more than" in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_codes_in_capitals_are_read_as_kind_and_country_are(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A spreadsheet program may capitalise the first letter of a cell as it is typed.
    path = write_form(tmp_path / "form.csv", [
        _valid("offer") | {"kind": "Offer", "country": "chl", "factor": "Education",
                           "language": "ES", "modality": "Training", "status": "Published"},
        _valid("need") | {"kind": "NEED", "factor": "Migration", "modality": "Study_Visit",
                          "status": "Withdrawn"}])

    status, out, err = run(capsys, "import", str(path))

    assert status == 0, err
    assert "2 created" in out
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT factor_code, language, modality, status FROM offers")).one() == (
            "education", "es", "training", "published")
        assert conn.execute(text(
            "SELECT factor_code, modality, status FROM needs")).one() == (
            "migration", "study_visit", "withdrawn")


@pytest.mark.usefixtures("cli_db")
def test_import_unknown_status_of_a_new_row_names_every_status_a_form_takes(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "form.csv", [_valid("need", status="retirada")])

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert _reported(err) == {2: "status: must be 'draft', 'published' or 'withdrawn', got "
                                "'retirada'"}
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_bad_row_reason_starts_with_the_column_at_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [_valid("offer", factor="tourism"), _valid("offer", country="XXX"),
            _valid("need", country="")]
    path = write_form(tmp_path / "bad.csv", rows)

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    reported = _reported(err)
    assert reported[2].startswith("factor: Unknown accelerator factor 'tourism'"), reported
    assert reported[3].startswith("country: Unknown country code 'XXX'"), reported
    assert reported[4].startswith("country: Give the country"), reported


@pytest.mark.usefixtures("cli_db")
def test_import_xlsx_formula_whose_saved_result_is_an_error_is_rejected_naming_the_cell(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A lookup that failed (#N/A) or lost its source (#REF!) must not be stored as the text.
    path = _with_formula(tmp_path, "error.xlsx", saved="#REF!", kind="e")

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert "row 2, column I (target_population): a formula whose result is an error (#REF!)" in err
    assert counts(engine) == (0, 0)


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the start of an .xls or an encrypted workbook


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize(("name", "start", "message"), [
    ("form.csv", b"PK\x03\x04", "form.csv: an XLSX workbook, not CSV text"),
    ("form.csv", OLE2, "form.csv: an Excel 97-2003 (.xls) or password-protected workbook"),
    ("form.xlsx", OLE2, "form.xlsx: an Excel 97-2003 (.xls) or password-protected workbook"),
], ids=["xlsx-named-csv", "xls-named-csv", "xls-or-encrypted-named-xlsx"])
def test_import_workbook_of_another_kind_says_what_it_is(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
    start: bytes, message: str,
) -> None:
    path = tmp_path / name
    if start == b"PK\x03\x04":
        write_form(tmp_path / "form.xlsx", [_valid("need")]).rename(path)
    else:
        path.write_bytes(start + bytes(504))

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    assert message in err
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_malformed_country_or_ref_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_form(tmp_path / "bad.csv", [_valid("offer", country="HT"),
                                             _valid("need", ref="HTI necesidad 1")])

    status, _out, err = run(capsys, "import", str(path))

    assert status == 1
    reported = _reported(err)
    assert reported[2] == ("country: Unknown country code 'HT': use an ISO 3166-1 alpha-3 "
                           "code such as HTI (Haiti).")
    assert reported[3] == ("ref: only letters A-Z (without accents), digits and the signs "
                           "_ . : - (no spaces), got 'HTI necesidad 1'")


@pytest.mark.usefixtures("tricky")
@pytest.mark.parametrize(("delimiter", "separator"), [("semicolon", ";"), ("tab", "\t")])
def test_export_with_another_delimiter_separates_cells_so_and_imports_back_unchanged(
        engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], delimiter: str,
        separator: str) -> None:
    """Before, CSV exports were always comma-separated, which Excel opens as one column where
    the decimal mark is a comma (es, pt, fr)."""
    comma, other = tmp_path / "comma.csv", tmp_path / f"{delimiter}.csv"
    assert run(capsys, "export", "--out", str(comma))[0] == 0
    status, _out, err = run(capsys, "export", "--out", str(other), "--delimiter", delimiter)
    assert status == 0, err
    before = counts(engine)

    text_ = other.read_text(encoding="utf-8-sig")
    assert text_.startswith(separator.join(COLUMNS) + "\n")
    with other.open(encoding="utf-8-sig", newline="") as fh:
        assert list(csv.DictReader(fh, delimiter=separator)) == _read_form(comma)
    status, out, err = run(capsys, "import", str(other))
    assert status == 0, err
    assert f"0 created, 0 updated, {sum(before)} unchanged" in out
    assert counts(engine) == before


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", ["export", "report"])
def test_a_delimiter_for_a_file_that_is_not_csv_is_refused_before_the_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    out = tmp_path / "forms.xlsx"
    argv = ["report", "all"] if command == "report" else ["export"]

    status, stdout, err = run(capsys, *argv, "--out", str(out), "--delimiter", "semicolon")

    assert (status, stdout) == (1, "")
    assert err == ("error: The cell delimiter is for CSV only, not xlsx; leave it out. "
                   "(--delimiter)\n")
    assert not out.exists()


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"])
def test_import_of_an_empty_csv_says_it_is_empty(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "form.csv"
    path.write_bytes(content)

    assert run(capsys, "import", str(path)) == (1, "", "error: form.csv: the file is empty.\n")
    assert counts(engine) == (0, 0)


@pytest.mark.usefixtures("cli_db")
def test_import_looks_up_countries_and_factors_once_not_once_per_row(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each row's country and factor were read again by a query of their own (three queries a
    # row, two fifths of the time of a large import).
    path = write_form(tmp_path / "form.csv",
                      [_valid("offer", ref=f"R-{k}", country="PER") for k in range(6)])
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        status, _out, err = run(capsys, "import", str(path))
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert status == 0, err
    lookups = [s for s in statements if re.search(r"\bFROM (countries|factors)\b", s)]
    assert len(lookups) <= 3, lookups
    assert counts(engine) == (6, 0)
