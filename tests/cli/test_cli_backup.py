"""`sscmatch backup`: a consistent copy of the SQLite database, taken while it is in use."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.db import reset_engines
from tests.cli.helpers import own_sqlite_file, run


@pytest.fixture
def sqlite_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite file of its own (whatever database the suite runs on), with a key."""
    with own_sqlite_file(tmp_path, monkeypatch, "before the backup") as path:
        yield path


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
    assert [p.name for p in out.parent.iterdir()] == ["copy.db"]  # no temporary file left
    assert stdout.startswith(f"backed up {sqlite_db} to {out} (")
    assert _key_names(out) == ["before the backup"]
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


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


@pytest.mark.parametrize("target", ["database", "hard link", "folder", "write-ahead log"])
def test_backup_onto_the_database_or_a_folder_is_refused(
        sqlite_db: Path, capsys: pytest.CaptureFixture[str], target: str) -> None:
    out = {"database": sqlite_db, "hard link": sqlite_db.with_name("other-name.db"),
           "folder": sqlite_db.parent,
           "write-ahead log": sqlite_db.with_name("sscmatch.db-wal")}[target]
    if target == "hard link":
        os.link(sqlite_db, out)
    before = sqlite_db.read_bytes()

    status, _out, err = run(capsys, "backup", "--out", str(out), "--force")

    assert status == 1
    reason = {"folder": "is a folder", "write-ahead log": "is the database's write-ahead log"
              }.get(target, "is the database itself")
    assert err.strip().startswith(f"error: {out}: {reason}")
    assert sqlite_db.read_bytes() == before


@pytest.mark.usefixtures("sqlite_db")
def test_backup_into_a_file_taken_for_a_folder_is_refused_as_not_a_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"kept")
    out = notes / "copy.db"

    assert run(capsys, "backup", "--out", str(out)) == (1, "", f"error: {out}: Not a directory\n")
    assert notes.read_bytes() == b"kept"


def test_backup_of_a_missing_file_or_of_postgresql_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    reset_engines()
    no_file = run(capsys, "backup", "--out", str(tmp_path / "copy.db"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///file:{missing}?uri=true")
    reset_engines()
    uri = run(capsys, "backup", "--out", str(tmp_path / "copy.db"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    reset_engines()
    postgres = run(capsys, "backup", "--out", str(tmp_path / "copy.db"))
    reset_engines()

    assert no_file[0] == 1
    assert no_file[2].strip() == f"error: {missing}: no SQLite database file to back up."
    assert uri[0] == 1
    assert "names no SQLite database file" in uri[2]
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


OLD = b"an older backup"


@pytest.mark.usefixtures("sqlite_db")
def test_backup_through_a_symlink_replaces_the_linked_file_and_keeps_the_link(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "kept" / "latest.db"
    real.parent.mkdir()
    real.write_bytes(OLD)
    link = tmp_path / "latest.db"
    link.symlink_to(real)

    status, _out, err = run(capsys, "backup", "--out", str(link), "--force")

    assert status == 0, err
    assert [p.name for p in real.parent.iterdir()] == ["latest.db"]
    assert link.is_symlink()
    assert link.readlink() == real
    assert _key_names(real) == ["before the backup"]


@pytest.mark.usefixtures("sqlite_db")
def test_backup_leaves_a_file_named_like_its_temporary_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "copy.db"
    mine = tmp_path / "copy.db.part"  # a name the copy once used for its temporary file
    mine.write_bytes(OLD)

    status, _out, err = run(capsys, "backup", "--out", str(out))

    assert status == 0, err
    assert mine.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["copy.db",
                                                                        "copy.db.part"]


@pytest.mark.usefixtures("sqlite_db")
@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_backup_that_fails_to_write_keeps_the_previous_copy_and_leaves_nothing_new(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        step: str) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    out = folder / "copy.db"
    out.write_bytes(OLD)
    new = tmp_path / "new" / "copy.db"

    def full_disk(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, step, full_disk)  # the disk fills up at the flush or the rename
    replaced = run(capsys, "backup", "--out", str(out), "--force")
    created = run(capsys, "backup", "--out", str(new))

    assert replaced[::2] == (1, f"error: {out}: No space left on device\n")
    assert out.read_bytes() == OLD
    assert [p.name for p in folder.iterdir()] == ["copy.db"]
    assert created[::2] == (1, f"error: {new}: No space left on device\n")
    assert not new.parent.exists()


@pytest.mark.usefixtures("sqlite_db")
def test_backup_onto_a_file_the_user_may_not_write_is_refused_and_leaves_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "copy.db"
    out.write_bytes(OLD)
    out.chmod(0o444)
    # The check a user other than root meets (root may write any file).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: (
        False if mode & os.W_OK and Path(p) == out else real_access(p, mode, **kw)))

    status, _out, err = run(capsys, "backup", "--out", str(out), "--force")

    assert (status, err) == (1, f"error: {out}: no permission to write it; left as it was\n")
    assert out.read_bytes() == OLD
    assert stat.S_IMODE(out.stat().st_mode) == 0o444


@pytest.mark.usefixtures("sqlite_db")
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
@pytest.mark.parametrize("force", [["--force"], []], ids=["force", "no force"])
def test_backup_onto_a_fifo_is_refused_and_leaves_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], force: list[str]) -> None:
    """Without --force the FIFO was refused as a file that "exists" (--force would replace
    it), which --force then refused as not a file."""
    fifo = tmp_path / "copy.db"
    os.mkfifo(fifo)

    status, _out, err = run(capsys, "backup", "--out", str(fifo), *force)

    assert (status, err) == (1, f"error: {fifo}: not a regular file; give a file name\n")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.usefixtures("sqlite_db")
def test_backup_onto_a_write_only_file_keeps_its_permissions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "copy.db"
    out.write_bytes(OLD)
    out.chmod(0o200)  # the user may write it, not read it: SQLite reads the copy it writes

    status, _out, err = run(capsys, "backup", "--out", str(out), "--force")

    assert status == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o200
    out.chmod(0o600)
    assert _key_names(out) == ["before the backup"]


def _readme_restore_steps() -> str:
    """The shell lines of README "Backups" that restore a copy (after its `# restore`)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    section = readme.split("## Backups", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    return block.split("# restore", 1)[1].split("\n", 1)[1]


def test_the_readme_restore_after_a_crash_gives_back_the_copy(
        sqlite_db: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(sqlite_db.parent)
    assert run(capsys, "backup", "--out", "backups/sscmatch-2026-12-06.db")[0] == 0
    reset_engines()
    # A server killed (SIGKILL, power cut) after a write: the write is in the write-ahead log
    # it leaves beside the database, not yet in the database file.
    crash = ("import os, sqlite3\n"
             "conn = sqlite3.connect('sscmatch.db', isolation_level=None)\n"
             "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
             "conn.execute(\"UPDATE api_keys SET name = 'after the backup'\")\n"
             "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", crash], check=True, cwd=sqlite_db.parent)
    assert Path(f"{sqlite_db}-wal").stat().st_size > 0

    subprocess.run(["sh", "-ec", _readme_restore_steps()], check=True, cwd=sqlite_db.parent)

    assert _key_names(sqlite_db) == ["before the backup"]
    with sqlite3.connect(sqlite_db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
