"""Argument types, output paths and the atomic file writer shared by the commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from service.errors import Unprocessable


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (ASCII digits only)."""

    def parse(text: str) -> int:
        digits = text[1:] if text[:1] in "+-" else text
        if not (digits.isascii() and digits.isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"a whole number from {low} to {high}: {text!r}")
        return int(text)

    return parse


def output_path(text: str) -> Path:
    """Check an output file before the work that fills it: the path must not be a folder.
    Nothing is created here: `write_atomically` makes missing folders when it writes."""
    out = Path(text)
    if out.is_dir():
        raise Unprocessable(f"{out}: is a folder; give a file name.")
    return out


def output_format(out: Path, given: str | None, formats: Sequence[str]) -> str:
    """The format of an output file: `--format` (`given`), else the suffix of `--out`; when
    both are given, a suffix naming another of `formats` is refused."""
    suffix = out.suffix.lstrip(".").lower()
    choices = ", ".join(f"--format {f}" for f in formats)
    if given is None:
        if suffix not in formats:
            raise Unprocessable(f"Use {choices} (or an --out with that suffix).")
        return suffix
    if suffix in formats and suffix != given:
        raise Unprocessable(f"{out}: a .{suffix} file cannot hold the {given} format; give "
                            f"--out a .{given} name, or leave --format out.")
    return given


@contextmanager
def parent_folders(path: Path) -> Iterator[None]:
    """Create the missing folders above `path` for the block that writes it; if the block
    fails, remove those it created (when still empty), so a failed command leaves none."""
    missing = [folder for folder in path.parents if not folder.exists()]  # deepest first
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield
    except BaseException:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def write_atomically(path: Path, data: bytes) -> None:
    """Replace the file at `path` with `data` all at once, creating missing parent folders.

    The bytes go to a temporary file in the same folder, which is flushed to disk and then
    renamed onto `path` (`os.replace`): a failed write (disk full, no permission, Ctrl-C)
    leaves the previous file as it was, and neither the temporary file nor new folders
    behind. A file replaced keeps its permission bits; a new one gets the usual ones (umask).
    Raises OSError whose `filename` is `path`.
    """
    try:
        with parent_folders(path):
            _replace_file(path, data)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    _sync_folder(path.parent)


def _replace_file(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL: never write through a file or link that is already there.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            if path.is_file():
                os.chmod(temporary, stat.S_IMODE(path.stat().st_mode))
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry of a renamed file to disk (POSIX; elsewhere a no-op)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
