"""The command line's parser and its `main`: every sub-command, errors as one line each."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import SQLAlchemyError

from service.cli import data, ops, rank, report
from service.config import get_settings
from service.db import close_connections, sqlite_folder_problem
from service.errors import ServiceError


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="sscmatch",
        description="South–South cooperation matchmaking service. Every command reads "
                    "DATABASE_URL (default: sqlite:///./sscmatch.db).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ops.add_commands(sub)
    data.add_commands(sub)
    rank.add_commands(sub)
    report.add_commands(sub)
    return parser


def _options_named(exc: ServiceError, args: argparse.Namespace) -> str:
    """The command's options behind the fields an error names, e.g. " (--country)"; a query
    parameter of the API (`query.country`) is the option of its name."""
    options = [f"--{field.replace('_', '-')}" for e in exc.errors or []
               if isinstance(field := e.get("field"), str)
               and (field := field.removeprefix("query.")) in vars(args)]
    return f" ({', '.join(dict.fromkeys(options))})" if options else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status. SIGTERM is `service.cli.main`'s,
    which calls this."""
    try:
        return _run(argv)
    finally:
        # On SQLite the last connection to close folds the write-ahead log back into the
        # database file: after any command, the file alone holds all (a plain copy is
        # whole, README "Backups").
        close_connections()


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "uses_settings", True):
            get_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper()
            print(f"error: setting {name}: {err['msg'].removeprefix('Value error, ')}",
                  file=sys.stderr)
        return 1
    except SettingsError as exc:  # a list setting (CORS_ORIGINS) that is not JSON
        name = exc.args[0].split('"')[1].upper() if exc.args[0].count('"') >= 2 else "?"
        print(f"error: setting {name}: not JSON ({exc.__cause__ or exc}); write a JSON list, "
              'e.g. ["https://a.example"]', file=sys.stderr)
        return 1
    try:
        status: int = args.func(args)
        sys.stdout.flush()  # a reader gone is met here, not at the interpreter's exit
    except BrokenPipeError:  # the output's reader went away (`sscmatch keys list | head -1`)
        # stop quietly, as a tool stopped by SIGPIPE does; the interpreter's last flush of
        # stdout must then find somewhere to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except ServiceError as exc:
        print(f"error: {exc.detail}{_options_named(exc, args)}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file that cannot be read or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        reason = (sqlite_folder_problem(get_settings().database_url)
                  or str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
        print(f"error: the database at DATABASE_URL cannot be used: {reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
