"""The `sscmatch` command line: serve, migrate, keys, demo, import, export, rank, report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from service.cli import data, ops, rank, report
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
    """The command's options behind the fields an error names, e.g. " (--country)"."""
    options = [f"--{field.replace('_', '-')}" for e in exc.errors or []
               if isinstance(field := e.get("field"), str) and field in vars(args)]
    return f" ({', '.join(dict.fromkeys(options))})" if options else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except ServiceError as exc:
        print(f"error: {exc.detail}{_options_named(exc, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
