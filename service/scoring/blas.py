"""BLAS thread control for the small matrix products of the scorer."""

from __future__ import annotations

import functools
import importlib
from typing import Any


@functools.cache
def _controller() -> Any:
    """One threadpoolctl controller per process (discovering the BLAS libraries is slow)."""
    # threadpoolctl ships with scikit-learn; imported by name because it has no type hints
    return importlib.import_module("threadpoolctl").ThreadpoolController()


def single_threaded_blas() -> Any:
    """Context manager limiting BLAS to one thread.

    Small matrix products gain little from a second BLAS thread, and when the other core is
    busy its spin-waiting makes them up to 100 times slower. Large products (rank()'s blocks)
    are left multi-threaded.
    """
    return _controller().limit(limits=1, user_api="blas")
