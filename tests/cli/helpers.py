"""Helpers of the command-line tests: run `sscmatch`, count stored rows, write forms."""

from __future__ import annotations

import csv
import socket
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, text

from service.cli import main
from service.db import reset_engines
from service.tabular import append_row

COLUMNS = ("kind", "ref", "country", "factor", "language", "modality", "title", "description",
           "target_population", "capacity", "status", "version")


def free_port() -> str:
    """A port no process listens on now (the system's choice), for a `serve` whose uvicorn is
    replaced: `serve` checks its port is free before starting, and 8000 may be taken."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@contextmanager
def own_sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    key_name: str) -> Iterator[Path]:
    """A migrated SQLite file of its own (whatever database the suite runs on), at
    `tmp_path/data/sscmatch.db`, holding one admin key named `key_name`."""
    path = tmp_path / "data" / "sscmatch.db"
    path.parent.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    reset_engines()
    assert main(["keys", "create", "--role", "admin", "--name", key_name]) == 0
    yield path
    reset_engines()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `sscmatch ARGV...`; return (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def counts(engine: Engine) -> tuple[int, int]:
    """(offers, needs) stored in the database."""
    with engine.connect() as conn:
        offers: int = conn.execute(text("SELECT count(*) FROM offers")).scalar_one()
        needs: int = conn.execute(text("SELECT count(*) FROM needs")).scalar_one()
    return offers, needs


def write_form(path: Path, rows: Sequence[dict[str, str]],
               columns: Sequence[str] = COLUMNS) -> Path:
    """Write form rows as CSV or XLSX (by the file's suffix); in XLSX, text that looks like a
    formula is a text cell, as a spreadsheet program keeps text typed after an apostrophe."""
    if path.suffix == ".xlsx":
        book = Workbook()
        sheet = book.active
        sheet.append(list(columns))
        for row in rows:
            append_row(sheet, [row.get(c, "") for c in columns])
        book.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def xlsx_values(path: Path) -> list[tuple[object, ...]]:
    """Every cell value of the first sheet, row by row."""
    book = load_workbook(path, read_only=True)
    try:
        return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def xlsx_parts(path: Path) -> dict[str, bytes]:
    """Every part of an XLSX package except `docProps/core.xml` (which holds timestamps)."""
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()
                if name != "docProps/core.xml"}
