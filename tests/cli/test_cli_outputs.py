"""Output files of `rank` and `export`: written whole or not at all, folders made only when
writing, and a format that matches the file's suffix."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from tests.cli.helpers import run, xlsx_values

OLD = b"the previous, good file\n"


def _fail(*_args: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _command(name: str, tmp_path: Path, out: Path) -> list[str]:
    if name == "rank":
        items = tmp_path / "items.json"
        items.write_text("[]", encoding="utf-8")
        return ["rank", "--items", str(items), "--quiet", "--out", str(out)]
    return ["export", "--format", "csv", "--out", str(out)]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("step", ["fsync", "replace"])
@pytest.mark.parametrize("command", ["rank", "export"])
def test_output_that_fails_to_write_keeps_the_previous_file_and_leaves_no_temporary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        command: str, step: str) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "result.csv"
    out.write_bytes(OLD)
    monkeypatch.setattr(os, step, _fail)  # the disk fills up while writing, or at the rename

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    assert (status, err) == (1, f"error: {out}: No space left on device\n")
    assert out.read_bytes() == OLD
    assert [p.name for p in folder.iterdir()] == ["result.csv"]


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", ["rank", "export"])
def test_output_that_fails_to_write_leaves_no_new_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        command: str) -> None:
    out = tmp_path / "new" / "sub" / "result.csv"
    monkeypatch.setattr(os, "fsync", _fail)

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    assert (status, err) == (1, f"error: {out}: No space left on device\n")
    assert not (tmp_path / "new").exists()


@pytest.mark.usefixtures("cli_db")
@pytest.mark.parametrize("command", ["rank", "export"])
def test_output_replaces_the_previous_file_and_keeps_its_permissions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    out = tmp_path / "result.csv"
    out.write_bytes(OLD)
    out.chmod(0o600)

    status, _out, err = run(capsys, *_command(command, tmp_path, out))

    assert status == 0, err
    assert out.read_bytes() != OLD
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
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
    workbook, text = tmp_path / "forms.xlsx", tmp_path / "forms.txt"

    assert run(capsys, "export", "--out", str(workbook))[0] == 0
    assert run(capsys, "export", "--format", "csv", "--out", str(text))[0] == 0

    assert xlsx_values(workbook)[0][0] == "kind"
    assert text.read_text(encoding="utf-8-sig").startswith("kind,")
