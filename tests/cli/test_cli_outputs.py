"""Output files of `rank`, `export` and `report`: written whole or not at all, folders made
only when writing, a format that matches the file's suffix, and targets that are not plain
files (links, FIFOs, open descriptors, read-only files, names near the length limit)."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from service.cli.options import replace_file
from tests.cli.helpers import own_sqlite_file, run, xlsx_values

OLD = b"the previous, good file\n"
COMMANDS = ["rank", "export", "report"]


def _fail(*_args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _command(name: str, tmp_path: Path, out: Path) -> list[str]:
    if name == "rank":
        items = tmp_path / "items.json"
        items.write_text("[]", encoding="utf-8")
        return ["rank", "--items", str(items), "--quiet", "--out", str(out)]
    if name == "report":
        return ["report", "all", "--format", "csv", "--out", str(out)]
    return ["export", "--format", "csv", "--out", str(out)]


def _assert_refused_and_kept(status: int, err: str, out: Path, reason: str) -> None:
    """The command failed with one line naming the file and why, and the file is as it was."""
    assert (status, err) == (1, f"error: {out}: {reason}\n")
    assert out.read_bytes() == OLD


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("step", ["fsync", "replace"])
@pytest.mark.parametrize("command", COMMANDS)
def test_output_that_fails_to_write_keeps_the_previous_file_and_leaves_no_temporary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        command: str, step: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "result.csv"
    out.write_bytes(OLD)
    monkeypatch.setattr(os, step, _fail)  # the disk fills up while writing, or at the rename

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    _assert_refused_and_kept(status, err, out, "No space left on device")
    assert [p.name for p in folder.iterdir()] == ["result.csv"]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", COMMANDS)
def test_output_that_fails_to_write_leaves_no_new_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        command: str) -> None:
    out = tmp_path / "new" / "sub" / "result.csv"
    monkeypatch.setattr(os, "fsync", _fail)

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    assert (status, err) == (1, f"error: {out}: No space left on device\n")
    assert not (tmp_path / "new").exists()


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("mode", [0o600, 0o200])  # 0o200: the user may write it, not read it
@pytest.mark.parametrize("command", COMMANDS)
def test_output_replaces_the_previous_file_and_keeps_its_permissions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, mode: int) -> None:
    out = tmp_path / "result.csv"
    out.write_bytes(OLD)
    out.chmod(mode)

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    assert status == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == mode
    out.chmod(0o600)
    assert out.read_bytes() != OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["result.csv", *(["items.json"] if command == "rank" else [])])


@pytest.mark.usefixtures("cli_db")
def test_output_folders_are_created_only_when_the_file_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.json"
    failed = tmp_path / "failed" / "sub" / "ranking.json"
    written = tmp_path / "written" / "sub" / "forms.csv"

    refused = run(capsys, "rank", "--items", str(missing), "--out", str(failed))
    exported = run(capsys, "export", "--out", str(written))

    assert refused[::2] == (1, f"error: {missing}: no such file.\n")
    assert not (tmp_path / "failed").exists()
    assert exported[0] == 0, exported
    assert written.read_text(encoding="utf-8-sig").startswith("kind,")


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize(("fmt", "name"), [("csv", "forms.xlsx"), ("xlsx", "forms.CSV")])
def test_export_format_that_contradicts_the_suffix_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str) -> None:
    out = tmp_path / name

    status, _out, err = run(capsys, "export", "--format", fmt, "--out", str(out))

    suffix = out.suffix.lower()
    assert (status, err) == (1, f"error: {out}: a {suffix} file cannot hold the {fmt} format; "
                                f"give --out a .{fmt} name, or leave --format out.\n")
    assert not out.exists()


@pytest.mark.usefixtures("cli_db")
def test_export_takes_the_format_from_the_suffix_unless_given(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workbook, text = tmp_path / "forms.xlsx", tmp_path / "forms.CSV"

    assert run(capsys, "export", "--out", str(workbook))[0] == 0
    assert run(capsys, "export", "--format", "csv", "--out", str(text))[0] == 0

    assert xlsx_values(workbook)[0][0] == "kind"
    assert text.read_text(encoding="utf-8-sig").startswith("kind,")


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize(("fmt", "name"), [("csv", "forms.txt"), ("xlsx", "forms")])
def test_export_to_a_name_import_cannot_read_is_refused_before_the_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str) -> None:
    """Before, `--format csv --out forms.txt` wrote a file that `import` then refused."""
    out = tmp_path / name

    status, stdout, err = run(capsys, "export", "--format", fmt, "--out", str(out))

    assert (status, stdout) == (1, "")
    assert err == (f"error: {out}: import reads only .csv or .xlsx files; give --out a "
                   f".{fmt} name.\n")
    assert not out.exists()


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize(("args", "name", "suffixes"), [
    (["export"], "forms.txt", ".csv or .xlsx"),
    (["export"], "forms", ".csv or .xlsx"),
    (["report", "all"], "report.doc", ".csv, .xlsx, .json, .svg or .png"),
])
def test_an_out_whose_suffix_names_no_format_is_refused_naming_the_suffixes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], name: str,
        suffixes: str) -> None:
    out = tmp_path / name

    status, stdout, err = run(capsys, *args, "--out", str(out))

    said = (f"the suffix {out.suffix} names no format" if out.suffix
            else "no suffix names the format")
    assert (status, stdout) == (1, "")
    assert err == (f"error: {out}: {said}; give --out a name ending in "
                   f"{suffixes}, or give --format.\n")
    assert not out.exists()


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", COMMANDS)
def test_output_through_a_symlink_writes_the_linked_file_and_keeps_the_link(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    real = tmp_path / "real" / "result.csv"
    real.parent.mkdir()
    real.write_bytes(OLD)
    link = tmp_path / "result.csv"
    link.symlink_to(real)

    status, _out, err = run(capsys, *_command(command, tmp_path, link))

    assert status == 0, err
    assert link.is_symlink()
    assert link.readlink() == real
    assert real.read_bytes() != OLD
    assert [p.name for p in real.parent.iterdir()] == ["result.csv"]


def _read_fifo(fifo: Path, got: list[bytes]) -> None:
    with fifo.open("rb") as fh:
        got.append(fh.read())


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", COMMANDS)
def test_output_to_a_fifo_writes_into_the_pipe(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    fifo = tmp_path / "result.csv"
    os.mkfifo(fifo)
    spare = tmp_path / "spare"
    os.link(fifo, spare)  # the same pipe, to release the reader should the command not open it
    got: list[bytes] = []
    reader = threading.Thread(target=_read_fifo, args=(fifo, got), daemon=True)
    reader.start()

    status, _out, err = run(capsys, *_command(command, tmp_path, fifo))

    reader.join(timeout=10)
    if reader.is_alive():
        with contextlib.suppress(OSError):  # ENXIO: the reader finished meanwhile
            os.close(os.open(spare, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=10)
    assert status == 0, err
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert len(got) == 1, "the reader never saw the pipe opened for writing"
    assert got[0].strip(), "nothing came through the pipe"


@pytest.mark.usefixtures("cli_db")
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd (Linux)")
def test_output_to_an_open_descriptor_appends_to_its_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.csv"
    log.write_bytes(OLD)
    with log.open("ab") as fh:  # as a shell's `>> log.csv` would give the command
        status, _out, err = run(capsys, "export", "--format", "csv",
                                "--out", f"/proc/self/fd/{fh.fileno()}")

    assert status == 0, err
    data = log.read_bytes()
    assert data.startswith(OLD)
    assert data[len(OLD):].decode("utf-8-sig").startswith("kind,")
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]


def _read_only(tmp_path: Path) -> Path:
    out = tmp_path / "result.csv"
    out.write_bytes(OLD)
    out.chmod(0o444)
    return out


@pytest.mark.usefixtures("cli_db")
@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write any file, so a read-only file is not refused for "
                           "root (as write_atomically's docstring says)")
@pytest.mark.parametrize("command", COMMANDS)
def test_output_to_a_read_only_file_is_refused_and_leaves_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    out = _read_only(tmp_path)

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    _assert_refused_and_kept(status, err, out, "no permission to write it; left as it was")
    assert stat.S_IMODE(out.stat().st_mode) == 0o444


@pytest.mark.usefixtures("cli_db")
def test_output_to_a_file_the_user_may_not_write_is_refused_before_writing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = _read_only(tmp_path)
    # The check a user other than root meets (root may write any file).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: (
        False if mode & os.W_OK and Path(p) == out else real_access(p, mode, **kw)))

    status, _out, err = run(capsys, *_command("export", tmp_path, out))

    _assert_refused_and_kept(status, err, out, "no permission to write it; left as it was")
    assert [p.name for p in tmp_path.iterdir()] == ["result.csv"]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", COMMANDS)
def test_output_with_a_name_near_the_length_limit_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    out = tmp_path / ("r" * 251 + ".csv")  # 255 bytes: the longest name most systems allow
    out.write_bytes(OLD)

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    assert status == 0, err
    assert out.read_bytes() != OLD
    assert {p.name for p in tmp_path.iterdir()} <= {out.name, "items.json"}


def test_a_replaced_file_is_no_wider_open_while_its_successor_is_written(
        tmp_path: Path) -> None:
    """A 0600 file (a backup, an export) is not readable by others through its temporary
    successor while that is written, whatever the umask."""
    out = tmp_path / "private.db"
    out.write_bytes(OLD)
    out.chmod(0o600)
    seen: list[int] = []

    def fill(handle: BinaryIO, name: Path) -> None:
        seen.append(stat.S_IMODE(name.stat().st_mode))
        handle.write(b"new")

    umask = os.umask(0o022)
    try:
        replace_file(out, fill)
    finally:
        os.umask(umask)

    assert seen == [0o600]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes() == b"new"


@pytest.fixture
def sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite file of its own (whatever database the suite runs on)."""
    with own_sqlite_file(tmp_path, monkeypatch, "kept") as path:
        yield path


@pytest.mark.parametrize("target", ["database", "symlink", "hard link", "write-ahead log"])
@pytest.mark.parametrize("command", COMMANDS)
def test_output_onto_the_database_or_its_log_is_refused_and_leaves_it(
        sqlite_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        command: str, target: str) -> None:
    out = {"database": sqlite_file, "symlink": tmp_path / "link.csv",
           "hard link": tmp_path / "other.csv",
           "write-ahead log": sqlite_file.with_name("sscmatch.db-wal")}[target]
    if target == "symlink":
        out.symlink_to(sqlite_file)
    elif target == "hard link":
        os.link(sqlite_file, out)
    before = sqlite_file.read_bytes()

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    what = "the database's write-ahead log" if target == "write-ahead log" else (
        "the database itself")
    assert (status, err) == (1, f"error: {out}: is {what}; give another file.\n")
    assert sqlite_file.read_bytes() == before
    assert not sqlite_file.with_name("sscmatch.db-wal").exists()
    assert run(capsys, "keys", "list")[1].split()[-2:] == ["active", "kept"]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", COMMANDS)
def test_an_empty_output_name_is_refused_before_the_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    """`--out ""` (an unset shell variable, say) names no file: refused, not taken as
    standard output or as the current folder."""
    argv = _command(command, tmp_path, tmp_path / "unused.csv")
    argv[argv.index("--out") + 1] = ""

    status, out, err = run(capsys, *argv)

    assert (status, out, err) == (1, "", "error: --out is empty; give a file name.\n")
