"""Row-stable matrix products: a row's bits never depend on its position in the product."""

from __future__ import annotations

import numpy as np
import pytest

from service.scoring.blas import RowStableProducts, single_threaded_blas


@pytest.mark.parametrize(("rows", "k", "n"), [(64, 512, 256), (64, 768, 320), (16, 1280, 512),
                                               (8, 512, 512)])
def test_each_row_gets_the_bits_it_gets_alone_at_the_top(rows: int, k: int, n: int) -> None:
    rng = np.random.default_rng(rows + k + n)
    w = rng.standard_normal((k, n), dtype=np.float32)
    a = rng.standard_normal((rows, k), dtype=np.float32)
    products = RowStableProducts()
    with single_threaded_blas():
        full = products.matmul(a, w)
        for r in range(rows):
            alone = np.zeros_like(a)
            alone[0] = a[r]
            assert np.array_equal(products.matmul(alone, w)[0], full[r]), r
    np.testing.assert_allclose(full, a @ w, rtol=1e-5, atol=1e-4)


def test_slots_are_none_or_start_at_the_top() -> None:
    rng = np.random.default_rng(1)
    w = rng.standard_normal((512, 256), dtype=np.float32)
    with single_threaded_blas():
        slots = RowStableProducts().slots(64, w)
    assert slots is None or (slots[0] == 0 and len(slots) >= 1)


def test_only_the_needed_rows_are_computed_and_they_keep_their_bits() -> None:
    rng = np.random.default_rng(2)
    w = rng.standard_normal((768, 256), dtype=np.float32)
    a = rng.standard_normal((64, 768), dtype=np.float32)
    products = RowStableProducts()
    with single_threaded_blas():
        full = products.matmul(a, w)
        for needed in (1, 5, 31, 64):
            part = products.matmul(a, w, needed)
            assert np.array_equal(part[:needed], full[:needed]), needed
