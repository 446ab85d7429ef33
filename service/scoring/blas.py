"""BLAS thread control for the small matrix products of the scorer."""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np
from numpy.typing import NDArray


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


class RowStableProducts:
    """Matrix products `a @ w` whose rows never depend on where they sit in `a`.

    A BLAS kernel may compute the rows of one product in different orders: OpenBLAS's Haswell
    single-precision kernel (chosen on some AMD EPYC machines) gives rows 0-5, 12-17, ... of a
    64-row product one set of bits and rows 6-11, 18-23, ... another. A row's result then depends
    on its position, so a word or a text encoded alone would not get the same bits as in a batch.
    For each (row count, weight matrix) a probe finds the positions that reproduce row 0's
    bits; products then place their rows only there, in as many products of the same shape as
    needed. Where every position agrees (most kernels), `a @ w` is used as it is.
    """

    def __init__(self, seed: int = 20261204) -> None:
        self._slots: dict[tuple[int, int], Any] = {}
        self._rng = np.random.default_rng(seed)

    def slots(self, rows: int, w: NDArray[np.float32]) -> NDArray[np.intp] | None:
        """Positions of an (rows x K) @ w product that give row 0's bits; None if all do."""
        key = (rows, id(w))
        if key not in self._slots:
            agree = np.ones(rows, dtype=bool)
            for _ in range(2):
                probe = self._rng.standard_normal((1, w.shape[0]), dtype=np.float32)
                out = np.repeat(probe, rows, axis=0) @ w
                agree &= (out == out[0]).all(axis=1)
            self._slots[key] = None if agree.all() else np.flatnonzero(agree)
        slots: NDArray[np.intp] | None = self._slots[key]
        return slots

    def matmul(self, a: NDArray[np.float32], w: NDArray[np.float32],
               needed: int | None = None) -> NDArray[np.float32]:
        """`a @ w`, each row computed at a position that gives the same bits as row 0.

        Only the first `needed` rows (default: all) are sure to be computed; the others, such
        as the padding of a fixed shape, may be left at zero.
        """
        slots = self.slots(len(a), w)
        if slots is None:
            return np.asarray(a @ w, dtype=np.float32)
        needed = len(a) if needed is None else min(needed, len(a))
        out = np.zeros((len(a), w.shape[1]), dtype=np.float32)
        buf = np.zeros_like(a)  # other rows never change a row's result, only its position
        for s in range(0, needed, len(slots)):
            part = a[s : min(s + len(slots), needed)]
            where = slots[: len(part)]
            buf[where] = part
            out[s : s + len(part)] = (buf @ w)[where]
        return out
