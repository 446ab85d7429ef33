"""Categorical columns of items: distinct values and integer codes per attribute.

The criterion tables (`tables.py`) are indexed by these codes. Columns do not depend on any
scoring context, so those of a large tuple of items are memoised and, after a write changed a
few items of a large index, derived from the columns of the previous tuple.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
from numpy.typing import NDArray

from service.scoring.types import CountryProfile, Item

Codes = NDArray[np.intp]

_ATTRS = ("country", "factor", "modality", "combo", "capacity")


@dataclass(frozen=True)
class Columns:
    """The categorical columns of a sequence of items, each as distinct values + codes.

    Independent of any Context, so it can be reused (see `columns`).
    """

    ids: list[str]
    values: dict[str, list[Any]]
    codes: dict[str, Codes]
    positions: dict[str, int] = field(default_factory=dict)

    def position(self, item_id: str) -> int | None:
        """Index of an item id (the lookup table is built on first use)."""
        if not self.positions and self.ids:
            self.positions.update((v, i) for i, v in enumerate(self.ids))
        return self.positions.get(item_id)


def _factorise(values: list[Any], known: Sequence[Any] = ()) -> tuple[list[Any], Codes]:
    """The distinct values (`known` ones first, in their order, then new ones as met) and
    the code of each value."""
    index: dict[Any, int] = {v: i for i, v in enumerate(known)}
    codes = [index.setdefault(v, len(index)) for v in values]
    return list(index), np.asarray(codes, dtype=np.intp).reshape(len(codes))


def _columns(items: Sequence[Item]) -> Columns:
    get = attrgetter("id", "country", "factor", "modality", "language", "capacity", "kind")
    rows = list(map(get, items))
    cols: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * 7
    ids, countries, factors, modalities, languages, capacities, kinds = cols
    raw: dict[str, list[Any]] = {
        "country": countries,
        "factor": factors,
        "modality": modalities,
        "combo": list(zip(countries, languages, strict=True)),
        "capacity": [c if k == "offer" else None for c, k in zip(capacities, kinds, strict=True)],
    }
    values: dict[str, list[Any]] = {}
    codes: dict[str, Codes] = {}
    for name in _ATTRS:
        values[name], codes[name] = _factorise(raw[name])
    return Columns(list(ids), values, codes)


_CACHE: OrderedDict[int, tuple[tuple[Item, ...], Columns]] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8
_CACHE_MIN_ITEMS = 1000


def _cached(items: tuple[Item, ...]) -> Columns | None:
    with _CACHE_LOCK:
        hit = _CACHE.get(id(items))
        if hit is not None and hit[0] is items:
            _CACHE.move_to_end(id(items))
            return hit[1]
    return None


def _remember(items: tuple[Item, ...], cols: Columns) -> None:
    with _CACHE_LOCK:
        _CACHE[id(items)] = (items, cols)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)


def columns(items: Sequence[Item]) -> Columns:
    """Columns of the items; memoised for large tuples (immutable, and Items are frozen).

    Passing the same tuple of stored items to score_item() again skips the per-item work,
    which is what keeps one item against 100,000 counterparts fast.
    """
    if not isinstance(items, tuple) or len(items) < _CACHE_MIN_ITEMS:
        return _columns(items)
    cols = _cached(items)
    if cols is None:
        cols = _columns(items)
        _remember(items, cols)
    return cols


def derive_columns(base: tuple[Item, ...], items: tuple[Item, ...], source: Codes) -> Columns:
    """Columns of `items`, memoised like `columns`, where `items[k] is base[source[k]]` for
    every `source[k] >= 0` (the others are new or changed items).

    After a write changed a few of 100,000 stored items, this copies the codes of the items
    kept from the memoised columns of `base` and factorises only the others (a full
    factorisation is the larger part of the first ranking after the write). Values no item
    uses any more may stay among the distinct values: the tables built from them only gain
    rows nobody indexes.
    """
    source = np.asarray(source, dtype=np.intp)
    if len(source) != len(items):
        raise ValueError(f"source has {len(source)} entries for {len(items)} items")
    base_cols = _cached(base) if len(base) >= _CACHE_MIN_ITEMS else None
    if base_cols is None or len(items) < _CACHE_MIN_ITEMS:
        return columns(items)
    kept = source >= 0
    changed = np.flatnonzero(~kept)
    fresh = _columns([items[k] for k in changed])
    values: dict[str, list[Any]] = {}
    codes: dict[str, Codes] = {}
    for name in _ATTRS:
        values[name], remap = _factorise(fresh.values[name], known=base_cols.values[name])
        out = np.empty(len(items), dtype=np.intp)
        out[kept] = base_cols.codes[name][source[kept]]
        out[changed] = remap[fresh.codes[name]] if len(changed) else 0
        codes[name] = out
    cols = Columns([item.id for item in items], values, codes)
    _remember(items, cols)
    return cols


def profiles_of(offers: Sequence[Item], needs: Sequence[Item]) -> dict[str, CountryProfile]:
    """`country_profiles` of all the offers and needs, from their (memoised) columns: the
    distinct (country, factor) pairs of each side, without a pass over the items."""
    sides: list[dict[str, set[str]]] = []
    for items in (offers, needs):
        cols = columns(items)
        countries, factors = cols.values["country"], cols.values["factor"]
        width = max(len(factors), 1)
        side: dict[str, set[str]] = {}
        for pair in np.unique(cols.codes["country"] * width + cols.codes["factor"]).tolist():
            side.setdefault(countries[pair // width], set()).add(factors[pair % width])
        sides.append(side)
    offered, needed = sides
    return {
        country: CountryProfile(offers=frozenset(offered.get(country, ())),
                                needs=frozenset(needed.get(country, ())))
        for country in sorted(offered.keys() | needed.keys())
    }
