"""Progress lines on stderr for long commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def progress_printer(label: str) -> Callable[[int, int], None]:
    """Return a callback that prints `label: done/total` on stderr, at most a few times a second."""
    last = 0.0

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last < 0.5:
            return
        last = now
        pct = 100 * done / total if total else 100.0
        end = "\n" if done >= total else "\r"
        sys.stderr.write(f"{label}: {done}/{total} ({pct:.0f}%){end}")
        sys.stderr.flush()

    return report
