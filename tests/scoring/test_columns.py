"""Categorical columns: memoised, derived after a few items changed, and country profiles."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from service import scoring
from service.scoring.columns import Columns, columns, derive_columns, profiles_of
from service.scoring.types import Item, country_profiles
from tests.scoring.helpers import make_item

COUNTRIES = ("ARG", "BRA", "CHL", "MEX", "HTI", "PER", "MOZ")
FACTORS = ("education", "ict", "agriculture", "migration")


def _items(n: int, kind: str, seed: int) -> tuple[Item, ...]:
    rng = random.Random(seed)
    return tuple(
        make_item(str(i), kind, rng.choice(COUNTRIES), factor=rng.choice(FACTORS),
                  language=rng.choice(("es", "pt", "en")), modality=rng.choice(("training",
                                                                               "visit")),
                  capacity=rng.randint(1, 3))
        for i in range(n))


def _decoded(cols: Columns) -> dict[str, list[object]]:
    """Every item's value of every column: what the codes mean, whatever their numbering."""
    return {name: [cols.values[name][c] for c in cols.codes[name].tolist()]
            for name in cols.codes}


def test_large_tuples_are_memoised_and_lists_are_not() -> None:
    items = _items(1200, "offer", 1)

    assert columns(items) is columns(items)
    assert columns(list(items)) is not columns(list(items))


def test_derived_columns_mean_what_a_fresh_factorisation_means() -> None:
    base = _items(1500, "offer", 2)
    columns(base)
    rng = random.Random(3)
    changed = list(base)
    source = np.arange(len(base), dtype=np.intp)
    for k in rng.sample(range(len(base)), 40):
        # New values too: a country and a capacity no item of `base` has.
        changed[k] = replace(base[k], country="VNM", capacity=9, factor=rng.choice(FACTORS))
        source[k] = -1
    removed = set(rng.sample(range(len(base)), 30)) - {k for k in range(len(base))
                                                       if source[k] < 0}
    kept = [k for k in range(len(base)) if k not in removed]
    appended = _items(20, "offer", 4)
    items = tuple([changed[k] for k in kept] + list(appended))
    source = np.concatenate([source[kept], np.full(len(appended), -1, dtype=np.intp)])

    derived = derive_columns(base, items, source)

    assert derived.ids == [item.id for item in items]
    assert _decoded(derived) == _decoded(columns(list(items)))
    assert columns(items) is derived  # memoised for the ranking that follows


def test_derived_columns_of_an_unmemoised_base_are_computed_afresh() -> None:
    base = _items(1100, "need", 5)
    items = base[:-1]
    derived = derive_columns(base, items, np.arange(len(items), dtype=np.intp))
    assert _decoded(derived) == _decoded(columns(list(items)))


def test_derive_columns_refuses_a_source_of_the_wrong_length() -> None:
    base = _items(1000, "offer", 6)
    with pytest.raises(ValueError, match="source has 3 entries for 1000 items"):
        derive_columns(base, base, np.arange(3, dtype=np.intp))


@pytest.mark.parametrize(("n_offers", "n_needs"), [(0, 0), (5, 0), (1200, 900)])
def test_profiles_from_columns_equal_profiles_from_items(n_offers: int, n_needs: int) -> None:
    offers, needs = _items(n_offers, "offer", 7), _items(n_needs, "need", 8)
    assert profiles_of(offers, needs) == country_profiles([*offers, *needs])


def test_many_vectors_are_read_in_one_writable_matrix() -> None:
    rows = np.arange(12, dtype=np.float32).reshape(3, 4)
    matrix = scoring.vectors_from_bytes([scoring.vector_to_bytes(r) for r in rows], 4)

    assert matrix.shape == (3, 4)
    assert np.array_equal(matrix, rows)
    matrix[0, 0] = 7.0  # writable: the index encodes missing vectors into it
    assert scoring.vectors_from_bytes([], 4).shape == (0, 4)


def test_spare_rows_come_zero_after_the_vectors() -> None:
    rows = np.arange(8, dtype=np.float32).reshape(2, 4) + 1
    matrix = scoring.vectors_from_bytes([scoring.vector_to_bytes(r) for r in rows], 4, spare=3)

    assert matrix.shape == (5, 4)
    assert np.array_equal(matrix[:2], rows)
    assert not matrix[2:].any()
    matrix[4] = 1.0  # writable: the index appends new items into the spare rows
    assert scoring.vectors_from_bytes([], 4, spare=2).shape == (2, 4)


def test_a_vector_of_the_wrong_size_is_refused_by_position() -> None:
    good = scoring.vector_to_bytes(np.zeros(4, dtype=np.float32))
    with pytest.raises(ValueError, match="vector 1 has 12 bytes, expected 16"):
        scoring.vectors_from_bytes([good, good[:12]], 4)
