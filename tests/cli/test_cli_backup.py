"""`sscmatch backup`: a consistent copy of the SQLite database, taken while it is in use."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cli import main
from service.db import reset_engines
from tests.cli.helpers import run


@pytest.fixture
def sqlite_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite file of its own (whatever database the suite runs on), with a key."""
    path = tmp_path / "data" / "sscmatch.db"
    path.parent.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    reset_engines()
    assert main(["keys", "create", "--role", "admin", "--name", "before the backup"]) == 0
    yield path
    reset_engines()


def _key_names(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM api_keys ORDER BY id")]


def test_backup_copies_what_is_committed_while_a_writer_holds_its_transaction(
        sqlite_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "backups" / "copy.db"
    writer = sqlite3.connect(sqlite_db, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a write in progress, as a server would hold one
        writer.execute("UPDATE api_keys SET name = 'not committed'")
        status, stdout, err = run(capsys, "backup", "--out", str(out))
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert status == 0, err
    assert stdout.startswith(f"backed up {sqlite_db} to {out} (")
    assert _key_names(out) == ["before the backup"]
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not out.with_name("copy.db.part").exists()


@pytest.mark.usefixtures("sqlite_db")
def test_backup_replaces_a_file_only_with_force(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "copy.db"
    out.write_bytes(b"an older backup")

    refused = run(capsys, "backup", "--out", str(out))
    replaced = run(capsys, "backup", "--out", str(out), "--force")

    assert refused[0] == 1
    assert refused[2].strip() == (
        f"error: {out}: exists; give another file, or --force to replace it.")
    assert replaced[0] == 0, replaced[2]
    assert _key_names(out) == ["before the backup"]


@pytest.mark.parametrize("target", ["database", "folder"])
def test_backup_onto_the_database_or_a_folder_is_refused(
        sqlite_db: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    out = sqlite_db if target == "database" else sqlite_db.parent
    before = sqlite_db.read_bytes()

    status, _out, err = run(capsys, "backup", "--out", str(out), "--force")

    assert status == 1
    reason = "is the database itself" if target == "database" else "is a folder"
    assert err.strip().startswith(f"error: {out}: {reason}")
    assert sqlite_db.read_bytes() == before


def test_backup_of_a_missing_file_or_of_postgresql_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    reset_engines()
    no_file = run(capsys, "backup", "--out", str(tmp_path / "copy.db"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    reset_engines()
    postgres = run(capsys, "backup", "--out", str(tmp_path / "copy.db"))
    reset_engines()

    assert no_file[0] == 1
    assert no_file[2].strip() == f"error: {missing}: no SQLite database file to back up."
    assert postgres[0] == 1
    assert "pg_dump" in postgres[2]
    assert not missing.exists()
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize(("damage", "reason"), [
    ("corrupt", "is a corrupt database"),
    ("not-sqlite", "is not a SQLite database"),
])
def test_backup_of_a_damaged_database_is_a_one_line_error_and_writes_nothing(
        sqlite_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], damage: str, reason: str) -> None:
    reset_engines()  # the last connection closed: the whole database is in the one file
    damaged = tmp_path / "damaged.db"
    if damage == "corrupt":
        shutil.copyfile(sqlite_db, damaged)
        with damaged.open("r+b") as fh:
            fh.seek(20480)
            fh.write(b"\xff" * 12 * 1024)
    else:
        damaged.write_text("notes, not a database\n" * 500, encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{damaged}")
    reset_engines()
    out = tmp_path / "backups" / "copy.db"

    status, stdout, err = run(capsys, "backup", "--out", str(out))

    assert (status, stdout) == (1, "")
    assert err.startswith(f"error: {damaged}: {reason}")
    assert err.endswith("; no copy was written.\n")
    assert len(err.splitlines()) == 1
    assert not out.parent.exists()
