"""Argument types, output paths and the atomic file writer shared by the commands."""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from service.config import DatabaseSetting
from service.db import sqlite_path
from service.errors import Unprocessable
from service.tabular import DELIMITERS

NAME_MAX = 255  # bytes in a file name on Linux and macOS file systems
DESCRIPTOR_PATH = re.compile(r"/dev/(stdout|stderr|fd/\d+)|/proc/(self|thread-self|\d+)/fd/\d+")
# The files of a SQLite database: the database itself and those SQLite keeps beside it.
DATABASE_FILES = {"": "the database itself", "-wal": "the database's write-ahead log",
                  "-shm": "the database's shared-memory index",
                  "-journal": "the database's rollback journal"}


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (ASCII digits only)."""

    def parse(text: str) -> int:
        digits = text[1:] if text[:1] in "+-" else text
        if not (digits.isascii() and digits.isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"a whole number from {low} to {high}: {text!r}")
        return int(text)

    return parse


def named_path(text: str, option: str) -> Path:
    """The path of a file named on the command line by `option`. An empty name (an unset
    shell variable, say) names no file: Path("") would be the current folder."""
    if not text:
        raise Unprocessable(f"{option} is empty; give a file name.")
    return Path(text)


def output_path(text: str) -> Path:
    """Check an output file before the work that fills it: the path must not be a folder, nor
    the SQLite database's own files (`_refuse_database_files`). Nothing is created here:
    `write_atomically` makes missing folders when it writes."""
    out = named_path(text, "--out")
    if out.is_dir():
        raise Unprocessable(f"{out}: is a folder; give a file name.")
    _refuse_database_files(out)
    return out


def sqlite_file() -> Path | None:
    """The SQLite database file DATABASE_URL names; None for PostgreSQL, a `file:` URI, or a
    DATABASE_URL the service refuses (an in-memory database, another kind): no file of the
    service's there. Read alone, so that `rank` protects it even when another setting is
    unusable."""
    try:
        return sqlite_path(DatabaseSetting().database_url)
    except ValidationError:
        return None


def _refuse_database_files(out: Path) -> None:
    """Refuse an output file that is the SQLite database of DATABASE_URL, or a file SQLite
    keeps beside it (-wal, -shm, -journal), by any name (a symbolic or hard link too):
    writing it would destroy the stored data."""
    database = sqlite_file()
    if database is None:
        return
    for suffix, what in DATABASE_FILES.items():
        if same_file(out, Path(f"{database}{suffix}")):
            raise Unprocessable(f"{out}: is {what}; give another file.")


def same_file(one: Path, other: Path) -> bool:
    """True when both name one file: the same path, a symbolic link to it or a hard link."""
    # realpath, not Path.resolve: a symbolic link loop is left to the write to report.
    if os.path.realpath(one) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(one, other)
    except OSError:  # either is missing
        return False


def suffixes(formats: Sequence[str]) -> str:
    """The file suffixes of `formats` in words: ".csv or .xlsx", ".csv, .xlsx or .json"."""
    names = [f".{f}" for f in formats]
    return " or ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def output_format(out: Path, given: str | None, formats: Sequence[str]) -> str:
    """The format of an output file: `--format` (`given`), else the suffix of `--out`; when
    both are given, a suffix naming another of `formats` is refused."""
    suffix = out.suffix.lstrip(".").lower()
    if given is None:
        if suffix not in formats:
            said = (f"the suffix {out.suffix} names no format" if out.suffix
                    else "no suffix names the format")
            raise Unprocessable(f"{out}: {said}; give --out a name ending in "
                                f"{suffixes(formats)}, or give --format.")
        return suffix
    if suffix in formats and suffix != given:
        raise Unprocessable(f"{out}: a .{suffix} file cannot hold the {given} format; give "
                            f"--out a .{given} name, or leave --format out.")
    return given


def add_delimiter_option(parser: argparse.ArgumentParser) -> None:
    """Add `--delimiter` to a command that writes CSV (read by `tabular.csv_delimiter`)."""
    parser.add_argument("--delimiter", choices=tuple(DELIMITERS),
                        help="CSV only: what separates the cells (default: comma; semicolon "
                             "for Excel where the decimal mark is a comma, as in es, pt, fr)")


@contextmanager
def parent_folders(path: Path) -> Iterator[None]:
    """Create the missing folders above `path` for the block that writes it; if the block
    fails, remove those it created (when still empty), so a failed command leaves none."""
    missing = [folder for folder in path.parents if not folder.exists()]  # deepest first
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where a folder should be: "File exists" misleads
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR),
                                     str(path.parent)) from None
        yield
    except BaseException:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to the file at `path`, creating missing parent folders.

    - A regular file, new or existing, is written all at once, as `replace_file` says.
    - A FIFO, a device, or a name of an open file such as `/dev/stdout` is opened as it is
      and written to (after what a redirected file already holds): not all at once, since
      there is no file to replace.

    Raises OSError whose `filename` is `path`.
    """

    def fill(handle: BinaryIO, _name: Path) -> None:
        handle.write(data)

    if is_stream(path):
        # A FIFO or device cannot be replaced, and /dev/stdout names the open file the shell
        # redirected (`>` or `>>`): write where it points, after what is there. Opened as
        # given, since the link of a pipe has no file name to resolve.
        with _naming(path):
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        return
    replace_file(path, fill)


def replace_file(path: Path, fill: Callable[[BinaryIO, Path], None]) -> None:
    """Put a new file at `path`, written by `fill`, all at once; create missing folders.

    `fill` gets a new, empty file in the same folder (`.<name>.<random>.tmp`, or
    `.sscmatch-<random>.tmp` when that name would be too long), created for this write only:
    open for writing (`handle`), and its name, for writers that open a file themselves (as
    SQLite does). The file is then flushed to disk, given the permission bits of the file it
    replaces, and renamed onto `path` (`os.replace`). Readers see the whole old file or the
    whole new one; a failed `fill` or write (an error it raises, disk full, no permission,
    Ctrl-C) leaves the previous file as it was, and neither the temporary file nor new
    folders behind.

    - A symbolic link: the file it points to is replaced so; the link stays a link.
    - An existing file the user may not write (e.g. mode 0444) is refused with a
      PermissionError before anything is written. Root may write any file, so root is not
      refused.
    - A FIFO, a device or a name of an open file (`/dev/stdout`) is refused: there is no file
      to replace (`write_atomically` writes such targets as they are).

    A replaced file keeps its permission bits but is a new file: its owner becomes the
    user's, and its other hard links keep the old content. A new file gets the usual
    permissions (umask). Raises OSError whose `filename` is `path`; what `fill` raises
    otherwise passes through.
    """
    with _naming(path), parent_folders(path):
        if is_stream(path):
            raise OSError(errno.EINVAL, "not a regular file; give a file name", str(path))
        if path.exists() and not os.access(path, os.W_OK):
            # os.replace needs only the folder's permission: without this check a read-only
            # file would be replaced although the user may not write it.
            raise PermissionError(errno.EACCES, "no permission to write it; left as it was",
                                  str(path))
        target = path.resolve()  # a link's file, so that the link itself stays
        _replace(target, fill)
    _sync_folder(target.parent)


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Re-raise an OSError as one whose `filename` is `path`, the name the user gave."""
    try:
        yield
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


def is_stream(path: Path) -> bool:
    """True when `path` exists but is no regular file to replace: a FIFO, a device, or a
    name of an open file of this process (/dev/stdout, /dev/fd/N, /proc/PID/fd/N)."""
    try:
        mode = os.stat(path).st_mode  # following links
    except FileNotFoundError:
        return False  # a new file, or a link to one
    return not stat.S_ISREG(mode) or _names_a_descriptor(path)


def _names_a_descriptor(path: Path) -> bool:
    """True for /dev/stdout, /dev/stderr, /dev/fd/N and /proc/PID/fd/N: names of an open
    file of this process, not of a file to replace."""
    return DESCRIPTOR_PATH.fullmatch(os.path.abspath(path)) is not None


def _temporary_name(target: Path) -> str:
    """A new name beside `target`: the target's own name when that fits in a file name."""
    token = secrets.token_hex(8)
    name = f".{target.name}.{token}.tmp"
    return name if len(os.fsencode(name)) <= NAME_MAX else f".sscmatch-{token}.tmp"


def _replace(path: Path, fill: Callable[[BinaryIO, Path], None]) -> None:
    temporary = path.with_name(_temporary_name(path))
    # O_EXCL: never write through a file or link that is already there.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
            if mode is not None:  # no wider than the file it replaces while it is written,
                os.fchmod(fd, mode | stat.S_IRUSR | stat.S_IWUSR)  # but readable by its writer
            fill(handle, temporary)
            handle.flush()
            os.fsync(fd)  # what `fill` wrote by name too: it is the same file
            if mode is not None:
                os.fchmod(fd, mode)  # last: a mode such as 0o200 refuses SQLite's reading
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
