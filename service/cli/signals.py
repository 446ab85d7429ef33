"""SIGTERM for the commands: stop by unwinding, until a server takes the signal over."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(BaseException):
    """SIGTERM arrived: unwind as Ctrl-C does (a BaseException, so no handler swallows it)."""


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated


def _in_main_thread() -> bool:
    """Signal handlers can be set only from the main thread."""
    return threading.current_thread() is threading.main_thread()


@contextmanager
def stopping_on_sigterm() -> Iterator[None]:
    """Make SIGTERM stop the command by unwinding it (transactions roll back, temporary files
    go) instead of killing the process where it stands; a process that is PID 1, as in a
    container, would otherwise ignore SIGTERM altogether (`docker stop` during a migration
    waits for its grace period, then kills). The handler found is restored at the end.
    Outside the main thread nothing changes."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        # None: a handler set outside Python, which cannot be set back from here.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def leave_sigterm_to_the_server() -> None:
    """Give SIGTERM back its default before uvicorn starts: uvicorn handles it while it serves
    (a graceful stop) and then raises it again for the handler it found, which ends the
    process as a SIGTERM does (or, for a PID 1, lets it return). Outside the main thread
    nothing changes, as uvicorn then sets no handler either."""
    if _in_main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
