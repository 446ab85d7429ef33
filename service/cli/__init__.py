"""The `sscmatch` command line: serve, migrate, keys, demo, import, export, rank, report.

This module stays light on purpose: each worker of `serve --workers N` is a process spawned
afresh, which first runs the `sscmatch` script again (importing this package) and only then
starts the thread that answers the parent's health pings (5 s). The commands, and the service
behind them, are imported when `main` runs (`service.cli.commands`).
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    import signal
    import sys

    from service.cli.signals import Terminated, stopping_on_sigterm

    # SIGTERM stops the command from here on, also while its commands load (a few seconds):
    # a process that is PID 1, as in a container, ignores SIGTERM until it has a handler.
    with stopping_on_sigterm():
        try:
            from service.cli.commands import main as run

            return run(argv)
        except Terminated:
            print("stopped: SIGTERM", file=sys.stderr)
            return 128 + signal.SIGTERM
