"""Argument types and output paths shared by the commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
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
    """Check an output file before the work that fills it: its folder is created if
    missing, and the path must not be a folder."""
    out = Path(text)
    if out.is_dir():
        raise Unprocessable(f"{out}: is a folder; give a file name.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out
